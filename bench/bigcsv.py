"""A large, valid CSV for the validation benchmarks, generated deterministically."""

from __future__ import annotations

from pathlib import Path

SCHEMA = """\
schema_type: dataframe
columns:
  id: {dtype: int64, nullable: false, unique: true}
  age: {dtype: int64, checks: {in_range: {min_value: 0, max_value: 120}}}
  income: {dtype: float64, nullable: true, checks: {greater_than_or_equal_to: 0}}
  score: {dtype: float64, checks: {in_range: {min_value: 0, max_value: 1}}}
  segment: {dtype: str, checks: {isin: [a, b, c, d]}}
  country: {dtype: str, checks: {isin: [BR, CN, DE, ES, FR, GB, IN, IT, JP, US]}}
  churned: {dtype: int64, checks: {isin: [0, 1]}}
strict: true
coerce: false
"""

_BATCH = 1_000_000


def write_csv(path: Path, size_mb: float) -> int:
    """Write about `size_mb` MB of customer rows to `path`; returns the number of rows."""
    import numpy as np
    import polars as pl

    rng = np.random.default_rng(0)
    target = int(size_mb * 1024 * 1024)
    rows = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        while f.tell() < target:
            n = _BATCH
            frame = pl.DataFrame(
                {
                    "id": np.arange(rows, rows + n, dtype=np.int64),
                    "age": rng.integers(18, 90, n),
                    "income": np.round(rng.lognormal(10, 1, n), 2),
                    "score": np.round(rng.random(n), 6),
                    "segment": rng.choice(["a", "b", "c", "d"], n),
                    "country": rng.choice(["DE", "FR", "US", "GB", "JP", "BR", "IN", "CN"], n),
                    "churned": rng.integers(0, 2, n),
                }
            )
            left = target - f.tell()
            if left < 60 * n:  # the last batch: only as many rows as fit
                frame = frame.head(max(1, left // 60))
            frame.write_csv(f, include_header=rows == 0)
            rows += frame.height
    return rows


# The issue-14 cases: 10 columns (the customers above and three more: a regex, a nullable
# range, a plan code), and 200 columns (floats, integers, codes), valid, with some nulls
# where the schema allows them.
SCHEMA_10 = (
    SCHEMA.replace("strict: true\n", "").replace("coerce: false\n", "").rstrip("\n")
    + """
  code: {dtype: str, checks: {str_matches: '^C[0-9]{6}$'}}
  rating: {dtype: float64, nullable: true, checks: {in_range: {min_value: 1, max_value: 5}}}
  plan: {dtype: str, checks: {isin: [free, pro, team]}}
strict: true
coerce: false
"""
)
WIDE_FLOATS, WIDE_INTS, WIDE_CODES = 100, 60, 40


def wide_schema() -> str:
    lines = ["schema_type: dataframe", "columns:"]
    for i in range(WIDE_FLOATS):
        nullable = "true" if i % 10 == 0 else "false"
        lines.append(
            f"  f{i}: {{dtype: float64, nullable: {nullable},"
            " checks: {in_range: {min_value: 0, max_value: 1}}}"
        )
    for i in range(WIDE_INTS):
        lines.append(f"  i{i}: {{dtype: int64, checks: {{greater_than_or_equal_to: 0}}}}")
    for i in range(WIDE_CODES):
        lines.append(f"  s{i}: {{dtype: str, checks: {{isin: [a, b, c, d]}}}}")
    lines += ["strict: true", "coerce: false", ""]
    return "\n".join(lines)


def _frame10(rng: object, start: int, n: int) -> object:
    import numpy as np
    import polars as pl

    assert isinstance(rng, np.random.Generator)
    rating = pl.Series(np.round(rng.uniform(1, 5, n), 1))
    return pl.DataFrame(
        {
            "id": np.arange(start, start + n, dtype=np.int64),
            "age": rng.integers(18, 90, n),
            "income": np.round(rng.lognormal(10, 1, n), 2),
            "score": np.round(rng.random(n), 6),
            "segment": rng.choice(["a", "b", "c", "d"], n),
            "country": rng.choice(["DE", "FR", "US", "GB", "JP", "BR", "IN", "CN"], n),
            "churned": rng.integers(0, 2, n),
            "code": pl.Series(rng.integers(0, 1_000_000, n)).cast(pl.String).str.zfill(6),
            "rating": rating.set(pl.Series(rng.random(n) < 0.05), None),
            "plan": rng.choice(["free", "pro", "team"], n),
        }
    ).with_columns(code=pl.lit("C") + pl.col("code"))


def _frame_wide(rng: object, n: int) -> object:
    import numpy as np
    import polars as pl

    assert isinstance(rng, np.random.Generator)
    cols: dict[str, object] = {}
    for i in range(WIDE_FLOATS):
        values = pl.Series(np.round(rng.random(n), 4))
        cols[f"f{i}"] = values.set(pl.Series(rng.random(n) < 0.01), None) if i % 10 == 0 else values
    for i in range(WIDE_INTS):
        cols[f"i{i}"] = rng.integers(0, 1000, n)
    for i in range(WIDE_CODES):
        cols[f"s{i}"] = rng.choice(["a", "b", "c", "d"], n)
    return pl.DataFrame(cols)


def cached_input(kind: str, rows: int, fmt: str) -> Path:
    """The generated file for (`kind` = "ten" | "wide", `rows`, `fmt` = csv | parquet), made
    once and kept under /tmp (generating 10M rows takes a minute): the benchmark reruns
    read the same bytes. Written to a temporary name and renamed, so a run cut short
    leaves nothing half-written under the final name."""
    import os

    import numpy as np

    folder = Path(os.environ.get("MLOPS_BENCH_INPUTS", "/tmp/mlops-bench-inputs"))
    path = folder / f"{kind}-{rows}-v1.{fmt}"
    if path.exists():
        return path
    folder.mkdir(parents=True, exist_ok=True)
    part = path.with_suffix(f".part{os.getpid()}")
    rng = np.random.default_rng(0)
    batch = 1_000_000 if kind == "ten" else 200_000
    written = 0
    parquet_writer = None
    with part.open("wb") as f:
        while written < rows:
            n = min(batch, rows - written)
            frame: object = _frame10(rng, written, n) if kind == "ten" else _frame_wide(rng, n)
            if fmt == "csv":
                frame.write_csv(f, include_header=written == 0)  # type: ignore[attr-defined]
            else:
                import pyarrow.parquet as pq

                table = frame.to_arrow()  # type: ignore[attr-defined]
                if parquet_writer is None:
                    parquet_writer = pq.ParquetWriter(f, table.schema, compression="zstd")
                parquet_writer.write_table(table, row_group_size=n)
            written += n
        if parquet_writer is not None:
            parquet_writer.close()
    part.rename(path)
    return path
