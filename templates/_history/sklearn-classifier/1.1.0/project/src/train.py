"""Fit the model on data/prepared/train.csv and save it with skops.

Run from the project root (`dvc repro` does): python src/train.py
Writes models/model.skops, models/environment.json (the package versions the model was
trained with, which `mlops image build` pins) and metrics/train.json (cross-validation).
"""

from __future__ import annotations

import json
import platform
from importlib.metadata import version
from pathlib import Path

import pandas as pd
import skops.io as sio
import yaml
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_validate
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

TARGET = "target"
TRAIN = Path("data/prepared/train.csv")
MODEL = Path("models/model.skops")
ENVIRONMENT = Path("models/environment.json")
METRICS = Path("metrics/train.json")
# what the model needs at prediction time; keep it in step with requirements.txt
PACKAGES = ("scikit-learn", "numpy", "scipy", "skops", "pandas")


def build_model(params: dict) -> Pipeline:
    return Pipeline(
        [
            ("scale", StandardScaler()),
            (
                "classify",
                LogisticRegression(
                    C=float(params["C"]),
                    max_iter=int(params["max_iter"]),
                    random_state=int(params["seed"]),
                ),
            ),
        ]
    )


def write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def main() -> None:
    params = yaml.safe_load(Path("params.yaml").read_text(encoding="utf-8"))["train"]
    data = pd.read_csv(TRAIN)
    features, labels = data.drop(columns=[TARGET]), data[TARGET]

    # an honest estimate from the training data alone; the holdout score is in evaluate.py
    folds = StratifiedKFold(
        n_splits=int(params["cv_folds"]), shuffle=True, random_state=int(params["seed"])
    )
    scores = cross_validate(
        build_model(params), features, labels, cv=folds, scoring=("accuracy", "f1_macro")
    )
    model = build_model(params).fit(features, labels)

    MODEL.parent.mkdir(parents=True, exist_ok=True)
    sio.dump(model, MODEL)  # skops, not pickle: loading it cannot run arbitrary code
    write_json(
        ENVIRONMENT,
        {
            "python": platform.python_version(),
            "packages": {name: version(name) for name in PACKAGES},
        },
    )
    metrics = {
        "rows": len(data),
        "cv_accuracy": round(float(scores["test_accuracy"].mean()), 6),
        "cv_accuracy_std": round(float(scores["test_accuracy"].std()), 6),
        "cv_f1": round(float(scores["test_f1_macro"].mean()), 6),
        "fit_accuracy": round(float(model.score(features, labels)), 6),
    }
    write_json(METRICS, metrics)
    print(f"train: cv accuracy {metrics['cv_accuracy']:.4f} on {len(data)} rows -> {MODEL}")


if __name__ == "__main__":
    main()
