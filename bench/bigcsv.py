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
