"""Score the saved model on data/prepared/holdout.csv.

Run from the project root (`dvc repro` does): python src/evaluate.py
Writes metrics/holdout.json: accuracy, balanced_accuracy, and macro-averaged f1,
precision and recall, plus roc_auc (one-vs-rest when there are more than two classes).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import skops.io as sio
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)

TARGET = "target"
HOLDOUT = Path("data/prepared/holdout.csv")
MODEL = Path("models/model.skops")
METRICS = Path("metrics/holdout.json")

# Types this script agrees to load beyond those skops trusts by default. skops refuses
# anything else; we never pass its list of untrusted types back to it unread, because
# that would trust whatever a tampered file asks for. If you change the model (say, to
# a RandomForestClassifier, which needs "sklearn.tree._tree.Tree"), add its types here
# and to `trusted_types` of the model in mlops.yaml.
ALLOWED_TYPES = frozenset(
    {
        "sklearn.pipeline.Pipeline",
        "sklearn.preprocessing._data.StandardScaler",
        "sklearn.linear_model._logistic.LogisticRegression",
    }
)


def load_model(path: Path):
    untrusted = sio.get_untrusted_types(file=path)
    refused = sorted(set(untrusted) - ALLOWED_TYPES)
    if refused:
        sys.exit(
            f"evaluate: {path} holds types that are not on the allow-list: {', '.join(refused)}.\n"
            "Add them to ALLOWED_TYPES in src/evaluate.py only if you trust where the file came from."
        )
    return sio.load(path, trusted=untrusted)


def main() -> None:
    model = load_model(MODEL)
    data = pd.read_csv(HOLDOUT)
    features, labels = data.drop(columns=[TARGET]), data[TARGET]
    predicted = model.predict(features)
    proba = model.predict_proba(features)
    if proba.shape[1] == 2:
        roc_auc = roc_auc_score(labels, proba[:, 1])
    else:
        roc_auc = roc_auc_score(labels, proba, multi_class="ovr", labels=model.classes_)

    metrics = {
        "rows": len(data),
        "accuracy": accuracy_score(labels, predicted),
        "balanced_accuracy": balanced_accuracy_score(labels, predicted),
        "f1": f1_score(labels, predicted, average="macro"),
        "precision": precision_score(labels, predicted, average="macro", zero_division=0),
        "recall": recall_score(labels, predicted, average="macro"),
        "roc_auc": roc_auc,
    }
    metrics = {k: v if k == "rows" else round(float(v), 6) for k, v in metrics.items()}
    METRICS.parent.mkdir(parents=True, exist_ok=True)
    METRICS.write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    print(f"evaluate: holdout accuracy {metrics['accuracy']:.4f}, f1 {metrics['f1']:.4f} -> {METRICS}")


if __name__ == "__main__":
    main()
