"""Running pandera over a file, chunk by chunk, and turning its failure cases into a report.

Each chunk (the whole file when it fits the memory budget) is a polars frame from
`validation.readers`, validated lazily by pandera's polars engine, or by its pandas engine when
the schema needs it. Three things pandera cannot do on its own are done around it:

- uniqueness across chunks (`validation.uniqueness`): pandera sees one chunk at a time;
- CSV values that do not parse as the schema's dtype (`validation.coltypes`): the column is
  re-read as text, and each such value is reported with its row (check `dtype('...')`),
  like pandera's own coercion failures, instead of failing the whole read;
- row numbers relative to the file, not to the chunk, and one order of failures whatever
  the chunking.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops_cli.common.errors import InputError
from mlops_cli.common.progress import Reporter
from mlops_cli.validation import fastpath, panderaload
from mlops_cli.validation.coltypes import arrow_type, parse_text
from mlops_cli.validation.csvdialect import CsvDialect, other_delimiter, shown
from mlops_cli.validation.parquetmeta import parquet_layout
from mlops_cli.validation.readers import (
    ConversionError,
    NotUtf8,
    iter_csv,
    iter_parquet,
    locate_not_utf8,
    read_header,
    read_json,
)
from mlops_cli.validation.report import Failure
from mlops_cli.validation.schemafile import Engine, SchemaSpec, build, load_schema
from mlops_cli.validation.uniqueness import Uniqueness, UniqueSet

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

    import numpy as np
    import polars as pl
    import pyarrow as pa  # type: ignore[import-untyped]

__all__ = ["NotUtf8", "Outcome", "load_schema", "locate_not_utf8", "run"]

# pandas' nullable dtypes, which its engine gets only when asked for by name.
_PANDAS_EXTENSION = ("Int", "UInt", "Float", "boolean", "string")


@dataclass
class Outcome:
    rows: int
    failures: list[Failure]
    engine: Engine


class Failures:
    """Failures merged across chunks: counts add up, the first examples by row are kept.

    They come out in one order whatever the chunking: by the schema's column order, then
    structure (missing column, dtype) before nulls before the column's checks in their
    order, uniqueness last.
    """

    def __init__(self, max_examples: int, columns: list[str] | None = None) -> None:
        self.max_examples = max_examples
        self._columns = {name: i for i, name in enumerate(columns or [])}
        self._items: dict[tuple[str, str | None], Failure] = {}
        self._rank: dict[tuple[str, str | None], tuple[int, int, int]] = {}

    def add(
        self,
        check: str,
        column: str | None,
        rows: int,
        examples: list[tuple[int | None, str]],
        *,
        check_number: int | None = None,
    ) -> None:
        key = (check, column)
        failure = self._items.setdefault(key, Failure(check, column, 0, []))
        if key not in self._rank:
            where = -1 if column is None else self._columns.get(column, len(self._columns))
            self._rank[key] = (where, *_phase(check, check_number))
        failure.failing_rows += rows
        for example in examples:
            if len(failure.examples) >= self.max_examples:
                break
            if example not in failure.examples:
                failure.examples.append(example)

    def add_frame(self, cases: pl.DataFrame) -> None:
        """pandera's failure cases (schema_context, column, check, check_number,
        failure_case, index), with `index` already a row of the file."""
        import polars as pl

        k = self.max_examples
        cases = cases.with_row_index("_order").sort("index", nulls_last=False, maintain_order=True)
        has_row = pl.col("index").is_not_null()
        grouped = (
            cases.group_by(["column", "check"], maintain_order=True)
            .agg(
                pl.col("_order").min().alias("_first"),
                pl.col("check_number").min().alias("number"),
                has_row.sum().alias("rows"),
                pl.col("index").filter(has_row).head(k).alias("idx"),
                pl.col("failure_case").filter(has_row).head(k).alias("vals"),
                pl.col("failure_case").filter(~has_row).unique(maintain_order=True).alias("whole"),
            )
            .sort("_first")
        )
        for column, check, _, number, rows, idx, vals, whole in grouped.iter_rows():
            if check in ("column_in_schema", "column_in_dataframe"):
                # The failure case is the column's name; pandera's polars engine puts the
                # schema's name where the column's belongs.
                for name in whole:
                    self.add(check, name, 0, [])
                continue
            examples: list[tuple[int | None, str]] = [
                (int(i), _text(v)) for i, v in zip(idx, vals, strict=True)
            ]
            examples += [(None, _text(v)) for v in whole[: k - len(examples)]]
            self.add(check, column, rows, examples, check_number=number)

    def items(self) -> list[Failure]:
        order = sorted(enumerate(self._items), key=lambda e: (self._rank[e[1]], e[0]))
        return [self._items[key] for _, key in order]


def _phase(check: str, number: int | None) -> tuple[int, int]:
    if check in ("column_in_dataframe", "column_in_schema") or check.startswith(
        ("dtype(", "coerce_dtype(")
    ):
        return 0, 0
    if check == "not_nullable":
        return 1, 0
    if check in ("field_uniqueness", "multiple_fields_uniqueness"):
        return 3, 0
    return 2, number if number is not None else 0


def _text(value: Any) -> str:
    return "null" if value is None else str(value)


def run(
    path: Path,
    fmt: str,
    spec: SchemaSpec,
    *,
    engine: str,
    chunk_bytes: int,
    max_examples: int,
    reporter: Reporter,
    source: str,
    dialect: CsvDialect | None = None,
) -> Outcome:
    """Validate `path` against `spec`; every failure is collected, none raised."""
    import polars  # noqa: F401  (here, not in the reading thread: see _FirstAhead)

    dialect = dialect or CsvDialect()
    chosen = spec.engine(engine)
    schema = _Schema(spec, chosen)
    text_columns: set[str] = set()
    while True:
        reader = _reader(path, fmt, spec, text_columns, chunk_bytes, source, dialect)
        chunks = _FirstAhead(reader.chunks(reader.include))
        if schema.fast is None:
            schema.get()  # imports pandera while the first chunk is read
        try:
            outcome = _run_once(
                reader, chunks, spec, chosen, schema, text_columns, max_examples, reporter, source
            )
            name_columns(outcome.failures, reader.found or reader.include)
            return outcome
        except ConversionError as exc:
            if exc.column in text_columns:  # cannot happen: a text column always converts
                raise InputError(f"{source}: cannot read column {exc.column!r}") from None
            reporter.detail(f"{source}: column {exc.column!r} has values that do not parse")
            text_columns.add(exc.column)


class _Schema:
    """The pandera schema, built on first use. A schema the fast path can judge
    (validation.fastpath) is built only for a frame that path does not pass: a valid file
    is then validated without importing pandera at all."""

    def __init__(self, spec: SchemaSpec, engine: Engine) -> None:
        self.spec = spec
        self.engine = engine
        self.fast = fastpath.plan(spec) if engine == "polars" else None
        self._schema: Any = None

    def get(self) -> Any:
        if self._schema is None:
            if self.engine == "polars":
                panderaload.import_for_polars()
            self._schema = build(self.spec, self.engine)
        return self._schema


class _FirstAhead:
    """Iterates `chunks`, the first one read on another thread from the start: the file is
    read (polars and pyarrow release the GIL) while pandera is imported, which takes about
    as long for a file of a few hundred MB. polars is imported before: two threads importing
    the same module wait for each other."""

    def __init__(self, chunks: Iterator[pl.DataFrame]) -> None:
        import threading

        self._chunks = chunks
        self._first: pl.DataFrame | None = None
        self._error: BaseException | None = None
        self._done = False
        self._thread = threading.Thread(target=self._read, name="mlops-read", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            self._first = next(self._chunks)
        except StopIteration:
            self._done = True
        except BaseException as exc:  # re-raised in the thread that iterates
            self._error = exc

    def __iter__(self) -> Iterator[pl.DataFrame]:
        self._thread.join()
        if self._error is not None:
            raise self._error
        if self._done or self._first is None:
            return
        first, self._first = self._first, None
        yield first
        yield from self._chunks


@dataclass
class _Reader:
    include: list[str]
    chunks: Callable[[list[str]], Iterator[pl.DataFrame]]
    chunked: bool
    decimal: str = "."
    found: list[str] | None = None  # every column of the file, for "did you mean"


def _reader(
    path: Path,
    fmt: str,
    spec: SchemaSpec,
    text_columns: set[str],
    chunk_bytes: int,
    source: str,
    dialect: CsvDialect,
) -> _Reader:
    keep_all = spec.strict is True or spec.regex_columns
    if fmt in ("json", "jsonl"):
        return _json_reader(path, fmt, spec, text_columns, source, keep_all)
    if fmt == "parquet":
        playout = parquet_layout(path, source=source)
        include = [c for c in playout.columns if keep_all or c in spec.columns]
        return _Reader(
            include,
            lambda cols: iter_parquet(path, playout, cols, chunk_bytes=chunk_bytes, source=source),
            playout.bytes > chunk_bytes,
            found=playout.columns,
        )
    import pyarrow as pa

    delimiter = dialect.separator(fmt)
    layout = read_header(path, delimiter=delimiter, source=source, dialect=dialect)
    if len(layout.columns) == 1 and len(spec.columns) > 1:
        other = other_delimiter(layout.columns[0], delimiter)
        if other is not None:
            raise InputError(
                f"{source}: read as one column named {layout.columns[0][:60]!r}; the file"
                f" looks separated by {shown(other)!r}, not {shown(delimiter)!r}",
                hint=f"set `delimiter: {shown(other)!r}` for the data set in mlops.yaml",
            )
    include = [c for c in layout.columns if keep_all or c in spec.columns]
    types: dict[str, pa.DataType] = {}
    for name in include:
        col = spec.columns.get(name)
        if name in text_columns:
            types[name] = pa.string()
        elif col is not None and (arrow := arrow_type(col.polars_dtype)) is not None:
            types[name] = arrow

    def chunks(cols: list[str]) -> Iterator[pl.DataFrame]:
        wanted = {c: t for c, t in types.items() if c in cols}
        return iter_csv(path, layout, cols, wanted, chunk_bytes=chunk_bytes, source=source)

    chunked = path.stat().st_size > chunk_bytes
    return _Reader(include, chunks, chunked, dialect.decimal, layout.columns)


def _json_reader(
    path: Path, fmt: str, spec: SchemaSpec, text_columns: set[str], source: str, keep_all: bool
) -> _Reader:
    """JSON holds its own types: a column whose type is not the schema's (an integer where
    the schema says float64, a date written as text) is parsed value by value like a CSV
    column read as text, so what does not convert is a failure of its row."""
    frame = read_json(path, fmt, source=source)
    include = [c for c in frame.columns if keep_all or c in spec.columns]
    for name in include:
        col = spec.columns.get(name)
        target = col.polars_dtype if col is not None else None
        if target is not None and not _same_dtype(frame.schema[name], target):
            text_columns.add(name)

    def chunks(cols: list[str]) -> Iterator[pl.DataFrame]:
        yield frame.select(cols)

    return _Reader(include, chunks, False, found=frame.columns)


def _same_dtype(dtype: Any, target: str) -> bool:
    import polars as pl

    if dtype == pl.Null:
        return True
    if target == "Categorical":
        return bool(dtype == pl.String or dtype == pl.Categorical)
    if target.startswith(("Datetime", "Duration")):
        return str(dtype) == target
    return str(dtype.base_type()) == target


def name_columns(failures: list[Failure], columns: list[str]) -> None:
    """Say in words what a missing or unexpected column is, with the likely rename."""
    import difflib

    missing = [f.column for f in failures if f.check == "column_in_dataframe" and f.column]
    extra = [f.column for f in failures if f.check == "column_in_schema" and f.column]
    for f in failures:
        if f.column is None:
            continue
        if f.check == "column_in_dataframe":
            pool = extra or [c for c in columns if c != f.column]
            close = difflib.get_close_matches(f.column, pool, n=1, cutoff=0.6)
            tip = f"; did you mean {close[0]!r} (in the data)?" if close else ""
            f.message = f"column {f.column!r} is missing from the data{tip}"
        elif f.check == "column_in_schema":
            close = difflib.get_close_matches(f.column, missing, n=1, cutoff=0.6)
            tip = f" (renamed from {close[0]!r}?)" if close else ""
            f.message = f"column {f.column!r} is in the data but not in the schema{tip}"


def _run_once(
    reader: _Reader,
    chunks: Iterable[pl.DataFrame],
    spec: SchemaSpec,
    engine: Engine,
    schema: _Schema,
    text_columns: set[str],
    max_examples: int,
    reporter: Reporter,
    source: str,
) -> Outcome:
    failures = Failures(max_examples, list(spec.columns))
    sets = [
        UniqueSet("field_uniqueness", c.name, [c.name], c.report_duplicates)
        for c in spec.columns.values()
        if c.unique and c.name in reader.include
    ]
    sets += [
        UniqueSet("multiple_fields_uniqueness", None, cols, spec.report_duplicates)
        for cols in spec.unique
        if all(c in reader.include for c in cols)
    ]
    uniqueness = Uniqueness(sets, chunked=reader.chunked)
    rows = 0
    for frame in chunks:
        height = frame.height
        frame, row_map = parse_text(
            frame, spec, text_columns, rows, failures, decimal=reader.decimal
        )
        uniqueness.add(frame, rows, row_map)
        _validate(engine, schema, spec, frame, rows, row_map, failures)
        rows += height
        if reader.chunked:
            reporter.detail(f"{source}: {rows:,} rows checked")

    def again(cols: list[str]) -> Iterator[tuple[pl.DataFrame, int, np.ndarray | None]]:
        offset = 0
        scratch = Failures(0)
        for frame in reader.chunks(cols):
            height = frame.height
            texts = text_columns & set(cols)
            frame, row_map = parse_text(frame, spec, texts, offset, scratch, decimal=reader.decimal)
            yield frame, offset, row_map
            offset += height

    for failure in uniqueness.finish(again, max_examples):
        failures.add(failure.check, failure.column, failure.failing_rows, failure.examples)
    return Outcome(rows, failures.items(), engine)


def _validate(
    engine: Engine,
    schema: _Schema,
    spec: SchemaSpec,
    frame: pl.DataFrame,
    offset: int,
    row_map: np.ndarray | None,
    failures: Failures,
) -> None:
    if schema.fast is not None and fastpath.passes(schema.fast, frame):
        return  # pandera would report nothing
    _pandera(engine, schema.get(), spec, frame, offset, row_map, failures)


def _pandera(
    engine: Engine,
    schema: Any,
    spec: SchemaSpec,
    frame: pl.DataFrame,
    offset: int,
    row_map: np.ndarray | None,
    failures: Failures,
) -> None:
    import polars as pl
    from pandera.config import ValidationDepth, config_context
    from pandera.errors import SchemaErrors

    # Whatever PANDERA_VALIDATION_* says in the user's environment, mlops validates data.
    depth = ValidationDepth.SCHEMA_AND_DATA
    with config_context(validation_enabled=True, validation_depth=depth), _no_hypothesis():
        try:
            if engine == "polars":
                with panderaload.without_pandas():
                    schema.validate(frame, lazy=True)
            else:
                schema.validate(_to_pandas(frame, spec, offset, row_map), lazy=True)
            return
        except SchemaErrors as exc:
            cases = exc.failure_cases
    if engine == "pandas":
        cases = _pandas_cases(cases)
    else:
        cases = cases.select(
            "schema_context",
            "column",
            "check",
            pl.col("check_number").cast(pl.Int64),
            "failure_case",
            pl.col("index").cast(pl.Int64),
        )
        if row_map is not None:  # rows were left out: position -> row of the file
            lookup = pl.DataFrame(
                {"index": pl.int_range(0, len(row_map), eager=True), "_row": row_map}
            ).with_columns(pl.col("index").cast(pl.Int64), pl.col("_row").cast(pl.Int64))
            cases = (
                cases.join(lookup, on="index", how="left", maintain_order="left")
                .with_columns(pl.col("_row").alias("index"))
                .drop("_row")
            )
        else:
            cases = cases.with_columns(pl.col("index") + offset)
    failures.add_frame(cases)


@contextlib.contextmanager
def _no_hypothesis() -> Iterator[None]:
    """pandera's first validation registers its data-synthesis strategies, importing
    hypothesis (~90 modules, ~80 ms) when it is installed; validating never uses them. Its
    import is optional in pandera, so it is hidden while pandera loads them (unless something
    in this process imported it already; afterwards it imports normally)."""
    import sys

    if "hypothesis" in sys.modules:
        yield
        return
    sys.modules["hypothesis"] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        if sys.modules.get("hypothesis", 0) is None:
            del sys.modules["hypothesis"]


def _to_pandas(frame: pl.DataFrame, spec: SchemaSpec, offset: int, row_map: Any) -> Any:
    import numpy as np
    import pandas as pd
    import polars as pl

    pdf = frame.to_pandas()
    rows = row_map if row_map is not None else np.arange(offset, offset + frame.height)
    pdf.index = pd.Index(rows)
    for name, col in spec.columns.items():
        if name in pdf.columns and col.dtype == "date" and frame.schema[name] == pl.Date:
            # pandera's pandas `date` is a column of datetime.date objects, which polars'
            # to_pandas turns into datetime64: give it back what the schema says.
            pdf[name] = pd.Series(frame.get_column(name).to_list(), index=pdf.index, dtype=object)
        elif name in pdf.columns and col.dtype and col.dtype.startswith(_PANDAS_EXTENSION):
            # As pandas.read_csv(dtype=...) gives it (Int64 keeps its nulls); what does not
            # convert is left for pandera to report as a dtype mismatch.
            with contextlib.suppress(TypeError, ValueError):
                pdf[name] = pdf[name].astype(col.dtype)
    return pdf


def _pandas_cases(cases: Any) -> pl.DataFrame:
    import pandas as pd
    import polars as pl

    def text(value: Any) -> str | None:
        try:
            if value is None or (not isinstance(value, (list, dict)) and pd.isna(value)):
                return None
        except (TypeError, ValueError):
            pass
        return str(value)

    def row(value: Any) -> int | None:
        try:
            return None if value is None or pd.isna(value) else int(value)
        except (TypeError, ValueError):
            return None

    return pl.DataFrame(
        {
            "schema_context": [str(v) for v in cases["schema_context"]],
            "column": [None if c is None or c != c else str(c) for c in cases["column"]],
            "check": [str(v) for v in cases["check"]],
            "check_number": [row(v) for v in cases["check_number"]],
            "failure_case": [text(v) for v in cases["failure_case"]],
            "index": [row(v) for v in cases["index"]],
        },
        schema={
            "schema_context": pl.String,
            "column": pl.String,
            "check": pl.String,
            "check_number": pl.Int64,
            "failure_case": pl.String,
            "index": pl.Int64,
        },
    )
