"""validation/readers.py: the Parquet footer read without pyarrow agrees with pyarrow's."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_cli.common.errors import InputError
from mlops_cli.validation.readers import ParquetLayout, _pyarrow_layout, parquet_layout


def _frames() -> dict[str, object]:
    import polars as pl

    return {
        "plain": pl.DataFrame({"a": [1, 2, None], "b": ["x", None, "z"]}),
        "nested": pl.DataFrame(
            {
                "list": [[1, 2], [3]],
                "struct": [{"x": 1, "y": "q"}, {"x": 2, "y": None}],
                "float": [1.5, float("nan")],
                "time": pl.Series([1, 2]).cast(pl.Datetime("ms")),
                "flag": [True, False],
            }
        ),
        "empty": pl.DataFrame({"a": pl.Series([], dtype=pl.Int64)}),
        "many": pl.DataFrame({"a": range(20_000), "b": [f"v{i % 7}" for i in range(20_000)]}),
    }


@pytest.mark.parametrize("name", ["plain", "nested", "empty", "many"])
@pytest.mark.parametrize(
    "writer",
    [
        {"lib": "polars"},
        {"lib": "polars", "row_group_size": 1000, "compression": "zstd"},
        {"lib": "polars", "statistics": False},
        {"lib": "pyarrow", "row_group_size": 777},
    ],
    ids=["polars", "row-groups", "no-statistics", "pyarrow"],
)
def test_layout_is_pyarrows(tmp_path: Path, name: str, writer: dict[str, object]) -> None:
    import pyarrow.parquet as pq

    frame = _frames()[name]
    path = tmp_path / f"{name}.parquet"
    options = {k: v for k, v in writer.items() if k != "lib"}
    if writer["lib"] == "pyarrow":
        pq.write_table(frame.to_arrow(), path, **options)  # type: ignore[attr-defined]
    else:
        frame.write_parquet(path, **options)  # type: ignore[attr-defined]
    layout = parquet_layout(path, source="data/x.parquet")
    assert layout == _pyarrow_layout(path, "data/x.parquet")
    assert isinstance(layout, ParquetLayout)
    assert layout.rows == frame.height  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "content",
    [b"", b"PAR1", b"PAR1" + b"\x00" * 8 + b"PAR1", b"id,age\n1,2\n" * 20, b"x" * 40 + b"PAR1"],
    ids=["empty", "magic-only", "no-footer", "csv", "garbage-footer"],
)
def test_not_parquet(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "c.parquet"
    path.write_bytes(content)
    with pytest.raises(InputError, match=r"^data/c\.parquet: not a Parquet file \("):
        parquet_layout(path, source="data/c.parquet")


def test_a_footer_of_deeply_nested_structs_is_left_to_pyarrow(tmp_path: Path) -> None:
    """A crafted footer nesting Thrift structs thousands deep must not crash the reader
    (RecursionError): the walk gives up, and pyarrow's reading decides (exit 3 here)."""
    from mlops_cli.validation.readers import _footer_sizes

    # field 1 of type struct (0x1C), 5000 times, then the stops.
    footer = b"\x1c" * 5000 + b"\x00" * 5001
    path = tmp_path / "deep.parquet"
    path.write_bytes(b"PAR1" + footer + len(footer).to_bytes(4, "little") + b"PAR1")
    with pytest.raises(RecursionError):
        _footer_sizes(path)
    with pytest.raises(InputError):
        parquet_layout(path, source="deep.parquet")


@pytest.mark.parametrize(
    ("sample", "expected"),
    [
        ("a,b,c\n1,2,3\n4,5,6\n", ","),
        ("a;b;c\n1;2,5;3\n4;5,5;6\n", ";"),  # commas inside fields: decimal marks
        ("a\tb\n1\t2\n", "\t"),
        ("a|b|c\n1|2|3\n", "|"),
        ('name,remark\n"Smith; John","a; b"\n"Doe; Jane","c; d"\n', ","),  # quoted ;
        ("single\n1\n2\n", ","),  # one column: the fallback
        ("a;b;c\n1;2;3\n4;5", ";"),  # a sample cut mid-line
    ],
)
def test_sniff_delimiter(sample: str, expected: str) -> None:
    from mlops_cli.validation.csvdialect import sniff_delimiter

    assert sniff_delimiter(sample, ",") == expected


def test_sniff_decimal() -> None:
    from mlops_cli.validation.csvdialect import sniff_decimal

    assert sniff_decimal("a;b\n1;2,5\n", ";") == ","
    assert sniff_decimal("a;b\n1;2.5\n2;3,5\n", ";") == "."  # both: not a decimal comma
    assert sniff_decimal("a,b\n1,2\n", ",") == "."
