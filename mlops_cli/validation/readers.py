"""Reading CSV and Parquet files for validation: polars frames, in one piece or in bounded
chunks.

pyarrow parses CSV (multi-threaded, streaming for large files) because, unlike polars'
reader, it rejects a row with too few fields instead of padding it with nulls, and reports
which row it was; its record batches become polars frames. A Parquet file that fits in one
chunk is read by polars itself, the fastest reader of the two; a larger one is streamed by
row groups through pyarrow. The Parquet footer (its layout) is read by parquetmeta.py.

Every problem with the file itself (empty, header only, ragged rows, not CSV, not Parquet)
is an InputError naming the file and the line; a value that does not parse as the schema's
type is not: the caller reads that column as text and reports the values as failures.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops_cli.common.errors import InputError
from mlops_cli.validation.csvdialect import CsvDialect
from mlops_cli.validation.parquetmeta import ParquetLayout

if TYPE_CHECKING:
    import polars as pl
    import pyarrow as pa  # type: ignore[import-untyped]

CSV_SUFFIXES = {".csv": ",", ".tsv": "\t"}
PARQUET_SUFFIXES = (".parquet", ".pq")
JSON_SUFFIXES = {".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl"}
# pandas' default NA strings (arrow's defaults lack `None` and `<NA>`): a CSV read by pandas
# has the nulls mlops sees.
NULL_VALUES = [
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
    "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
]  # fmt: skip
_HEAD_BYTES = 1 << 20
_BLOCK_BYTES = 8 << 20
_STREAM_BLOCK = 1 << 20
_CONVERSION = re.compile(r"In CSV column #(\d+): CSV conversion error to ([^:]+): invalid value")


def file_format(path: Path) -> str:
    """`csv`, `tsv`, `parquet`, `json` or `jsonl` from the file name; InputError for
    anything else."""
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        return suffix[1:]
    if suffix in PARQUET_SUFFIXES:
        return "parquet"
    if suffix in JSON_SUFFIXES:
        return JSON_SUFFIXES[suffix]
    raise InputError(
        f"{path}: cannot validate a '{suffix or path.name}' file",
        hint="mlops validate reads .csv, .tsv, .parquet, .pq, .json, .jsonl and .ndjson files",
    )


class ConversionError(Exception):
    """A value in `column` does not parse as the type the schema gives it."""

    def __init__(self, column: str) -> None:
        super().__init__(column)
        self.column = column


class NotUtf8(Exception):
    """The file holds bytes that are not UTF-8; the caller finds the offset."""


@dataclass(frozen=True)
class CsvLayout:
    columns: list[str]
    delimiter: str
    decimal: str = "."
    encoding: str = "utf-8"
    quotechar: str = '"'


def read_header(
    path: Path, *, delimiter: str, source: str, dialect: CsvDialect | None = None
) -> CsvLayout:
    """The column names of a CSV file; InputError when it is empty or has no data rows.
    `dialect` gives the decimal mark, encoding and quote character (the delimiter is
    `delimiter`)."""
    dialect = dialect or CsvDialect()
    try:
        with path.open("rb") as f:
            head = f.read(_HEAD_BYTES)
    except OSError as exc:
        raise InputError(f"cannot read {source}: {exc.strerror or exc}") from exc
    start = len(codecs.BOM_UTF8) if head.startswith(codecs.BOM_UTF8) else 0
    if not head[start:].strip():
        raise InputError(
            f"{source}: the file is empty", hint="write a header line and data rows, or pull it"
        )
    if not dialect.utf8:
        start = 0
    try:
        decoder = codecs.getincrementaldecoder(dialect.encoding)()
    except LookupError:
        raise InputError(
            f"{source}: unknown encoding {dialect.encoding!r}",
            hint="use a Python codec name such as utf-8, latin-1 or cp1252",
        ) from None
    try:
        text = decoder.decode(head[start:], final=len(head) < _HEAD_BYTES)
    except UnicodeDecodeError as exc:
        # Only the first record matters here; a bad byte after it is the scanner's to report.
        text = head[start : start + exc.start].decode(dialect.encoding)
        if "\n" not in text:
            if not dialect.utf8:
                raise InputError(
                    f"{source}: not {dialect.encoding} text (byte offset {start + exc.start})",
                    hint="set the data set's `encoding` in mlops.yaml to the file's encoding",
                ) from None
            raise not_utf8(source, head, start + exc.start) from None
    records = csv.reader(
        io.StringIO(text, newline=""), delimiter=delimiter, quotechar=dialect.quotechar
    )
    try:
        header = next(records, [])
    except csv.Error as exc:  # e.g. a header field over the csv module's 128 KiB limit
        raise InputError(f"{source}:1: cannot read the header line: {exc}") from None
    names = [name.strip() for name in header]
    # A blank header field (a saved pandas index) gets the name pandas gives it, so the
    # schema's column is the one pandas, and pandera reading through it, sees.
    names = [name or f"Unnamed: {i}" for i, name in enumerate(names)] if any(names) else names
    if not any(names):
        raise InputError(f"{source}:1: the header line has no column names")
    seen: set[str] = set()
    for name in names:
        if "\x00" in name:  # Arrow cuts a name at a NUL: two such names would collide
            raise InputError(f"{source}:1: column {name!r} has a NUL byte in its name")
        if name in seen:
            raise InputError(f"{source}:1: column {name!r} appears twice in the header")
        seen.add(name)
    whole_file = len(head) < _HEAD_BYTES
    try:
        has_data = any(any(field.strip() for field in row) for row in records)
    except csv.Error:  # a field too large for the csv module: there is data; pyarrow judges it
        has_data = True
    if whole_file and not has_data:
        raise InputError(
            f"{source}: has a header line but no data rows",
            hint="a data set needs at least one row; check that the file was written completely",
        )
    return CsvLayout(names, delimiter, dialect.decimal, dialect.encoding, dialect.quotechar)


def not_utf8(source: str, head: bytes, offset: int) -> InputError:
    line = head.count(b"\n", 0, offset) + 1
    return InputError(
        f"{source}:{line}: not UTF-8 text (invalid byte 0x{head[offset]:02x} at byte offset"
        f" {offset})",
        hint="re-export the file as UTF-8, e.g. `iconv -f latin1 -t utf-8`",
    )


def locate_not_utf8(path: Path, offset: int, source: str) -> InputError:
    """The error for a bad byte at `offset`, with its line number (counted on this error path)."""
    lines = 1
    bad = 0
    with path.open("rb") as f:
        done = 0
        while done < offset and (block := f.read(min(_BLOCK_BYTES, offset - done))):
            lines += block.count(b"\n")
            done += len(block)
        bad = (f.read(1) or b"\0")[0]
    return InputError(
        f"{source}:{lines}: not UTF-8 text (invalid byte 0x{bad:02x} at byte offset {offset})",
        hint="re-export the file as UTF-8, e.g. `iconv -f latin1 -t utf-8`",
    )


@dataclass
class _BadRow:
    number: int | None
    expected: int
    actual: int
    text: str


def _options(
    layout: CsvLayout,
    include: list[str],
    types: dict[str, pa.DataType],
    *,
    threads: bool,
    bad_rows: list[_BadRow],
    block_bytes: int = _BLOCK_BYTES,
) -> dict[str, Any]:
    import pyarrow.csv as pacsv  # type: ignore[import-untyped]

    def on_bad_row(row: Any) -> str:
        bad_rows.append(_BadRow(row.number, row.expected_columns, row.actual_columns, row.text))
        return "error"

    return {
        "read_options": pacsv.ReadOptions(
            use_threads=threads,
            block_size=block_bytes,
            column_names=layout.columns,
            skip_rows=1,
            # "utf8" is arrow's own (no transcoding, the BOM skipped); others go through Python.
            encoding="utf8" if CsvDialect(encoding=layout.encoding).utf8 else layout.encoding,
        ),
        "parse_options": pacsv.ParseOptions(
            delimiter=layout.delimiter,
            quote_char=layout.quotechar,
            newlines_in_values=True,
            invalid_row_handler=on_bad_row,
        ),
        "convert_options": pacsv.ConvertOptions(
            column_types=types,
            include_columns=include,
            strings_can_be_null=True,
            null_values=NULL_VALUES,
            decimal_point=layout.decimal,
        ),
    }


def iter_csv(
    path: Path,
    layout: CsvLayout,
    include: list[str],
    types: dict[str, pa.DataType],
    *,
    chunk_bytes: int,
    source: str,
) -> Iterator[pl.DataFrame]:
    """The columns `include` of a CSV file as frames of about `chunk_bytes` each (one frame
    when the file is smaller). Raises ConversionError, NotUtf8 or InputError."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    bad_rows: list[_BadRow] = []
    whole = path.stat().st_size <= chunk_bytes
    # pyarrow's streaming reader reads several blocks ahead: small blocks keep that bounded
    # (8 MiB blocks cost ~300 MB more at peak than 1 MiB ones, for ~10% more speed).
    block = _BLOCK_BYTES if whole else max(16 << 10, min(_STREAM_BLOCK, chunk_bytes // 32))
    opts = _options(layout, include, types, threads=True, bad_rows=bad_rows, block_bytes=block)
    try:
        if whole:
            yield _frame(pacsv.read_csv(path, **opts))
            return
        batches: list[pa.RecordBatch] = []
        size = 0
        for batch in pacsv.open_csv(path, **opts):
            batches.append(batch)
            size += batch.nbytes
            if size >= chunk_bytes:
                yield _frame(pa.Table.from_batches(batches))
                batches, size = [], 0
        if batches:
            yield _frame(pa.Table.from_batches(batches))
    except pa.ArrowInvalid as exc:
        raise _translate(exc, path, layout, bad_rows, source) from None


def _translate(
    exc: Exception, path: Path, layout: CsvLayout, bad_rows: list[_BadRow], source: str
) -> Exception:
    message = str(exc)
    if bad_rows:
        row = bad_rows[0] if bad_rows[0].number is not None else _locate_bad_row(path, layout)
        where = f"{source}:{row.number}" if row.number is not None else source
        return InputError(
            f"{where}: row has {row.actual} field(s) where the header has {row.expected}:"
            f" {row.text[:80]!r}",
            hint="fix or remove that row; a field containing the separator must be quoted",
        )
    if "invalid UTF8" in message or "invalid utf8" in message.lower():
        return NotUtf8(message)
    if (match := _CONVERSION.search(message)) is not None:
        index = int(match.group(1))
        if index < len(layout.columns):
            return ConversionError(layout.columns[index])
    return InputError(f"{source}: cannot be read as CSV: {message.splitlines()[0]}")


def _locate_bad_row(path: Path, layout: CsvLayout) -> _BadRow:
    """Re-read single-threaded, where pyarrow numbers the rows, up to the first ragged one."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    bad_rows: list[_BadRow] = []
    text = {name: pa.string() for name in layout.columns}
    opts = _options(layout, layout.columns, text, threads=False, bad_rows=bad_rows)
    try:
        for _ in pacsv.open_csv(path, **opts):
            pass
    except pa.ArrowInvalid:
        pass
    # pyarrow counts the skipped header line too: its row number is the file's line number
    # (unless a quoted field spans lines before it).
    return bad_rows[0] if bad_rows else _BadRow(None, 0, 0, "")


def iter_parquet(
    path: Path, layout: ParquetLayout, include: list[str], *, chunk_bytes: int, source: str
) -> Iterator[pl.DataFrame]:
    """The columns `include` of a Parquet file, in one frame or in frames of ~`chunk_bytes`."""
    import polars as pl

    if layout.bytes <= chunk_bytes:  # polars alone: pyarrow is not even imported
        try:
            frame = pl.read_parquet(path, columns=include)
        except (OSError, pl.exceptions.PolarsError) as exc:
            raise InputError(f"{source}: cannot read Parquet: {str(exc).splitlines()[0]}") from None
        except pl.exceptions.PanicException as exc:  # a BaseException: damaged data pages
            raise InputError(
                f"{source}: cannot read Parquet: polars failed on its data"
                f" ({str(exc).splitlines()[0][:200]}); the file is probably damaged",
                hint="re-create or re-download it (`dvc checkout` / `mlops data pull`)",
            ) from None
        yield frame
        return
    import pyarrow as pa
    import pyarrow.parquet as pq  # type: ignore[import-untyped]

    try:
        per_row = max(1, layout.bytes // max(1, layout.rows))
        batch_rows = max(1, chunk_bytes // per_row)
        for batch in pq.ParquetFile(path).iter_batches(batch_size=batch_rows, columns=include):
            yield _frame(pa.Table.from_batches([batch]))
    except (pa.ArrowInvalid, OSError, pl.exceptions.PolarsError) as exc:
        raise InputError(f"{source}: cannot read Parquet: {str(exc).splitlines()[0]}") from None


def read_json(path: Path, fmt: str, *, source: str) -> pl.DataFrame:
    """A JSON file (an array of records) or JSON Lines file (one record a line) as one
    frame; InputError when it is not one, or holds no records."""
    import polars as pl

    try:
        if fmt == "jsonl":
            frame = pl.read_ndjson(path, infer_schema_length=None)
        else:
            frame = pl.read_json(path, infer_schema_length=None)
    except OSError as exc:
        raise InputError(f"cannot read {source}: {exc.strerror or exc}") from None
    except (pl.exceptions.PolarsError, pl.exceptions.PanicException, ValueError) as exc:
        kind = "JSON Lines (one object a line)" if fmt == "jsonl" else "a JSON array of objects"
        raise InputError(
            f"{source}: not {kind} ({(str(exc) or type(exc).__name__).splitlines()[0][:200]})",
            hint="mlops reads .json files holding [{...}, ...] and .jsonl/.ndjson files",
        ) from None
    if frame.height == 0 or frame.width == 0:
        raise InputError(f"{source}: holds no records", hint="a data set needs at least one row")
    return frame


def _frame(table: pa.Table) -> pl.DataFrame:
    import polars as pl

    frame = pl.from_arrow(table, rechunk=False)
    assert isinstance(frame, pl.DataFrame)
    return frame
