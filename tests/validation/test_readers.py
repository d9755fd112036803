"""validation/readers.py: CSV, Parquet and JSON read into polars frames, whole or in
chunks; every problem with the file itself an InputError naming the file and the line."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest

from mlops_cli.common.errors import InputError
from mlops_cli.validation.csvdialect import CsvDialect
from mlops_cli.validation.parquetmeta import parquet_layout
from mlops_cli.validation.readers import (
    ConversionError,
    file_format,
    iter_csv,
    iter_parquet,
    locate_not_utf8,
    read_header,
    read_json,
)


@pytest.mark.parametrize(
    ("name", "fmt"),
    [("a.csv", "csv"), ("A.TSV", "tsv"), ("a.pq", "parquet"), ("a.parquet", "parquet"),
     ("a.json", "json"), ("a.ndjson", "jsonl"), ("a.jsonl", "jsonl")],
)  # fmt: skip
def test_file_format(name: str, fmt: str) -> None:
    assert file_format(Path(name)) == fmt


def test_an_unknown_format_is_input_error() -> None:
    with pytest.raises(InputError, match=r"cannot validate a '\.xlsx' file"):
        file_format(Path("data/a.xlsx"))


def csv_file(tmp_path: Path, text: str | bytes, name: str = "c.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def test_the_header(tmp_path: Path) -> None:
    path = csv_file(tmp_path, "\ufeff id , ,name\n1,2,x\n")
    layout = read_header(path, delimiter=",", source="c.csv")
    assert layout.columns == ["id", "Unnamed: 1", "name"]  # BOM and blanks as pandas has them
    semi = csv_file(tmp_path, "a;b\n1,5;2\n", "s.csv")
    dialect = CsvDialect(delimiter=";", decimal=",")
    assert read_header(semi, delimiter=";", source="s", dialect=dialect).decimal == ","


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", r"^c\.csv: the file is empty$"),
        ("  \n\n", r"^c\.csv: the file is empty$"),
        ("a,b\n", r"^c\.csv: has a header line but no data rows$"),
        ("a,b\n,\n", r"^c\.csv: has a header line but no data rows$"),
        ("a,a\n1,2\n", r"^c\.csv:1: column 'a' appears twice in the header$"),
        (",\n1,2\n", r"^c\.csv:1: the header line has no column names$"),
        (b"a,\xff\n1,2\n", r"^c\.csv:1: not UTF-8 text \(invalid byte 0xff at byte offset 2\)$"),
    ],
)
def test_a_file_that_is_not_a_data_set(tmp_path: Path, text: str | bytes, message: str) -> None:
    with pytest.raises(InputError) as info:
        read_header(csv_file(tmp_path, text), delimiter=",", source="c.csv")
    assert re.search(message, info.value.message), info.value.message


def test_an_unknown_encoding(tmp_path: Path) -> None:
    path = csv_file(tmp_path, "a\n1\n")
    with pytest.raises(InputError, match="unknown encoding 'klingon'"):
        read_header(path, delimiter=",", source="c", dialect=CsvDialect(encoding="klingon"))


def frames(path: Path, types: dict[str, pa.DataType], chunk_bytes: int) -> list[pl.DataFrame]:
    layout = read_header(path, delimiter=",", source=path.name)
    return list(iter_csv(path, layout, layout.columns, types, chunk_bytes=chunk_bytes,
                         source=path.name))  # fmt: skip


def test_a_csv_in_chunks_is_the_whole_file(tmp_path: Path) -> None:
    text = "id,name,score\n" + "".join(f'{i},"n, {i}",{i / 4}\n' for i in range(3000))
    path = csv_file(tmp_path, text)
    types = {"id": pa.int64(), "score": pa.float64()}
    whole = frames(path, types, 1 << 30)
    parts = frames(path, types, 4096)
    assert len(whole) == 1 and len(parts) > 1
    assert pl.concat(parts).equals(whole[0])
    assert whole[0].height == 3000
    assert whole[0].schema == pl.Schema({"id": pl.Int64, "name": pl.String, "score": pl.Float64})
    assert whole[0].row(7) == (7, "n, 7", 1.75)
    nulls = csv_file(tmp_path, "a,b\nNA,1\nNone,2\n<NA>,3\n", "n.csv")
    assert frames(nulls, {}, 1 << 30)[0].get_column("a").null_count() == 3  # pandas' NA strings


def test_a_ragged_row_names_its_line(tmp_path: Path) -> None:
    path = csv_file(tmp_path, "a,b,c\n1,2,3\n4,5\n6,7,8\n")
    with pytest.raises(InputError, match=r"^c\.csv:3: row has 2 field\(s\) where the header has 3"):
        frames(path, {}, 1 << 30)


def test_a_value_of_another_type_is_a_conversion_of_its_column(tmp_path: Path) -> None:
    path = csv_file(tmp_path, "a,b\n1,2\n3,high\n")
    with pytest.raises(ConversionError) as info:
        frames(path, {"a": pa.int64(), "b": pa.float64()}, 1 << 30)
    assert info.value.column == "b"  # the caller re-reads it as text


def test_a_byte_that_is_not_utf8_is_found_by_line(tmp_path: Path) -> None:
    """The scanner (validation/cache.py) finds the offset; this names its line."""
    path = csv_file(tmp_path, b"a,b\n1,x\n2,\xe9t\xe9\n")
    error = locate_not_utf8(path, 12, "c.csv")
    assert str(error).startswith("c.csv:3: not UTF-8 text (invalid byte 0xe9 at byte offset 12)")


def test_parquet_whole_and_by_row_groups(tmp_path: Path) -> None:
    frame = pl.DataFrame({"a": range(5000), "b": [f"v{i}" for i in range(5000)]})
    path = tmp_path / "p.parquet"
    frame.write_parquet(path, row_group_size=500)
    layout = parquet_layout(path, source="p")
    whole = list(iter_parquet(path, layout, ["b"], chunk_bytes=1 << 30, source="p"))
    parts = list(iter_parquet(path, layout, ["a", "b"], chunk_bytes=layout.bytes // 4,
                              source="p"))  # fmt: skip
    assert len(whole) == 1 and whole[0].columns == ["b"]
    assert len(parts) > 1 and pl.concat(parts).equals(frame)


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("d.json", "[]", r"^d\.json: holds no records$"),
        ("d.json", "{not json", r"^d\.json: not a JSON array of objects \("),
        ("d.jsonl", '{"a": 1}\n{oops\n', r"^d\.jsonl: not JSON Lines \("),
    ],
)
def test_json_that_is_not_a_data_set(tmp_path: Path, name: str, text: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(InputError) as info:
        read_json(path, file_format(path), source=name)
    assert re.search(message, info.value.message), info.value.message


def test_json_and_json_lines(tmp_path: Path) -> None:
    array = tmp_path / "d.json"
    array.write_text('[{"a": 1, "b": "x"}, {"a": 2, "b": null}]')
    lines = tmp_path / "d.jsonl"
    lines.write_text('{"a": 1, "b": "x"}\n{"a": 2, "b": null}\n')
    assert read_json(array, "json", source="d").equals(read_json(lines, "jsonl", source="d"))
    assert read_json(array, "json", source="d").to_dicts() == [
        {"a": 1, "b": "x"},
        {"a": 2, "b": None},
    ]
