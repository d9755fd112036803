"""`mlops schema infer`: a first pandera schema for a data file, written to be read by people.

The output is pandera's own YAML format (`schema_type: dataframe`, pandas dtype names), so
`pandera.io.pandas_io.from_yaml` reads it, and `mlops validate` runs it on polars. What
pandera's own `infer_schema` writes is exact and noisy (`min_value: 0.04296000000000001`);
here the bounds are the observed range widened by 10% and rounded outward to a round number,
a column with few distinct values lists them, and the file says so in its header.

The checks leave room for new data: no `isin` for free text, for many distinct values, for
sparse integers or for years (a year gets a range that reaches a decade past the last one).
Dates in ISO format are `date`/`datetime64[ns]`; in another common format (`2012/01/31`,
`01/31/2012`, `31.01.2012`...) they are text that must match the format, month and day in
range. What pandas reads differently from the file (an integer column with nulls is float64
to pandas, a date is text) is marked `coerce: true`, so `pandera validate` on
`pandas.read_csv` of the file agrees with `mlops validate` (docs/validation.md).

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
from mlops_cli.common.errors import ConflictError, InputError
from mlops_cli.common.fs import atomic_write_text
from mlops_cli.common.progress import NullReporter, Reporter
from mlops_cli.validation.csvdialect import (
    CsvDialect,
    other_delimiter,
    sample_text,
    shown,
    sniff_decimal,
    sniff_delimiter,
)

if TYPE_CHECKING:
    import polars as pl

MAX_CATEGORIES = 20
MARGIN = 0.10
_ID_NAME = re.compile(r"(^|_)(id|uuid|key)$|Id$|ID$", re.IGNORECASE)
_YEAR_NAME = re.compile(r"(^|_)(year|yr)s?($|_)|Year", re.IGNORECASE)
FREE_TEXT_CHARS = 40  # a value this long, or of four words or more, is free text

_PARTS = {
    "%Y": r"\d{4}",
    "%m": r"(0?[1-9]|1[0-2])",
    "%d": r"(0?[1-9]|[12]\d|3[01])",
    "%H": r"([01]?\d|2[0-3])",
    "%M": r"[0-5]\d",
    "%S": r"[0-5]\d",
}
_DAYS = ["%Y/%m/%d", "%m/%d/%Y", "%d/%m/%Y", "%d.%m.%Y", "%Y.%m.%d", "%d-%m-%Y", "%m-%d-%Y"]
_TIMES = [" %H:%M:%S", " %H:%M"]
_DATE_LIKE = r"^\d{1,4}[/.\-]\d{1,2}[/.\-]\d{1,4}( \d{1,2}:\d{2}(:\d{2})?)?$"
# In order of preference when several fit (01/02/2012 is read as US, month first).
DATE_FORMATS = [d + t for d in _DAYS for t in ("", *_TIMES)]


def format_regex(fmt: str) -> str:
    """An anchored regex for text in a strftime format, month, day and hour in range."""
    out = re.escape(fmt)
    for token, part in _PARTS.items():
        out = out.replace(re.escape(token), part)
    return f"^{out}$"


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
    free_text: bool = False
    formats: list[str] | None = None  # date formats every value so far fits (None: not tried)


@dataclass
class InferredColumn:
    name: str
    dtype: str | None
    nullable: bool
    checks: dict[str, Any]
    unique: bool = False
    coerce: bool = False
    description: str | None = None


@dataclass
class InferredSchema:
    path: str
    data: str
    rows: int
    columns: list[InferredColumn]
    delimiter: str | None = None  # a CSV's delimiter, as sniffed or given
    notes: list[str] = field(default_factory=list)


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
    dialect: CsvDialect | None = None,
) -> InferredSchema:
    """Infer a schema from `data` (CSV, Parquet or JSON) and write it to `out`;
    ConflictError when `out` exists and `force` is not given. A CSV is read as `dialect`
    says; its delimiter, when that does not give one, is sniffed from the file's start."""
    from mlops_cli.validation.validate import default_chunk_bytes

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
    from mlops_cli.validation import readers as csvread

    dialect = dialect or CsvDialect()
    fmt = csvread.file_format(data)
    notes: list[str] = []
    if fmt in ("csv", "tsv"):
        dialect = _with_delimiter(data, fmt, dialect, notes)
    reporter.step(f"reading {shown_data}")
    rows, columns = _scan(
        data, shown_data, chunk_bytes or default_chunk_bytes(), max_categories, dialect
    )
    if fmt in ("csv", "tsv") and dialect.utf8 and any(c.dtype == "Binary" for c in columns):
        # pyarrow takes text that is not UTF-8 for binary data rather than failing.
        from mlops_cli.validation.cache import scan_file

        offset = scan_file(data, check_utf8=True).bad_utf8_offset
        if offset is not None:
            error = csvread.locate_not_utf8(data, offset, shown_data)
            error.hint = "re-export it as UTF-8, or pass --encoding (e.g. latin-1)"
            raise error
    inferred = [_decide(c, rows, max_categories) for c in columns]
    how = _dialect_words(fmt, dialect)
    text = render(inferred, shown_data, rows, name or out.stem, read_as=how)
    atomic_write_text(out, text)
    delimiter = dialect.separator(fmt) if fmt in ("csv", "tsv") else None
    return InferredSchema(shown_out, shown_data, rows, inferred, delimiter, notes)


def dialect_for(
    root: Path | None,
    data: Path,
    *,
    delimiter: str | None = None,
    decimal: str | None = None,
    encoding: str | None = None,
    quotechar: str | None = None,
) -> CsvDialect:
    """How to read `data`: the options given, else what mlops.yaml says of the data set
    whose path it is, else the defaults (the delimiter then sniffed)."""
    import dataclasses

    declared = CsvDialect()
    if root is not None and (root / "mlops.yaml").is_file():
        from mlops_cli.project.root import load_config

        config = load_config(root / "mlops.yaml")
        rel = _shown(data, root)
        for ds in config.datasets.values():
            if Path(ds.path).as_posix().removeprefix("./") == rel:
                declared = CsvDialect.of(ds)
    for name, value in (("delimiter", delimiter), ("quotechar", quotechar)):
        if value is not None and len(value.replace("\\t", "\t")) != 1:
            raise InputError(f"--{name} must be one character, got {value!r}")
    if decimal is not None and decimal not in (".", ","):
        raise InputError(f"--decimal is '.' or ',', got {decimal!r}")
    given = {
        "delimiter": delimiter.replace("\\t", "\t") if delimiter else None,
        "decimal": decimal,
        "encoding": encoding,
        "quotechar": quotechar,
    }
    return dataclasses.replace(declared, **{k: v for k, v in given.items() if v is not None})


def _with_delimiter(data: Path, fmt: str, dialect: CsvDialect, notes: list[str]) -> CsvDialect:
    """The dialect with a delimiter: the given one, else one sniffed from the file's start
    (and with it a decimal comma, in a file not separated by commas)."""
    import dataclasses

    if dialect.delimiter is not None:
        return dialect
    default = dialect.separator(fmt)
    try:
        with data.open("rb") as f:
            sample = sample_text(f.read(64 << 10), dialect.encoding)
    except (OSError, LookupError):
        return dialect  # the reader reports it, naming the file
    sniffed = sniff_delimiter(sample, default)
    if sniffed == default:
        return dialect
    settings = [f"delimiter: {shown(sniffed)!r}"]
    decimal = dialect.decimal
    if decimal == "." and sniff_decimal(sample, sniffed) == ",":
        decimal = ","
        settings.append("decimal: ','")
    notes.append(
        f"read with {' and '.join(settings)} (sniffed): set `{'`, `'.join(settings)}` for"
        " the data set in mlops.yaml, so that validation reads it the same way"
    )
    return dataclasses.replace(dialect, delimiter=sniffed, decimal=decimal)


def _dialect_words(fmt: str, dialect: CsvDialect) -> str:
    if fmt not in ("csv", "tsv"):
        return fmt
    words = [f"delimiter {shown(dialect.separator(fmt))!r}"]
    if dialect.decimal != ".":
        words.append(f"decimal {dialect.decimal!r}")
    if not dialect.utf8:
        words.append(f"encoding {dialect.encoding}")
    if dialect.quotechar != '"':
        words.append(f"quotechar {dialect.quotechar!r}")
    return "CSV, " + ", ".join(words)


def _shown(path: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return path.absolute().relative_to(root.absolute()).as_posix()
        except ValueError:
            pass
    return str(path)


def _scan(
    path: Path, source: str, chunk_bytes: int, k: int, dialect: CsvDialect
) -> tuple[int, list[_Column]]:
    import pyarrow as pa  # type: ignore[import-untyped]

    from mlops_cli.validation import readers as csvread

    fmt = csvread.file_format(path)
    text: set[str] = set()
    while True:
        if fmt in ("json", "jsonl"):
            frame = csvread.read_json(path, fmt, source=source)
            names = frame.columns
            chunks = iter([frame])
            single = True
        elif fmt == "parquet":
            from mlops_cli.validation.parquetmeta import parquet_layout

            playout = parquet_layout(path, source=source)
            names = playout.columns
            chunks = csvread.iter_parquet(
                path, playout, names, chunk_bytes=chunk_bytes, source=source
            )
            single = playout.bytes <= chunk_bytes
        else:
            layout = csvread.read_header(
                path, delimiter=dialect.separator(fmt), source=source, dialect=dialect
            )
            _refuse_one_column(layout.columns, layout.delimiter, source)
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
            if not dialect.utf8:
                raise InputError(f"{source}: not {dialect.encoding} text") from None
            from mlops_cli.validation.cache import scan_file

            offset = scan_file(path, check_utf8=True).bad_utf8_offset or 0
            raise csvread.locate_not_utf8(path, offset, source) from None
        return rows, list(columns.values())


def _refuse_one_column(names: list[str], used: str, source: str) -> None:
    """A lone column whose name holds another likely delimiter is a file read wrongly."""
    other = other_delimiter(names[0], used) if len(names) == 1 else None
    if other is not None:
        raise InputError(
            f"{source}: read as one column named {names[0][:60]!r}, which holds"
            f" {shown(other)!r}: the file is probably separated by {shown(other)!r}",
            hint=f"pass --delimiter {shown(other)!r} (and set `delimiter: {shown(other)!r}`"
            " for the data set in mlops.yaml)",
        )


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
        words = values.str.count_matches(r"\s+").max()
        col.free_text |= hi_len > FREE_TEXT_CHARS or int(words or 0) >= 3  # type: ignore[arg-type]
        alive = DATE_FORMATS if col.formats is None else col.formats
        # One pass tells a column that could hold dates; only those try each format.
        if alive and hi_len <= 19 and values.str.contains(_DATE_LIKE).all():
            col.formats = [f for f in alive if values.str.contains(format_regex(f)).all()]
        else:
            col.formats = []
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
    description = None
    # Each value seen three times on average: fewer rows than that say little of what is allowed.
    few = col.values is not None and 0 < len(col.values) <= min(k, max(2, rows // 3))
    integer = col.dtype.startswith(("Int", "UInt"))
    year = integer and _year_like(col)
    codes = integer and few and not year and _dense(col)
    text = col.dtype in ("String", "Categorical")
    if col.dtype == "String" and col.formats:
        fmt = col.formats[0]
        checks["str_matches"] = format_regex(fmt)
        description = f"a date in the format {fmt} (inferred)"
    elif codes or (few and text and not col.free_text):
        checks["isin"] = sorted(col.values or [])
    elif year:
        checks["in_range"] = {
            "min_value": int(col.lo) // 10 * 10 - 10,
            "max_value": -(-int(col.hi) // 10) * 10 + 10,
        }
    elif (integer or col.dtype.startswith("Float")) and col.lo is not None:
        lo, hi = _bounds(float(col.lo), float(col.hi), integer=integer)
        checks["in_range"] = {"min_value": lo, "max_value": hi}
    elif (
        col.dtype == "String"
        and col.min_len is not None
        and col.min_len == col.max_len
        and not col.free_text
    ):
        checks["str_length"] = {"min_value": col.min_len, "max_value": col.max_len}
    unique = col.unique and rows >= 2 and (integer or col.dtype == "String")
    # What pandas.read_csv gives differently (float64 for integers with nulls, text for
    # dates and categories, object for booleans with nulls) pandera must coerce.
    coerce = dtype is not None and (
        dtype[0].isupper()
        or dtype in ("category", "date", "boolean")
        or dtype.startswith("datetime64")
    )
    return InferredColumn(
        col.name,
        dtype,
        nullable,
        checks,
        unique and bool(_ID_NAME.search(col.name)),
        coerce=coerce,
        description=description,
    )


def _year_like(col: _Column) -> bool:
    if col.lo is None:
        return False
    in_years = int(col.lo) >= 1800 and int(col.hi) <= 2200
    return in_years and (bool(_YEAR_NAME.search(col.name)) or int(col.hi) - int(col.lo) < 100)


def _dense(col: _Column) -> bool:
    """Codes (0/1 flags, 1-5 ratings) fill most of their range; counts do not."""
    if not col.values or col.lo is None:
        return False
    span = int(col.hi) - int(col.lo) + 1
    return len(col.values) * 2 >= span


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


def render(
    columns: list[InferredColumn], data: str, rows: int, name: str, *, read_as: str = ""
) -> str:
    """The schema as YAML text in the style of the template's schemas (flow-style checks)."""
    import yaml

    def flow(value: Any) -> str:
        text = yaml.safe_dump(
            value, default_flow_style=True, sort_keys=False, width=10**6, allow_unicode=True
        )
        return text.removesuffix("\n").removesuffix("\n...").strip()

    today = dt.datetime.now(dt.UTC).date().isoformat()
    how = f" ({read_as})" if read_as else ""
    lines = [
        f"# pandera schema inferred by `mlops schema infer` (mlops {__version__}) on {today},",
        f"# from {rows:,} rows of {data}{how}.",
        "# Numeric bounds are the observed range widened by 10% and rounded; years reach a",
        "# decade past those seen. Only columns with few distinct values (codes, categories,",
        "# not free text) list them. Dates in a non-ISO format are text matching the format.",
        "# `coerce: true` marks what pandas reads as another dtype. Review it: it describes",
        "# the data you have, which is not always the data you should accept.",
        "schema_type: dataframe",
        f"name: {flow(name)}",
        "columns:",
    ]
    for col in columns:
        lines.append(f"  {flow(col.name)}:")
        if col.description is not None:
            lines.append(f"    description: {flow(col.description)}")
        if col.dtype is not None:
            lines.append(f"    dtype: {flow(col.dtype)}")
        lines.append(f"    nullable: {flow(col.nullable)}")
        if col.coerce:
            lines.append("    coerce: true")
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
