"""Data, schemas and projects for the validation tests: real files, written deterministically."""

from __future__ import annotations

import csv
import os
import random
import time
from pathlib import Path

SCHEMA = """\
# customers: what a good row looks like
schema_type: dataframe
columns:
  id:
    dtype: int64
    nullable: false
    unique: true
  age:
    dtype: int64
    checks:
      in_range: {min_value: 0, max_value: 120}
  income:
    dtype: float64
    nullable: true
    checks:
      greater_than_or_equal_to: 0
  segment:
    dtype: str
    checks:
      isin: [a, b, c]
  score:
    dtype: float64
    checks: {in_range: {min_value: 0, max_value: 1}}
strict: true
coerce: false
"""

HEADER = ["id", "age", "income", "segment", "score"]


def rows(n: int, seed: int = 7) -> list[list[str]]:
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        income = "" if i % 17 == 3 else f"{rnd.uniform(0, 90000):.2f}"
        out.append([str(i), str(rnd.randint(18, 90)), income, rnd.choice("abc"),
                    f"{rnd.random():.4f}"])  # fmt: skip
    return out


def write_csv(path: Path, data: list[list[str]], header: list[str] | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header or HEADER)
        writer.writerows(data)
    return path


def write_parquet(path: Path, data: list[list[str]], *, row_group_size: int | None = None) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    def col(i: int, kind: type) -> list[object]:
        return [kind(r[i]) if r[i] != "" else None for r in data]

    table = pa.table(
        {
            "id": pa.array(col(0, int), pa.int64()),
            "age": pa.array(col(1, int), pa.int64()),
            "income": pa.array(col(2, float), pa.float64()),
            "segment": pa.array([r[3] for r in data], pa.string()),
            "score": pa.array(col(4, float), pa.float64()),
        }
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, row_group_size=row_group_size)
    return path


def write_schema(path: Path, text: str = SCHEMA) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def backdate(path: Path, seconds: float = 3600) -> None:
    """Make a file look untouched for a while, so the stat cache may trust it."""
    then = time.time() - seconds
    os.utime(path, (then, then))


CONFIG = """\
schema_version: 1
project: demo
datasets:
  customers:
    path: data/customers.csv
    schema: schemas/customers.yaml
  events:
    path: data/events.parquet
    schema: schemas/events.yaml
  notes:
    path: data/notes.csv
"""


def write_project(root: Path, n: int = 50) -> Path:
    """A project with two data sets that pass (customers CSV, events Parquet) and one
    without a schema."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "mlops.yaml").write_text(CONFIG, encoding="utf-8")
    write_schema(root / "schemas" / "customers.yaml")
    write_schema(root / "schemas" / "events.yaml")
    write_csv(root / "data" / "customers.csv", rows(n))
    write_parquet(root / "data" / "events.parquet", rows(n, seed=3))
    write_csv(root / "data" / "notes.csv", [["1", "x"]], header=["a", "b"])
    return root


def edit_in_place(path: Path, old: bytes, new: bytes) -> None:
    """Overwrite the first `old` with `new` (same length) in the same inode, then set the
    mtime back, as `touch -r`, `cp -p` or `rsync -t` would: only the ctime tells."""
    assert len(old) == len(new)
    before = path.stat()
    offset = path.read_bytes().index(old)
    # The kernel stamps ctime from a coarse clock (a tick of up to 10 ms): let one pass, so
    # the edit's ctime differs from the one recorded, as it would on any later day.
    time.sleep(0.05)
    with path.open("r+b") as f:
        f.seek(offset)
        f.write(new)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (
        before.st_size,
        before.st_mtime_ns,
        before.st_ino,
    )
    assert after.st_ctime_ns != before.st_ctime_ns
