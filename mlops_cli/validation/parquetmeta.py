"""A Parquet file's layout (columns, rows, uncompressed size) from its footer, without
pyarrow.

The footer is FileMetaData in Thrift's compact protocol; `_Thrift` reads just enough of it
to find the row count and the row groups' sizes. pyarrow's import (~0.2 s, with numpy)
would be a third of the time of validating a small file, so it is paid only for a footer
this does not read (encrypted, or one it gives up on). A file that is not Parquet, or whose
footer is damaged, is an InputError (exit 3) on every path: "<source>: not a Parquet file
(<reason>)".
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from mlops_cli.common.errors import InputError


@dataclass(frozen=True)
class ParquetLayout:
    columns: list[str]
    rows: int
    bytes: int


def parquet_layout(path: Path, *, source: str) -> ParquetLayout:
    """Columns, rows and uncompressed size of a Parquet file, from its footer.

    polars gives the columns; the sizes come from the footer's row groups, read here rather
    than through pyarrow, whose import (~0.2 s, with numpy) would be a third of the time of
    validating a small file. A footer this does not read (encrypted) is read by pyarrow.
    """
    import polars as pl

    try:
        columns = list(pl.read_parquet_schema(path))
    except (OSError, pl.exceptions.PolarsError, pl.exceptions.PanicException) as exc:
        raise InputError(
            f"{source}: not a Parquet file ({(str(exc) or type(exc).__name__).splitlines()[0]})",
            hint="check the file, or give it a .csv suffix if it is CSV",
        ) from None
    try:
        sizes = _footer_sizes(path)
    except (OSError, ValueError, IndexError, RecursionError):  # structs nested 1000 deep
        sizes = None  # a footer polars reads and this does not: pyarrow's judgement
    if sizes is None:
        return _pyarrow_layout(path, source)
    return ParquetLayout(columns, *sizes)


def _pyarrow_layout(path: Path, source: str) -> ParquetLayout:
    import pyarrow as pa  # type: ignore[import-untyped]
    import pyarrow.parquet as pq  # type: ignore[import-untyped]

    try:
        meta = pq.read_metadata(path)
        # Column names are decoded here, not by read_metadata: a name that is not UTF-8
        # raises UnicodeDecodeError (a ValueError), which is the same damaged file.
        names = list(meta.schema.to_arrow_schema().names)
    except (pa.ArrowInvalid, OSError, ValueError) as exc:
        raise InputError(
            f"{source}: not a Parquet file ({(str(exc) or type(exc).__name__).splitlines()[0]})",
            hint="check the file, or give it a .csv suffix if it is CSV",
        ) from None
    size = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    return ParquetLayout(names, meta.num_rows, size)


def _footer_sizes(path: Path) -> tuple[int, int] | None:
    """(rows, sum of the row groups' total_byte_size) from the file's FileMetaData (Thrift
    compact protocol: field 3 num_rows, field 4 row_groups, each with field 2
    total_byte_size); None for an encrypted footer; ValueError or IndexError when it cannot
    be read."""
    with path.open("rb") as f:
        f.seek(0, 2)
        end = f.tell()
        if end < 12:
            raise ValueError("file too small")
        f.seek(end - 8)
        tail = f.read(8)
        if tail[4:] == b"PARE":
            return None
        length = int.from_bytes(tail[:4], "little")
        if tail[4:] != b"PAR1" or length > end - 12:
            raise ValueError("no Parquet footer")
        f.seek(end - 8 - length)
        footer = _Thrift(f.read(length))
    rows, size = 0, 0
    for field, kind in footer.fields():
        if field == 3 and kind == 6:
            rows = footer.varint(signed=True)
        elif field == 4 and kind == 9:
            count, _ = footer.list_header()
            for _ in range(count):
                for group_field, group_kind in footer.fields():
                    if group_field == 2 and group_kind == 6:
                        size += footer.varint(signed=True)
                    else:
                        footer.skip(group_kind)
        else:
            footer.skip(kind)
    return rows, size


class _Thrift:
    """Just enough of Thrift's compact protocol to walk a Parquet footer."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def byte(self) -> int:
        self.pos += 1
        return self.data[self.pos - 1]

    def varint(self, *, signed: bool = False) -> int:
        value, shift = 0, 0
        while True:
            b = self.byte()
            value |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                return (value >> 1) ^ -(value & 1) if signed else value

    def fields(self) -> Iterator[tuple[int, int]]:
        """(field id, type) of each field of a struct, up to its end; the caller reads or
        skips each value."""
        last = 0
        while (head := self.byte()) != 0:
            delta, kind = head >> 4, head & 0x0F
            last = last + delta if delta else self.varint(signed=True)
            yield last, kind

    def list_header(self) -> tuple[int, int]:
        head = self.byte()
        count = head >> 4
        return (self.varint() if count == 15 else count), head & 0x0F

    def skip(self, kind: int) -> None:
        if kind in (1, 2):  # a boolean field: the value is its type
            return
        if kind == 3:
            self.byte()
        elif kind in (4, 5, 6):
            self.varint()
        elif kind == 7:
            self.pos += 8
        elif kind == 8:
            length = self.varint()  # not `pos += varint()`: that reads pos before the varint
            self.pos += length
        elif kind in (9, 10):
            count, element = self.list_header()
            for _ in range(count):
                self._skip_element(element)
        elif kind == 11:
            count = self.varint()
            if count:
                types = self.byte()
                for _ in range(count):
                    self._skip_element(types >> 4)
                    self._skip_element(types & 0x0F)
        elif kind == 12:
            for _, inner in self.fields():
                self.skip(inner)
        else:
            raise ValueError(f"unreadable Parquet footer (Thrift type {kind})")
        if self.pos > len(self.data):
            raise ValueError("truncated Parquet footer")

    def _skip_element(self, kind: int) -> None:
        if kind in (1, 2):  # a boolean in a collection takes a byte
            self.byte()
        else:
            self.skip(kind)
