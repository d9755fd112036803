"""`mlops validate` at the sizes of issue 14 (target 4), whole process each, against pandera
on polars and a hand-written polars script of the same checks, measured in the same run:

- 10M rows x 10 columns, CSV;
- 1M rows x 200 columns, CSV and Parquet.

Targets: <= 0.7x pandera-polars, <= 1.5x the hand-written polars script, peak RSS <= 1.2x
that script's. Both peers are built from the same schema YAML that mlops reads (the
translation is below, one line per check kind); each reads the whole file with polars'
own reader, as a user of either would. mlops runs with a cold cache each run (it hashes
and validates, as after the data changed). Inputs are generated once under /tmp
(bigcsv.cached_input).

    python bench/validate_scale.py                          # the issue's sizes
    python bench/validate_scale.py --scale 0.1 --runs 1     # a tenth of the rows
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bigcsv import SCHEMA_10, cached_input, wide_schema
from common import Row, mlops_cmd, report

# One interpreter script per peer; argv: data file, schema YAML. Both translate the schema
# the same way: dtype, nullable, unique, in_range, greater_than_or_equal_to, isin,
# str_matches, strict.
_TRANSLATE = """\
import sys
import polars as pl
import yaml

DTYPES = {"int64": pl.Int64, "float64": pl.Float64, "str": pl.String}
path, schema_path = sys.argv[1], sys.argv[2]
doc = yaml.safe_load(open(schema_path))
columns = doc["columns"]
frame = pl.read_parquet(path) if path.endswith(".parquet") else pl.read_csv(path)
"""

PANDERA_POLARS = (
    _TRANSLATE
    + """
import pandera.polars as pa
import pandera.errors

def checks(spec):
    out = []
    for name, arg in (spec.get("checks") or {}).items():
        if name == "in_range":
            out.append(pa.Check.in_range(arg["min_value"], arg["max_value"]))
        elif name == "greater_than_or_equal_to":
            out.append(pa.Check.ge(arg))
        elif name == "isin":
            out.append(pa.Check.isin(arg))
        elif name == "str_matches":
            out.append(pa.Check.str_matches(arg))
        else:
            raise SystemExit(f"no translation for {name}")
    return out

schema = pa.DataFrameSchema(
    {
        col: pa.Column(
            DTYPES[spec["dtype"]],
            nullable=bool(spec.get("nullable", False)),
            unique=bool(spec.get("unique", False)),
            checks=checks(spec),
        )
        for col, spec in columns.items()
    },
    strict=bool(doc.get("strict", False)),
)
try:
    schema.validate(frame, lazy=True)
except pandera.errors.SchemaErrors as exc:
    sys.exit(f"failed: {exc}")
"""
)

HAND_POLARS = (
    _TRANSLATE
    + """
c = pl.col
exprs = []
for col, spec in columns.items():
    x = c(col)
    if not spec.get("nullable", False):
        exprs.append(x.is_null().sum().alias(f"{col} nulls"))
    if spec.get("unique", False):
        exprs.append((x.n_unique() != pl.len()).alias(f"{col} unique"))
    for name, arg in (spec.get("checks") or {}).items():
        if name == "in_range":
            bad = ~x.is_between(arg["min_value"], arg["max_value"])
        elif name == "greater_than_or_equal_to":
            bad = x < arg
        elif name == "isin":
            bad = ~x.is_in(arg)
        elif name == "str_matches":
            bad = ~x.str.contains(arg)
        else:
            raise SystemExit(f"no translation for {name}")
        exprs.append(bad.sum().alias(f"{col} {name}"))
found = frame.select(exprs).row(0, named=True)
wrong_types = {
    col: str(frame.schema[col]) for col, spec in columns.items()
    if col in frame.schema and frame.schema[col] != DTYPES[spec["dtype"]]
}
if any(found.values()) or wrong_types or set(frame.columns) != set(columns):
    sys.exit(f"failed: {found} {wrong_types}")
"""
)


def run(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """(seconds, peak RSS in MB) of one whole process; it must exit 0."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"{cmd} exited {code}")
    return seconds, usage.ru_maxrss / 1024


def project(folder: Path, data: Path, schema: str) -> tuple[Path, Path]:
    """A project folder whose one data set is `data` (hard-linked: mlops refuses a symlink
    out of the project, and a copy of a few GB would be timed as setup)."""
    name = f"data{''.join(data.suffixes[-1:])}"
    (folder / "data").mkdir(parents=True)
    os.link(data, folder / "data" / name)
    (folder / "schemas").mkdir()
    schema_path = folder / "schemas" / "d.yaml"
    schema_path.write_text(schema)
    (folder / "mlops.yaml").write_text(
        f"schema_version: 1\nproject: bench\ndatasets:\n"
        f"  d: {{path: data/{name}, schema: schemas/d.yaml}}\n"
    )
    (folder / "pandera_polars.py").write_text(PANDERA_POLARS)
    (folder / "hand_polars.py").write_text(HAND_POLARS)
    return folder / "data" / name, schema_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the rows")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    cases = [
        ("ten", int(10_000_000 * args.scale), "csv", SCHEMA_10, "x 10 columns CSV"),
        ("wide", int(1_000_000 * args.scale), "csv", wide_schema(), "x 200 columns CSV"),
        ("wide", int(1_000_000 * args.scale), "parquet", wide_schema(), "x 200 columns Parquet"),
    ]
    mlops = mlops_cmd()
    for kind, rows, fmt, schema, label in cases:
        source = cached_input(kind, rows, fmt)
        with tempfile.TemporaryDirectory(prefix="mlops-bench-vscale-", dir=source.parent) as tmp:
            folder = Path(tmp)
            data, schema_path = project(folder, source, schema)
            env = {**os.environ, "XDG_CACHE_HOME": str(folder / "xdg"), "NO_COLOR": "1"}
            fresh = 'rm -rf "$XDG_CACHE_HOME" && exec "$@"'
            commands = {
                "mlops": ["sh", "-c", fresh, "sh", *mlops, "validate", "d"],
                "pandera": [sys.executable, "pandera_polars.py", str(data), str(schema_path)],
                "polars": [sys.executable, "hand_polars.py", str(data), str(schema_path)],
            }
            # Interleaved rounds after a warm-up round: each command sees the same load.
            seconds: dict[str, list[float]] = {n: [] for n in commands}
            rss: dict[str, list[float]] = {n: [] for n in commands}
            for round_ in range(args.runs + 1):
                for name, cmd in commands.items():
                    s, m = run(cmd, folder, env)
                    if round_:
                        seconds[name].append(s)
                        rss[name].append(m)
        t = {n: statistics.median(v) for n, v in seconds.items()}
        m = {n: max(v) for n, v in rss.items()}
        figure = f"validate {rows:,} rows {label}"
        report(
            Row(
                "vscale", figure, t["mlops"], "pandera on polars", t["pandera"], "s",
                "<= 0.7x", t["mlops"] <= 0.7 * t["pandera"],
            )
        )  # fmt: skip
        report(
            Row(
                "vscale", figure, t["mlops"], "hand-written polars", t["polars"], "s",
                "<= 1.5x", t["mlops"] <= 1.5 * t["polars"],
            )
        )  # fmt: skip
        report(
            Row(
                "vscale", f"peak RSS, {rows:,} rows {label}", m["mlops"],
                "hand-written polars", m["polars"], "MB", "<= 1.2x",
                m["mlops"] <= 1.2 * m["polars"],
            )
        )  # fmt: skip
        print(
            f"  pandera-polars peak RSS {m['pandera']:,.0f} MB; mlops {t['mlops']:.2f} s,"
            f" pandera {t['pandera']:.2f} s, polars {t['polars']:.2f} s"
        )


if __name__ == "__main__":
    main()
