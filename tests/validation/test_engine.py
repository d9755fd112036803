"""validation/engine.py: pandera over a file chunk by chunk, failures merged into one report
whose order, counts and examples do not depend on the chunking or the engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_cli.common.errors import InputError
from mlops_cli.common.progress import NullReporter
from mlops_cli.validation.engine import Failures, Outcome, name_columns, run
from mlops_cli.validation.report import Failure
from mlops_cli.validation.schemafile import load_schema
from tests.valdata import SCHEMA, rows, write_csv, write_parquet, write_schema


def broken_rows(n: int = 400) -> list[list[str]]:
    data = rows(n)
    data[5][1] = "130"  # age out of range
    data[17][3] = "d"  # segment not in the set
    data[250][1] = "old"  # age not an integer
    data[300][0] = data[10][0]  # a duplicate id, far apart
    data[333][4] = ""  # score is not nullable
    return data


def validate(path: Path, schema: Path, *, chunk_bytes: int, engine: str = "auto") -> Outcome:
    spec = load_schema(schema, source="s.yaml")
    return run(path, path.suffix.lstrip("."), spec, engine=engine, chunk_bytes=chunk_bytes,
               max_examples=3, reporter=NullReporter(), source=path.name)  # fmt: skip


EXPECTED = [
    ("field_uniqueness", "id", 2, [(10, "10"), (300, "10")]),
    ("dtype('int64')", "age", 1, [(250, "old")]),
    ("in_range(0, 120)", "age", 1, [(5, "130")]),
    ("isin(['a', 'b', 'c'])", "segment", 1, [(17, "d")]),
    ("not_nullable", "score", 1, [(333, "null")]),
]


@pytest.mark.parametrize("chunk_bytes", [1 << 30, 2000, 700], ids=["whole", "chunks", "small"])
def test_a_csv_in_chunks_gives_the_report_of_the_whole_file(
    tmp_path: Path, chunk_bytes: int
) -> None:
    data = write_csv(tmp_path / "c.csv", broken_rows())
    outcome = validate(data, write_schema(tmp_path / "s.yaml"), chunk_bytes=chunk_bytes)
    assert outcome.rows == 400 and outcome.engine == "polars"
    got = [(f.check, f.column, f.failing_rows, f.examples) for f in outcome.failures]
    # By column in the schema's order (id's uniqueness first), then within a column the
    # structure (dtype) before nulls before the checks.
    assert got == EXPECTED


@pytest.mark.parametrize("engine", ["polars", "pandas"])
def test_parquet_on_both_engines(tmp_path: Path, engine: str) -> None:
    data = rows(300)
    data[7][1] = "200"
    data[8][0] = data[9][0]
    path = write_parquet(tmp_path / "p.parquet", data, row_group_size=50)
    outcome = validate(path, write_schema(tmp_path / "s.yaml"), chunk_bytes=3000, engine=engine)
    assert outcome.engine == engine and outcome.rows == 300
    got = {(f.check, f.column): (f.failing_rows, f.examples) for f in outcome.failures}
    assert got == {
        ("in_range(0, 120)", "age"): (1, [(7, "200")]),
        ("field_uniqueness", "id"): (2, [(8, "9"), (9, "9")]),
    }


def test_a_missing_and_an_extra_column_are_named(tmp_path: Path) -> None:
    data = [[*r[:3], r[4]] for r in rows(20)]
    path = write_csv(tmp_path / "c.csv", data, header=["id", "age", "income", "scor"])
    outcome = validate(path, write_schema(tmp_path / "s.yaml"), chunk_bytes=1 << 30)
    messages = {f.column: f.message for f in outcome.failures if f.message}
    assert messages == {
        "segment": "column 'segment' is missing from the data",
        "score": "column 'score' is missing from the data; did you mean 'scor' (in the data)?",
        "scor": "column 'scor' is in the data but not in the schema (renamed from 'score'?)",
    }


def test_a_csv_with_another_delimiter_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("id;age;income;segment;score\n1;30;10.0;a;0.5\n")
    with pytest.raises(InputError, match=r"looks separated by ';', not ','"):
        validate(path, write_schema(tmp_path / "s.yaml"), chunk_bytes=1 << 30)


def test_json_lines_types_are_checked_value_by_value(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text(
        '{"id": 1, "age": 30, "income": 5, "segment": "a", "score": 0.5}\n'
        '{"id": 2, "age": "x", "income": null, "segment": "b", "score": 1}\n'
    )
    outcome = validate(path, write_schema(tmp_path / "s.yaml", SCHEMA), chunk_bytes=1 << 30)
    assert outcome.rows == 2
    assert [(f.check, f.column, f.examples) for f in outcome.failures] == [
        ("dtype('int64')", "age", [(1, "x")])
    ]


def test_failures_merge_across_chunks_in_one_order() -> None:
    failures = Failures(max_examples=2, columns=["a", "b"])
    failures.add("field_uniqueness", "a", 2, [(9, "1"), (3, "1")])
    failures.add("in_range(0, 1)", "b", 1, [(5, "7")], check_number=1)
    failures.add("not_nullable", "b", 1, [(6, "null")])
    failures.add("greater_than(0)", "b", 1, [(2, "-1")], check_number=0)
    failures.add("in_range(0, 1)", "b", 2, [(8, "9"), (5, "7"), (11, "4")], check_number=1)
    failures.add("dtype('int64')", "b", 1, [(1, "x")])
    failures.add("column_in_schema", None, 0, [])
    got = [(f.check, f.column, f.failing_rows, f.examples) for f in failures.items()]
    assert got == [
        ("column_in_schema", None, 0, []),  # the table as a whole first
        ("field_uniqueness", "a", 2, [(9, "1"), (3, "1")]),  # column a before column b
        ("dtype('int64')", "b", 1, [(1, "x")]),  # structure, nulls, checks in their order
        ("not_nullable", "b", 1, [(6, "null")]),
        ("greater_than(0)", "b", 1, [(2, "-1")]),
        ("in_range(0, 1)", "b", 3, [(5, "7"), (8, "9")]),  # counts add, examples capped
    ]


def test_name_columns_leaves_other_failures_alone() -> None:
    failures = [Failure("in_range(0, 1)", "x", 1), Failure("column_in_dataframe", "zzz", 0)]
    name_columns(failures, ["x", "y"])
    assert failures[0].message is None
    assert failures[1].message == "column 'zzz' is missing from the data"
