"""Split data/raw/data.csv into a training set and a holdout set.

Run from the project root (`dvc repro` does): python src/prepare.py
Stratified by the label so both sets keep the class balance; seeded so the split is
the same on every machine.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml
from sklearn.model_selection import train_test_split

TARGET = "target"  # the label column; mlops.yaml says the same under models.<name>.target
RAW = Path("data/raw/data.csv")
TRAIN = Path("data/prepared/train.csv")
HOLDOUT = Path("data/prepared/holdout.csv")


def main() -> None:
    params = yaml.safe_load(Path("params.yaml").read_text(encoding="utf-8"))["split"]
    data = pd.read_csv(RAW)
    train, holdout = train_test_split(
        data,
        test_size=float(params["test_size"]),
        random_state=int(params["seed"]),
        stratify=data[TARGET],
    )
    TRAIN.parent.mkdir(parents=True, exist_ok=True)
    # sorted by the original row order: a diff of two splits is then easy to read
    for frame, path in ((train, TRAIN), (holdout, HOLDOUT)):
        frame.sort_index().to_csv(path, index=False, lineterminator="\n")
    print(f"prepare: {len(train)} training rows -> {TRAIN}, {len(holdout)} holdout rows -> {HOLDOUT}")


if __name__ == "__main__":
    main()
