"""core/schema_infer.py: readable pandera YAML that pandera reads and the data passes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from mlops_cli.core.errors import ConflictError, InputError
from mlops_cli.core.schema_infer import _bounds, infer_schema
from mlops_cli.core.validation import validate_file
from tests.core.valdata import rows, write_csv, write_parquet


def inferred(tmp_path: Path, data: Path) -> tuple[Path, dict[str, object]]:
    out = tmp_path / "schemas" / "c.yaml"
    infer_schema(data, out, root=tmp_path)
    return out, yaml.safe_load(out.read_text())


def test_pandera_reads_it_and_the_data_passes(tmp_path: Path) -> None:
    from pandera.io import pandas_io

    data = write_csv(tmp_path / "data" / "c.csv", rows(300))
    out, _ = inferred(tmp_path, data)
    schema = pandas_io.from_yaml(out)
    assert list(schema.columns) == ["id", "age", "income", "segment", "score"]
    for engine in ("polars", "pandas"):
        report = validate_file(data, out, root=tmp_path, use_cache=False, engine=engine)
        assert report.passed, report.failures


def test_it_is_readable(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "data" / "c.csv", rows(300))
    out, doc = inferred(tmp_path, data)
    columns = doc["columns"]
    assert isinstance(columns, dict)
    assert columns["id"] == {
        "dtype": "int64",
        "nullable": False,
        "unique": True,  # an id-like name whose values are all distinct
        "checks": {"in_range": {"min_value": 0, "max_value": 330}},
    }
    assert columns["age"]["checks"] == {"in_range": {"min_value": 10, "max_value": 98}}
    assert columns["income"]["nullable"] is True  # some rows have no income
    assert columns["income"]["checks"]["in_range"]["min_value"] == 0  # non-negative stays so
    assert columns["segment"] == {
        "dtype": "str",
        "nullable": False,
        "checks": {"isin": ["a", "b", "c"]},
    }
    text = out.read_text()
    assert text.startswith("# pandera schema inferred by `mlops schema infer`")
    assert "      in_range: {min_value: 10, max_value: 98}\n" in text  # flow style, one line
    numbers = re.findall(r"-?\d+\.\d+", text)
    assert numbers and all(len(n.split(".")[1]) <= 3 for n in numbers), numbers  # no float noise
    assert doc["strict"] is True and doc["schema_type"] == "dataframe"


def test_integers_with_nulls_are_nullable_int64(tmp_path: Path) -> None:
    data = [[str(i), "" if i % 5 == 0 else str(i % 97), "1.0", "a", "0.5"] for i in range(100)]
    _, doc = inferred(tmp_path, write_csv(tmp_path / "data" / "c.csv", data))
    assert doc["columns"]["age"]["dtype"] == "Int64"  # type: ignore[index]
    assert doc["columns"]["age"]["nullable"] is True  # type: ignore[index]


def test_parquet_and_chunks_infer_the_same(tmp_path: Path) -> None:
    data = rows(4000)
    csv_path = write_csv(tmp_path / "data" / "c.csv", data)
    parquet = write_parquet(tmp_path / "data" / "c.parquet", data)
    whole = infer_schema(csv_path, tmp_path / "a.yaml")
    chunked = infer_schema(csv_path, tmp_path / "b.yaml", chunk_bytes=16 * 1024)
    from_parquet = infer_schema(parquet, tmp_path / "c.yaml")
    assert [c.checks for c in whole.columns] == [c.checks for c in chunked.columns]
    assert [c.checks for c in whole.columns] == [c.checks for c in from_parquet.columns]
    assert whole.rows == chunked.rows == from_parquet.rows == 4000


def test_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "data" / "c.csv", rows(20))
    out = tmp_path / "schemas" / "c.yaml"
    out.parent.mkdir()
    out.write_text("mine\n")
    with pytest.raises(ConflictError, match=r"schemas/c\.yaml exists"):
        infer_schema(data, out, root=tmp_path)
    assert out.read_text() == "mine\n"
    infer_schema(data, out, root=tmp_path, force=True)
    assert out.read_text().startswith("# pandera schema")


def test_bad_input_is_an_input_error(tmp_path: Path) -> None:
    empty = tmp_path / "e.csv"
    empty.write_text("")
    with pytest.raises(InputError, match="the file is empty"):
        infer_schema(empty, tmp_path / "x.yaml")
    with pytest.raises(InputError, match="no such file"):
        infer_schema(tmp_path / "missing.csv", tmp_path / "x.yaml")
    assert not (tmp_path / "x.yaml").exists()


@pytest.mark.parametrize(
    ("lo", "hi", "integer", "expected"),
    [
        (4.3, 7.9, False, (3.9, 8.3)),
        (0.0, 1.0, False, (0.0, 1.1)),
        (18, 89, True, (10, 97)),
        (-5.5, -1.2, False, (-6.0, -0.7)),
        (3.0, 3.0, False, (2.7, 3.3)),  # a constant: 10% of its value
    ],
)
def test_bounds_are_widened_and_round(
    lo: float, hi: float, integer: bool, expected: tuple[float, float]
) -> None:
    assert _bounds(lo, hi, integer=integer) == expected
