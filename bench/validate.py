"""`mlops validate` of a Parquet file, whole process, against pandera-pandas and hand-written
polars checking the same schema (issue 3).

Targets: >= 1.3x faster than pandera on pandas; within 2x of hand-written polars.

The data (default 10M rows, 7 columns) is generated deterministically into a temp folder.
mlops runs with a cold cache each time (the cache folder is removed first), so it hashes the
file and validates it, as on the first run after the data changed.

    python bench/validate.py               # 10M rows
    python bench/validate.py --rows 200000 --runs 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

from bigcsv import SCHEMA
from common import Row, mlops_cmd, report, time_cmd

CONFIG = """\
schema_version: 1
project: bench
datasets:
  customers: {path: data/customers.parquet, schema: schemas/customers.yaml}
"""

PANDERA_PANDAS = """\
import sys
import pandas as pd
import pandera.errors
from pandera.io import pandas_io

schema = pandas_io.from_yaml(sys.argv[2])
frame = pd.read_parquet(sys.argv[1])
try:
    schema.validate(frame, lazy=True)
except pandera.errors.SchemaErrors as exc:
    sys.exit(f"failed: {len(exc.failure_cases)} failure cases")
"""

HAND_POLARS = """\
import sys
import polars as pl

c = pl.col
frame = pl.read_parquet(sys.argv[1])
bad = frame.select(
    (c("id").n_unique() != pl.len()).alias("id unique"),
    c("id").is_null().sum().alias("id nulls"),
    (~c("age").is_between(0, 120)).sum().alias("age range"),
    (c("income") < 0).sum().alias("income >= 0"),
    (~c("score").is_between(0, 1)).sum().alias("score range"),
    (~c("segment").is_in(["a", "b", "c", "d"])).sum().alias("segment"),
    (~c("country").is_in(["BR", "CN", "DE", "ES", "FR", "GB", "IN", "IT", "JP", "US"])).sum()
    .alias("country"),
    (~c("churned").is_in([0, 1])).sum().alias("churned"),
    pl.sum_horizontal(
        c(n).is_null().sum() for n in ("age", "score", "segment", "country", "churned")
    ).alias("nulls"),
).row(0, named=True)
dtypes = dict(zip(frame.columns, map(str, frame.dtypes)))
if any(bad.values()) or set(frame.columns) != {
    "id", "age", "income", "score", "segment", "country", "churned"
}:
    sys.exit(f"failed: {bad} {dtypes}")
"""


def generate(folder: Path, rows: int) -> Path:
    import numpy as np
    import polars as pl

    rng = np.random.default_rng(0)
    income = np.round(rng.lognormal(10, 1, rows), 2)
    frame = pl.DataFrame(
        {
            "id": np.arange(rows, dtype=np.int64),
            "age": rng.integers(18, 90, rows),
            "income": pl.Series(income).set(pl.Series(rng.random(rows) < 0.01), None),
            "score": np.round(rng.random(rows), 6),
            "segment": rng.choice(["a", "b", "c", "d"], rows),
            "country": rng.choice(
                ["DE", "FR", "US", "GB", "JP", "BR", "IN", "CN", "ES", "IT"], rows
            ),
            "churned": rng.integers(0, 2, rows),
        }
    )
    path = folder / "data" / "customers.parquet"
    path.parent.mkdir(parents=True)
    frame.write_parquet(path)
    (folder / "schemas").mkdir()
    (folder / "schemas" / "customers.yaml").write_text(SCHEMA)
    (folder / "mlops.yaml").write_text(CONFIG)
    (folder / "pandera_pandas.py").write_text(PANDERA_PANDAS)
    (folder / "hand_polars.py").write_text(HAND_POLARS)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mlops-bench-validate-") as tmp:
        folder = Path(tmp)
        data = generate(folder, args.rows)
        schema = folder / "schemas" / "customers.yaml"
        label = f"{args.rows:,} rows Parquet"
        # A cold cache each run: hash and validate (mlops keeps it in the user's cache folder).
        fresh = 'rm -rf .mlops/cache "$XDG_CACHE_HOME" && exec "$@"'
        os.environ["XDG_CACHE_HOME"] = str(folder / "xdg-cache")
        cold = ["sh", "-c", fresh, "sh", *mlops_cmd(), "validate", "customers"]
        commands = {
            "mlops": (cold, folder),
            "pandas": ([sys.executable, "pandera_pandas.py", str(data), str(schema)], folder),
            "polars": ([sys.executable, "hand_polars.py", str(data)], folder),
        }
        # Interleaved rounds (after one warm-up round): on a shared machine each command
        # sees the same load.
        samples: dict[str, list[float]] = {name: [] for name in commands}
        for round_ in range(args.runs + 1):
            for name, (cmd, cwd) in commands.items():
                seconds = time_cmd(cmd, runs=1, cwd=cwd, warmup=0)
                if round_:
                    samples[name].append(seconds)
        measured, pandas, polars = (statistics.median(samples[n]) for n in commands)
        figure = f"mlops validate, {label}"
        for name, anchor, target, ok in (
            ("pandera on pandas", pandas, "<= 0.77x", measured / pandas <= 1 / 1.3),
            ("hand-written polars", polars, "<= 2.0x", measured / polars <= 2.0),
        ):
            report(Row("validate", figure, measured, name, anchor, "s", target, ok))


if __name__ == "__main__":
    main()
