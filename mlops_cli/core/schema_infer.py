"""`mlops schema infer`: a first pandera schema for a data file, written to be read by people.

The output is pandera's own YAML format (`schema_type: dataframe`, pandas dtype names), so
`pandera.io.pandas_io.from_yaml` reads it, and `mlops validate` runs it on polars. What
pandera's own `infer_schema` writes is exact and noisy (`min_value: 0.04296000000000001`);
here the bounds are the observed range widened by 10% and rounded outward to a round number,
a column with few distinct values lists them, and the file says so in its header.

The data is read in chunks like validation reads it, so a file larger than memory works too.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops_cli import __version__
from mlops_cli.core.errors import ConflictError, InputError
from mlops_cli.core.fs import atomic_write_text
from mlops_cli.core.progress import NullReporter, Reporter

if TYPE_CHECKING:
    import polars as pl

MAX_CATEGORIES = 20
MARGIN = 0.10
_ID_NAME = re.compile(r"(^|_)(id|uuid|key)$|Id$|ID$", re.IGNORECASE)


@dataclass
class _Column:
    name: str
    dtype: str = "Null"
    nulls: int = 0
    lo: Any = None
    hi: Any = None
    values: set[Any] | None = field(default_factory=set)
    min_len: int | None = None
    max_len: int | None = None
    unique: bool = False


@dataclass
class InferredColumn:
    name: str
    dtype: str | None
    nullable: bool
    checks: dict[str, Any]
    unique: bool = False


@dataclass
class InferredSchema:
    path: str
    data: str
    rows: int
    columns: list[InferredColumn]


def infer_schema(
    data: Path,
    out: Path,
    *,
    root: Path | None = None,
    force: bool = False,
    name: str | None = None,
    reporter: Reporter | None = None,
    chunk_bytes: int | None = None,
    max_categories: int = MAX_CATEGORIES,
) -> InferredSchema:
    """Infer a schema from `data` (CSV or Parquet) and write it to `out`; ConflictError when
    `out` exists and `force` is not given."""
    from mlops_cli.core.validation import default_chunk_bytes

    reporter = reporter or NullReporter()
    shown_data, shown_out = _shown(data, root), _shown(out, root)
    if out.exists() and not force:
        raise ConflictError(
            f"{shown_out} exists; not overwriting it",
            paths=[shown_out],
            hint="pass --force to replace it, or -o to write elsewhere",
        )
    if not data.is_file():
        raise InputError(
            f"{shown_data}: no such file", hint="run `mlops data pull` to fetch versioned data"
        )
    reporter.step(f"reading {shown_data}")
    rows, columns = _scan(data, shown_data, chunk_bytes or default_chunk_bytes(), max_categories)
    inferred = [_decide(c, rows, max_categories) for c in columns]
    text = render(inferred, shown_data, rows, name or out.stem)
    atomic_write_text(out, text)
    return InferredSchema(shown_out, shown_data, rows, inferred)


def _shown(path: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return path.absolute().relative_to(root.absolute()).as_posix()
        except ValueError:
            pass
    return str(path)


def _scan(path: Path, source: str, chunk_bytes: int, k: int) -> tuple[int, list[_Column]]:
    import pyarrow as pa  # type: ignore[import-untyped]

    from mlops_cli.core import csvread

    fmt = csvread.file_format(path)
    text: set[str] = set()
    while True:
        if fmt == "parquet":
            playout = csvread.parquet_layout(path, source=source)
            names = playout.columns
            chunks = csvread.iter_parquet(
                path, playout, names, chunk_bytes=chunk_bytes, source=source
            )
            single = playout.bytes <= chunk_bytes
        else:
            layout = csvread.read_header(
                path, delimiter=csvread.CSV_SUFFIXES[f".{fmt}"], source=source
            )
            names = layout.columns
            types = {c: pa.string() for c in text}
            chunks = csvread.iter_csv(
                path, layout, names, types, chunk_bytes=chunk_bytes, source=source
            )
            single = path.stat().st_size <= chunk_bytes
        columns = {n: _Column(n) for n in names}
        rows = 0
        try:
            for frame in chunks:
                for col in columns.values():
                    _update(col, frame.get_column(col.name), k, single)
                rows += frame.height
        except csvread.ConversionError as exc:
            text.add(exc.column)  # a later chunk disagrees with the first: call it text
            continue
        except csvread.NotUtf8:
            from mlops_cli.core.valcache import scan_file

            offset = scan_file(path, check_utf8=True).bad_utf8_offset or 0
            raise csvread.locate_not_utf8(path, offset, source) from None
        return rows, list(columns.values())


def _update(col: _Column, series: pl.Series, k: int, single: bool) -> None:
    import polars as pl

    dtype = series.dtype
    col.dtype = "Null" if dtype == pl.Null else str(dtype.base_type())
    if isinstance(dtype, pl.Datetime):
        col.dtype = f"Datetime:{dtype.time_zone or ''}"
    col.nulls += series.null_count()
    values = series.drop_nulls()
    if dtype.is_float():
        values = values.filter(values.is_finite())
    if len(values) and (dtype.is_numeric() or dtype.is_temporal()):
        lo, hi = values.min(), values.max()
        col.lo = lo if col.lo is None else min(col.lo, lo)
        col.hi = hi if col.hi is None else max(col.hi, hi)
    if dtype == pl.String and len(values):
        lengths = values.str.len_chars().cast(pl.Int64)
        lo_len, hi_len = int(lengths.min() or 0), int(lengths.max() or 0)  # type: ignore[arg-type]
        col.min_len = lo_len if col.min_len is None else min(col.min_len, lo_len)
        col.max_len = hi_len if col.max_len is None else max(col.max_len, hi_len)
    if col.values is not None:
        distinct = values.unique().head(k + 1).to_list()
        col.values.update(distinct)
        if len(col.values) > k:
            col.values = None
    # Uniqueness is only claimed for a file read in one piece; across chunks it is not known.
    col.unique = single and series.null_count() == 0 and series.n_unique() == len(series)


def _decide(col: _Column, rows: int, k: int) -> InferredColumn:
    nullable = col.nulls > 0
    dtype = _pandas_dtype(col.dtype, nullable)
    checks: dict[str, Any] = {}
    few = col.values is not None and 0 < len(col.values) <= min(k, max(2, rows // 2))
    integer = col.dtype.startswith(("Int", "UInt"))
    if few and (integer or col.dtype in ("String", "Categorical")):
        checks["isin"] = sorted(col.values or [])
    elif (integer or col.dtype.startswith("Float")) and col.lo is not None:
        lo, hi = _bounds(float(col.lo), float(col.hi), integer=integer)
        checks["in_range"] = {"min_value": lo, "max_value": hi}
    elif col.dtype == "String" and col.min_len is not None and col.min_len == col.max_len:
        checks["str_length"] = {"min_value": col.min_len, "max_value": col.max_len}
    unique = col.unique and rows >= 2 and (integer or col.dtype == "String")
    return InferredColumn(
        col.name, dtype, nullable, checks, unique and bool(_ID_NAME.search(col.name))
    )


def _pandas_dtype(polars: str, nullable: bool) -> str | None:
    if polars.startswith("Datetime:"):
        zone = polars.partition(":")[2]
        return f"datetime64[ns, {zone}]" if zone else "datetime64[ns]"
    if polars.startswith(("Int", "UInt")):
        # pandas' int64 cannot hold a null; its nullable Int64 can, and polars reads both.
        return polars if nullable else polars.lower()
    names = {
        "Float32": "float32",
        "Float64": "float64",
        "Date": "date",
        "Categorical": "category",
        "String": "str",
        "Null": "str",  # an empty column: text, nullable
    }
    if polars == "Boolean":
        return "boolean" if nullable else "bool"
    return names.get(polars)  # Decimal, Duration, lists...: no dtype rather than a wrong one


def _bounds(lo: float, hi: float, *, integer: bool) -> tuple[float | int, float | int]:
    """The observed range widened by 10%, rounded outward to a round number; a non-negative
    column keeps a lower bound of at least 0."""
    margin = (hi - lo) * MARGIN or abs(hi) * MARGIN or 1.0
    step = 10.0 ** math.floor(math.log10(margin))
    if integer:
        step = max(step, 1.0)
    low = math.floor((lo - margin) / step) * step
    high = math.ceil((hi + margin) / step) * step
    if lo >= 0 > low:
        low = 0.0
    digits = max(0, -math.floor(math.log10(step)))
    if integer:
        return int(low), int(high)
    return round(low, digits), round(high, digits)


def render(columns: list[InferredColumn], data: str, rows: int, name: str) -> str:
    """The schema as YAML text in the style of the template's schemas (flow-style checks)."""
    import yaml

    def flow(value: Any) -> str:
        text = yaml.safe_dump(
            value, default_flow_style=True, sort_keys=False, width=10**6, allow_unicode=True
        )
        return text.removesuffix("\n").removesuffix("\n...").strip()

    today = dt.datetime.now(dt.UTC).date().isoformat()
    lines = [
        f"# pandera schema inferred by `mlops schema infer` (mlops {__version__}) from {data}",
        f"# ({rows:,} rows) on {today}. Numeric bounds are the observed range widened by 10%",
        "# and rounded; columns with few distinct values list them. Review it: it describes",
        "# the data you have, which is not always the data you should accept.",
        "schema_type: dataframe",
        f"name: {flow(name)}",
        "columns:",
    ]
    for col in columns:
        lines.append(f"  {flow(col.name)}:")
        if col.dtype is not None:
            lines.append(f"    dtype: {flow(col.dtype)}")
        lines.append(f"    nullable: {flow(col.nullable)}")
        if col.unique:
            lines.append("    unique: true")
        if col.checks:
            lines.append("    checks:")
            lines += [f"      {check}: {flow(args)}" for check, args in col.checks.items()]
    lines += ["strict: true", "coerce: false", ""]
    text = "\n".join(lines)
    parsed = yaml.safe_load(text)  # the hand-made YAML must say exactly what was inferred
    assert [str(c) for c in parsed["columns"]] == [c.name for c in columns]
    return text
