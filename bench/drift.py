"""Drift of 1M rows x 20 columns (10 numeric, 10 categorical), mlops against Evidently's
DataDriftPreset on the same two Parquet files, whole process each, in the same run
(issue 17, part 6). Target: >= 3x faster, with the same per-column verdicts. Also mlops'
peak RSS for a 10M-row current file.

Evidently is not a dependency of mlops: pass a Python that has it, or let this script make
a venv for it (pip needs the package index):

    python bench/drift.py --evidently-python /tmp/ev/bin/python
    python bench/drift.py --rows 100000         # a quick run

The mlops side is the library `mlops monitor drift` runs (monitor/drift.py `compare`, polars
reading the files), in its own process; the command adds only finding the reference by its
recorded md5.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import Row, notes, report

TARGET = 1 / 3  # mlops' time <= a third of Evidently's

MLOPS = """
import json, sys, polars as pl
from mlops_cli.monitor.drift import compare
ref, cur = pl.read_parquet(sys.argv[1]), pl.read_parquet(sys.argv[2])
result = compare(ref, cur, ref.columns)
print(json.dumps({c.column: [c.method, c.statistic, c.drifted] for c in result.columns}))
"""
EVIDENTLY = """
import json, sys, pandas as pd
from evidently.legacy.metric_preset import DataDriftPreset
from evidently.legacy.report import Report
ref, cur = pd.read_parquet(sys.argv[1]), pd.read_parquet(sys.argv[2])
report = Report(metrics=[DataDriftPreset()])
report.run(reference_data=ref, current_data=cur)
res = next(m["result"] for m in report.as_dict()["metrics"] if "drift_by_columns" in m["result"])
print(json.dumps({n: [c["stattest_name"], c["drift_score"], c["drift_detected"]]
                  for n, c in res["drift_by_columns"].items()}))
"""


def generate(folder: Path, rows: int, seed: int, shift: float, name: str) -> Path:
    import numpy as np
    import polars as pl

    rng = np.random.default_rng(seed)
    cols: dict[str, object] = {}
    for i in range(10):
        moved = shift if i % 2 == 0 else 0.0  # half the numeric columns drift
        cols[f"num{i}"] = rng.normal(10 + moved * (i + 1), 3 + i, rows).round(3)
    levels = [f"level{k}" for k in range(12)]
    for i in range(10):
        p = np.ones(len(levels))
        if shift and i % 2 == 0:
            p[: 3 + i % 4] *= 3
        cols[f"cat{i}"] = rng.choice(levels[: 4 + i], rows, p=(p[: 4 + i] / p[: 4 + i].sum()))
    path = folder / f"{name}.parquet"
    pl.DataFrame(cols).write_parquet(path)
    return path


def run_timed(cmd: list[str]) -> tuple[float, dict[str, list[object]], int]:
    """Wall time, the printed verdicts and the peak RSS (kB) of one whole process."""
    start = time.perf_counter()
    proc = subprocess.run(
        ["/usr/bin/time", "-f", "%M", *cmd], capture_output=True, text=True, check=False
    )
    took = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed:\n{proc.stderr[-3000:]}")
    rss = int(proc.stderr.strip().splitlines()[-1])
    return took, json.loads(proc.stdout.strip().splitlines()[-1]), rss


NAMES = {
    "K-S p_value": "ks",
    "chi-square p_value": "chisquare",
    "Z-test p_value": "z",
    "Wasserstein distance (normed)": "wasserstein",
    "Jensen-Shannon distance": "jensenshannon",
}


def evidently_python(given: str | None, folder: Path) -> str:
    if given:
        return given
    venv = folder / "evidently-venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
    subprocess.run([*pip, "evidently", "pandas<3", "pyarrow"], check=True)
    return str(venv / "bin" / "python")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--big-rows", type=int, default=10_000_000, help="for the RSS figure")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--evidently-python", default=os.environ.get("MLOPS_BENCH_EVIDENTLY"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mlops-bench-drift-") as tmp:
        folder = Path(tmp)
        ref = generate(folder, args.rows, 1, 0.0, "reference")
        cur = generate(folder, args.rows, 2, 0.15, "current")
        evidently = evidently_python(args.evidently_python, folder)
        ours, theirs, agree = [], [], True
        ours_doc: dict[str, list[object]] = {}
        theirs_doc: dict[str, list[object]] = {}
        for _ in range(args.runs):
            took, ours_doc, _ = run_timed([sys.executable, "-c", MLOPS, str(ref), str(cur)])
            ours.append(took)
            took, theirs_doc, _ = run_timed([evidently, "-c", EVIDENTLY, str(ref), str(cur)])
            theirs.append(took)
        differ = []
        for column, (test, _stat, drifted) in theirs_doc.items():
            mine = ours_doc.get(column)
            if mine is None or mine[0] != NAMES.get(str(test)) or mine[2] != drifted:
                differ.append(column)
        agree = not differ
        mlops_s, evidently_s = sorted(ours)[len(ours) // 2], sorted(theirs)[len(theirs) // 2]
        label = f"{args.rows:,} rows x 20 columns"
        report(Row("drift", f"drift, {label}", mlops_s, "Evidently DataDriftPreset",
                   evidently_s, "s", "<= 0.33x", mlops_s <= evidently_s * TARGET))  # fmt: skip
        report(Row("drift", "columns whose verdict differs", float(len(differ)),
                   "columns", float(len(theirs_doc)), "n", "0", agree))  # fmt: skip
        big = generate(folder, args.big_rows, 3, 0.15, "big")
        _, _, rss = run_timed([sys.executable, "-c", MLOPS, str(ref), str(big)])
        size_mb = big.stat().st_size / 1e6
        report(Row("drift", f"peak RSS, {args.big_rows:,}-row current", rss / 1024,
                   "Parquet file size", size_mb, "MB", "recorded", True))  # fmt: skip
        notes(
            f"drift, {label}: mlops {mlops_s:.2f} s, Evidently {evidently_s:.2f} s"
            f" ({evidently_s / mlops_s:.1f}x); per-column verdicts"
            f" {'all agree' if agree else 'differ on ' + ', '.join(differ)};"
            f" peak RSS with a {args.big_rows:,}-row current file {rss / 1024:,.0f} MB"
            " (read whole: not yet bounded)."
        )


if __name__ == "__main__":
    main()
