"""validation/infer.py: readable pandera YAML that pandera reads and the data passes."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlops_cli.common.errors import ConflictError, InputError
from mlops_cli.validation.csvdialect import CsvDialect
from mlops_cli.validation.infer import _bounds, infer_schema
from mlops_cli.validation.validate import validate_file
from tests.valdata import rows, write_csv, write_parquet


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


def test_dates_in_common_formats_are_checked(tmp_path: Path) -> None:
    header = ["iso", "slash", "us", "eu", "stamp"]
    data = [
        [f"2012-{m:02d}-{d:02d}", f"2012/{m:02d}/{d:02d}", f"{m:02d}/{d:02d}/2012",
         f"{d:02d}.{m:02d}.2012", f"2012/{m:02d}/{d:02d} 10:{d:02d}"]
        for m, d in ((1 + i % 12, 1 + i % 28) for i in range(40))
    ]  # fmt: skip
    path = write_csv(tmp_path / "data" / "d.csv", data, header=header)
    out, doc = inferred(tmp_path, path)
    columns: Any = doc["columns"]
    assert columns["iso"]["dtype"] == "date" and columns["iso"]["coerce"] is True
    assert columns["slash"]["description"] == "a date in the format %Y/%m/%d (inferred)"
    assert columns["us"]["description"] == "a date in the format %m/%d/%Y (inferred)"
    assert columns["eu"]["description"] == "a date in the format %d.%m.%Y (inferred)"
    assert columns["stamp"]["description"] == "a date in the format %Y/%m/%d %H:%M (inferred)"
    assert validate_file(path, out, root=tmp_path, use_cache=False).passed
    bad = [*data, ["2012-01-01", "2012/13/45", "13/01/2012", "32.01.2012", "2012/01/01 25:00"]]
    report = validate_file(
        write_csv(tmp_path / "data" / "bad.csv", bad, header=header), out, root=tmp_path,
        use_cache=False,
    )  # fmt: skip
    failed = {(f.column, f.check.partition("(")[0], f.examples[0]) for f in report.failures}
    assert failed == {
        ("slash", "str_matches", (40, "2012/13/45")),
        ("us", "str_matches", (40, "13/01/2012")),
        ("eu", "str_matches", (40, "32.01.2012")),
        ("stamp", "str_matches", (40, "2012/01/01 25:00")),
    }


def test_checks_leave_room_for_new_data(tmp_path: Path) -> None:
    header = ["year", "count", "rating", "note", "city"]
    notes = ["a long free text remark about this row", "ok then", "fine by me now"]
    data = [
        [str(2007 + i % 3), str([3, 40, 120, 7][i % 4]), str(1 + i % 5), notes[i % 3],
         ["Oslo", "Lima"][i % 2]]
        for i in range(60)
    ]  # fmt: skip
    path = write_csv(tmp_path / "data" / "r.csv", data, header=header)
    out, doc = inferred(tmp_path, path)
    columns: Any = doc["columns"]
    assert columns["year"]["checks"] == {"in_range": {"min_value": 1990, "max_value": 2020}}
    assert "in_range" in columns["count"]["checks"]  # repeating counts are not codes
    assert columns["rating"]["checks"] == {"isin": [1, 2, 3, 4, 5]}  # codes are
    assert "checks" not in columns["note"]  # free text: no isin, no length
    assert columns["city"]["checks"] == {"isin": ["Lima", "Oslo"]}
    text = out.read_text()
    assert "# from 60 rows of data/r.csv (CSV, delimiter ',')." in text


def test_a_semicolon_export_is_sniffed_and_a_wrong_delimiter_refused(tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    path.write_text("id;amount;label\n" + "".join(f"{i};{i},5;x{i % 2}\n" for i in range(30)))
    result = infer_schema(path, tmp_path / "e.yaml")
    assert result.delimiter == ";"
    assert [c.name for c in result.columns] == ["id", "amount", "label"]
    assert result.columns[1].dtype == "float64"  # the decimal comma, sniffed too
    assert "delimiter: ';'" in result.notes[0] and "decimal: ','" in result.notes[0]
    with pytest.raises(InputError, match=r"read as one column named 'id;amount;label'") as err:
        infer_schema(path, tmp_path / "f.yaml", dialect=CsvDialect(delimiter=","))
    assert err.value.hint is not None and "--delimiter ';'" in err.value.hint
    assert not (tmp_path / "f.yaml").exists()


def test_latin1_with_its_encoding(tmp_path: Path) -> None:
    path = tmp_path / "l.csv"
    path.write_bytes("id,name\n1,Müller\n2,Gómez\n3,Sørensen\n".encode("latin-1"))
    with pytest.raises(InputError, match="not UTF-8"):
        infer_schema(path, tmp_path / "x.yaml")
    latin = CsvDialect(encoding="latin-1")
    out = tmp_path / "l.yaml"
    infer_schema(path, out, dialect=latin)
    assert "(CSV, delimiter ',', encoding latin-1)." in out.read_text()
    assert validate_file(path, out, root=tmp_path, use_cache=False, dialect=latin).passed
