"""validation/coltypes.py: CSV columns parsed as their schema dtype, values that do not parse
reported by row (pandera's dtype check name) and left out of the other checks."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest

from mlops_cli.validation.coltypes import arrow_type, parse_text
from mlops_cli.validation.engine import Failures
from mlops_cli.validation.schemafile import load_schema

SCHEMA = """\
schema_type: dataframe
columns:
  n: {dtype: int64}
  x: {dtype: float64}
  ok: {dtype: bool}
  day: {dtype: date}
  kind: {dtype: category}
  note: {dtype: str}
"""


@pytest.fixture
def spec(tmp_path: Path) -> object:
    path = tmp_path / "s.yaml"
    path.write_text(SCHEMA)
    return load_schema(path)


def text_frame() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "n": ["1", " 2 ", "three", "4"],
            "x": ["1.5", "high", "", "2"],
            "ok": ["true", "FALSE", "1", "maybe"],
            "day": ["2024-01-02", "2024-02-30", "2024-03-04", "2024-05-06"],
            "kind": ["a", "b", "a", "c"],
            "note": ["x", None, "y", "z"],
        }
    ).with_columns(pl.col("x").replace("", None))


def test_values_that_do_not_parse_are_failures_by_row(spec: object) -> None:
    failures = Failures(max_examples=5, columns=["n", "x", "ok", "day", "kind", "note"])
    frame, row_map = parse_text(
        text_frame(),
        spec,
        {"n", "x", "ok", "day"},
        100,
        failures,  # type: ignore[arg-type]
    )
    found = {(f.check, f.column): (f.failing_rows, f.examples) for f in failures.items()}
    assert found == {
        ("dtype('int64')", "n"): (1, [(102, "three")]),
        ("dtype('float64')", "x"): (1, [(101, "high")]),  # a null is not a parse failure
        ("dtype('bool')", "ok"): (1, [(103, "maybe")]),
        ("dtype('date')", "day"): (1, [(101, "2024-02-30")]),
    }
    # Rows 101-103 failed to parse: only row 100 goes on to the other checks, by its number.
    assert row_map is not None and row_map.tolist() == [100]
    assert frame.height == 1
    assert frame.schema["n"] == pl.Int64 and frame.schema["x"] == pl.Float64
    assert frame.schema["ok"] == pl.Boolean and frame.schema["day"] == pl.Date
    assert frame.schema["kind"] == pl.Categorical  # cast whether read as text or not
    assert frame.row(0) == (1, 1.5, True, dt.date(2024, 1, 2), "a", "x")


def test_a_clean_parse_keeps_every_row(spec: object) -> None:
    failures = Failures(max_examples=5)
    frame = pl.DataFrame({"n": ["1", "2"], "x": ["1,5", "-2,25"]})
    parsed, row_map = parse_text(
        frame,
        spec,
        {"n", "x"},
        0,
        failures,
        decimal=",",  # type: ignore[arg-type]
    )
    assert row_map is None and failures.items() == []
    assert parsed.get_column("x").to_list() == [1.5, -2.25]


def test_no_text_columns_changes_nothing_but_categories(spec: object) -> None:
    frame = pl.DataFrame({"kind": ["a"], "other": ["z"]})
    parsed, row_map = parse_text(frame, spec, set(), 0, Failures(5))  # type: ignore[arg-type]
    assert row_map is None
    assert dict(parsed.schema) == {"kind": pl.Categorical, "other": pl.String}


@pytest.mark.parametrize(
    ("name", "arrow"),
    [
        ("Int8", pa.int8()),
        ("UInt64", pa.uint64()),
        ("Float32", pa.float32()),
        ("Boolean", pa.bool_()),
        ("Categorical", pa.string()),
        ("Date", pa.date32()),
        ("Datetime(time_unit='ms', time_zone='UTC')", pa.timestamp("ms", "UTC")),
        ("Datetime(time_unit='us', time_zone=None)", pa.timestamp("us")),
        ("Duration(time_unit='ns')", None),
        (None, None),
    ],
)
def test_how_pyarrow_parses_a_column(name: str | None, arrow: pa.DataType | None) -> None:
    assert arrow_type(name) == arrow
