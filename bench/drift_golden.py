"""Write the Evidently figures tests/monitor/test_drift.py compares mlops' drift with.

Run with a Python that has Evidently (not a dependency of mlops):

    python -m venv /tmp/ev && /tmp/ev/bin/pip install evidently
    /tmp/ev/bin/python bench/drift_golden.py

Two cases, each a reference and a current CSV under tests/monitor/golden/ and Evidently's
per-column test, statistic and verdict (its legacy DataDriftPreset, default options):
`small` (300 reference rows: KS, chi-squared, z-test) and `large` (3,000 rows: Wasserstein,
Jensen-Shannon), with columns that drift and columns that do not.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

OUT = Path(__file__).resolve().parent.parent / "tests" / "monitor" / "golden"


def frames(rows: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    n = rows

    def side(shift: float, flip: float) -> pd.DataFrame:
        plans = ["basic", "plus", "pro", "team"]
        weights = np.array([0.4, 0.3, 0.2, 0.1]) if flip == 0 else np.array([0.1, 0.2, 0.3, 0.4])
        return pd.DataFrame(
            {
                "age": rng.normal(40 + shift * 8, 10, n).round(1),
                "income": rng.lognormal(10, 0.5, n).round(2),
                "visits": rng.poisson(3 + shift, n),
                "plan": rng.choice(plans, n, p=weights),
                "stars": rng.integers(1, 4 + int(flip), n),  # 3 or 4 values: categorical
                "churned": rng.choice(["no", "yes"], n, p=[0.8 - flip * 0.3, 0.2 + flip * 0.3]),
                "steady": rng.normal(0, 1, n).round(3),
            }
        )

    return side(0.0, 0.0), side(1.0, 1.0)


def main() -> None:
    from evidently.legacy.metric_preset import DataDriftPreset
    from evidently.legacy.report import Report

    OUT.mkdir(parents=True, exist_ok=True)
    figures: dict[str, dict[str, dict[str, object]]] = {}
    for case, rows, seed in (("small", 300, 1), ("large", 3000, 2)):
        ref, cur = frames(rows, seed)
        ref.to_csv(OUT / f"{case}_reference.csv", index=False)
        cur.to_csv(OUT / f"{case}_current.csv", index=False)
        # Read back, so Evidently sees exactly the dtypes a CSV reader gives.
        ref = pd.read_csv(OUT / f"{case}_reference.csv")
        cur = pd.read_csv(OUT / f"{case}_current.csv")
        report = Report(metrics=[DataDriftPreset()])
        report.run(reference_data=ref, current_data=cur)
        result = next(
            m["result"] for m in report.as_dict()["metrics"] if "drift_by_columns" in m["result"]
        )
        figures[case] = {
            name: {
                "stattest": col["stattest_name"],
                "statistic": float(col["drift_score"]),
                "drifted": bool(col["drift_detected"]),
                "column_type": col["column_type"],
            }
            for name, col in result["drift_by_columns"].items()
        }
        figures[case]["_dataset"] = {
            "drifted": bool(result["dataset_drift"]),
            "share": float(result["share_of_drifted_columns"]),
        }
    import evidently

    doc = {"evidently": evidently.__version__, "cases": figures}
    (OUT / "evidently.json").write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
    print(json.dumps(doc, indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
