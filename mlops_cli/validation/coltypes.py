"""CSV columns and their schema dtypes: how pyarrow should parse each one, and what to do
with a column whose values did not all parse.

A value that is not of its column's dtype (`high` in a float column) is a failure of that
row, reported like pandera's coercion failures (check `dtype('float64')`), not a reason to
stop: such a column is read as text and parsed here, value by value.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlops_cli.validation.schemafile import SchemaSpec

if TYPE_CHECKING:
    import numpy as np
    import polars as pl
    import pyarrow as pa  # type: ignore[import-untyped]

    from mlops_cli.validation.engine import Failures

_TRUE = ("true", "True", "TRUE", "1")
_FALSE = ("false", "False", "FALSE", "0")


def parse_text(
    frame: pl.DataFrame,
    spec: SchemaSpec,
    text_columns: set[str],
    offset: int,
    failures: Failures,
    *,
    decimal: str = ".",
) -> tuple[pl.DataFrame, np.ndarray | None]:
    """Parse the columns read as text into their dtype; report what does not parse and leave
    those rows out of the other checks (where they would fail again as nulls)."""
    import polars as pl

    categorical = [
        n for n, c in spec.columns.items() if c.polars_dtype == "Categorical" and n in frame.columns
    ]
    if categorical:
        frame = frame.with_columns(pl.col(n).cast(pl.Categorical) for n in categorical)
    columns = [c for c in text_columns if c in frame.columns and c in spec.columns]
    if not columns:
        return frame, None
    import numpy as np

    bad_any = pl.Series([False] * frame.height)
    parsed: list[pl.Series] = []
    for name in columns:
        col = spec.columns[name]
        raw = frame.get_column(name)
        value = _parse(raw, col.polars_dtype or "String", decimal)
        bad = raw.is_not_null() & value.is_null()
        count = int(bad.sum())
        if count:
            where = np.flatnonzero(bad.to_numpy())[: failures.max_examples]
            examples: list[tuple[int | None, str]] = [
                (offset + int(i), str(raw[int(i)])) for i in where
            ]
            failures.add(col.dtype_check, name, count, examples)
        bad_any = bad_any | bad
        parsed.append(value.alias(name))
    frame = frame.with_columns(parsed)
    if not bad_any.any():
        return frame, None
    keep = (~bad_any).to_numpy()
    return frame.filter(pl.Series(keep)), np.arange(offset, offset + len(keep))[keep]


def _parse(raw: pl.Series, dtype_name: str, decimal: str = ".") -> pl.Series:
    import polars as pl

    text = raw.cast(pl.String).str.strip_chars()
    if decimal != "." and dtype_name.startswith("Float"):
        text = text.str.replace(decimal, ".", literal=True)
    try:
        if dtype_name == "Boolean":
            mapping = {**dict.fromkeys(_TRUE, True), **dict.fromkeys(_FALSE, False)}
            return text.replace_strict(mapping, default=None, return_dtype=pl.Boolean)
        if dtype_name == "Date":
            return text.str.to_date(strict=False)
        if dtype_name.startswith("Datetime"):
            return text.str.to_datetime(strict=False)
        return text.cast(_polars_dtype(dtype_name), strict=False)
    except pl.exceptions.PolarsError:
        return pl.Series(raw.name, [None] * len(raw), dtype=pl.String)


def _polars_dtype(name: str) -> Any:
    import polars as pl

    simple = getattr(pl, name, None)
    if isinstance(simple, type) and issubclass(simple, pl.DataType):
        return simple
    return pl.String


def arrow_type(polars_name: str | None) -> pa.DataType | None:
    """How pyarrow should parse a CSV column of this dtype (None: let it infer)."""
    import pyarrow as pa

    if polars_name is None:
        return None
    simple = {
        **{f"Int{n}": getattr(pa, f"int{n}")() for n in (8, 16, 32, 64)},
        **{f"UInt{n}": getattr(pa, f"uint{n}")() for n in (8, 16, 32, 64)},
        "Float32": pa.float32(),
        "Float64": pa.float64(),
        "Boolean": pa.bool_(),
        "String": pa.string(),
        "Categorical": pa.string(),
        "Date": pa.date32(),
    }
    if polars_name in simple:
        return simple[polars_name]
    if polars_name.startswith("Datetime("):
        import re

        match = re.search(r"time_unit='(\w+)', time_zone=(None|'([^']*)')", polars_name)
        if match:
            return pa.timestamp(match.group(1), match.group(3))
    return None
