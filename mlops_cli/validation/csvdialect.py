"""How a data set's CSV is written: delimiter, decimal mark, encoding, quote character.

A CSV file does not say how it was written. A semicolon export with decimal commas (what a
spreadsheet writes in much of Europe) read with the defaults is one column named `a;b;c`; so
each data set may say how its file is written in `mlops.yaml`, and every reader (validate on
either engine, schema infer, data add, the hook) reads it the same way. `schema infer`
guesses the delimiter from a sample when nothing says it.

Standard library only: the hook's fast path uses `cache_tag` without loading pyarrow.
"""

from __future__ import annotations

import codecs
import csv
import re
from dataclasses import dataclass
from typing import Any

# What a spreadsheet or a database export uses, in the order a tie is broken.
LIKELY_DELIMITERS = (",", ";", "\t", "|")
_DEFAULT_DELIMITER = {"csv": ",", "tsv": "\t"}
_SAMPLE_BYTES = 64 << 10


@dataclass(frozen=True)
class CsvDialect:
    """None for the delimiter: the file's suffix decides (`,` for .csv, tab for .tsv)."""

    delimiter: str | None = None
    decimal: str = "."
    encoding: str = "utf-8"
    quotechar: str = '"'

    @classmethod
    def of(cls, dataset: Any) -> CsvDialect:
        """The dialect of a `config.Dataset` (or anything with those attributes)."""
        return cls(
            delimiter=getattr(dataset, "delimiter", None),
            decimal=getattr(dataset, "decimal", None) or ".",
            encoding=getattr(dataset, "encoding", None) or "utf-8",
            quotechar=getattr(dataset, "quotechar", None) or '"',
        )

    def separator(self, fmt: str) -> str:
        return self.delimiter or _DEFAULT_DELIMITER.get(fmt, ",")

    @property
    def utf8(self) -> bool:
        return _codec(self.encoding) in ("utf-8", "utf-8-sig")

    def cache_tag(self, fmt: str) -> str:
        """What goes into a validation cache key beside the format: the same bytes read
        another way are another result. Empty for the defaults, so existing keys stay."""
        if fmt in ("parquet", "json", "jsonl"):
            return fmt
        parts = []
        if self.delimiter is not None and self.delimiter != _DEFAULT_DELIMITER.get(fmt):
            parts.append(f"sep={self.delimiter!r}")
        if self.decimal != ".":
            parts.append(f"dec={self.decimal!r}")
        if not self.utf8:
            parts.append(f"enc={_codec(self.encoding)}")
        if self.quotechar != '"':
            parts.append(f"quote={self.quotechar!r}")
        return ";".join([fmt, *parts])

    def pandas_options(self, fmt: str) -> dict[str, Any]:
        """The `pandas.read_csv` arguments that read the file as mlops reads it."""
        return {
            "sep": self.separator(fmt),
            "decimal": self.decimal,
            "encoding": self.encoding,
            "quotechar": self.quotechar,
        }


def _codec(encoding: str) -> str:
    try:
        return codecs.lookup(encoding).name
    except LookupError:  # the reader says so, naming the file
        return encoding.lower()


def sniff_delimiter(sample: str, fallback: str) -> str:
    """The delimiter of a CSV sample (its first lines), among the likely ones: the one that
    splits every line into the same number (> 1) of fields, the most fields winning; else
    `fallback`."""
    lines = [line for line in sample.splitlines()[:50] if line.strip()]
    if len(lines) > 1 and not sample.endswith(("\n", "\r")):
        lines = lines[:-1]  # the sample may end mid-line
    if not lines:
        return fallback
    best, best_fields = fallback, 1
    try:
        sniffed = csv.Sniffer().sniff("\n".join(lines), delimiters="".join(LIKELY_DELIMITERS))
        candidates = [sniffed.delimiter, *LIKELY_DELIMITERS]
    except csv.Error:
        candidates = list(LIKELY_DELIMITERS)
    for delimiter in dict.fromkeys(candidates):
        counts = {len(row) for row in csv.reader(lines, delimiter=delimiter)}
        fields = counts.pop() if len(counts) == 1 else 0
        if fields > best_fields:
            best, best_fields = delimiter, fields
    return best


_DECIMAL_COMMA = re.compile(r"^-?\d+,\d+$")
_DECIMAL_POINT = re.compile(r"^-?\d+\.\d+$")


def sniff_decimal(sample: str, delimiter: str) -> str:
    """`,` when the sample's numbers are written `2,5` (and none `2.5`), else `.`; a file
    separated by commas has no decimal commas outside quotes, and quoted ones stay text."""
    if delimiter == ",":
        return "."
    lines = [line for line in sample.splitlines()[1:50] if line.strip()]
    fields = [f.strip() for row in csv.reader(lines, delimiter=delimiter) for f in row]
    commas = any(_DECIMAL_COMMA.match(f) for f in fields)
    points = any(_DECIMAL_POINT.match(f) for f in fields)
    return "," if commas and not points else "."


def other_delimiter(name: str, used: str) -> str | None:
    """A likely delimiter other than `used` in a lone column's name (`a;b;c`), or None."""
    for delimiter in LIKELY_DELIMITERS:
        if delimiter != used and delimiter in name:
            return delimiter
    return None


def shown(delimiter: str) -> str:
    return "\\t" if delimiter == "\t" else delimiter


def sample_text(data: bytes, encoding: str) -> str:
    """The start of a file as text, a partial character at the end dropped."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    return codecs.getincrementaldecoder(encoding)(errors="replace").decode(data[:_SAMPLE_BYTES])
