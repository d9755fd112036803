"""validation/validate.py on real files with real pandera: verdicts, failures, chunks, cache."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlops_cli.common.errors import ConfigError, InputError
from mlops_cli.validation import cache as valcache
from mlops_cli.validation.report import Failure
from mlops_cli.validation.validate import validate_file
from tests.valdata import (
    HEADER,
    SCHEMA,
    backdate,
    rows,
    write_csv,
    write_parquet,
    write_schema,
)


@pytest.fixture
def schema(tmp_path: Path) -> Path:
    return write_schema(tmp_path / "schemas" / "customers.yaml")


def check(path: Path, schema: Path, **kw: object):  # type: ignore[no-untyped-def]
    kw.setdefault("use_cache", False)
    return validate_file(path, schema, root=path.parent.parent, **kw)  # type: ignore[arg-type]


def summary(failures: list[Failure]) -> list[tuple[str, str | None, int]]:
    return [(f.check, f.column, f.failing_rows) for f in failures]


def broken_rows() -> list[list[str]]:
    data = rows(40)
    data[3][1] = "130"  # age out of range
    data[8][1] = "-1"  # and again
    data[5][2] = "-20.5"  # negative income
    data[6][3] = "z"  # unknown segment
    data[7][4] = ""  # null score: not nullable
    data[20][0] = "4"  # duplicate id (4 is row 4's)
    return data


# -- verdicts and failure reports ------------------------------------------------------------


def test_good_csv_passes(tmp_path: Path, schema: Path) -> None:
    report = check(write_csv(tmp_path / "data" / "c.csv", rows(200)), schema)
    assert report.passed
    assert report.rows == 200
    assert report.failures == []
    assert (report.path, report.schema, report.engine) == (
        "data/c.csv",
        "schemas/customers.yaml",
        "polars",
    )


def test_every_failure_is_collected_with_rows(tmp_path: Path, schema: Path) -> None:
    report = check(write_csv(tmp_path / "data" / "c.csv", broken_rows()), schema)
    assert not report.passed
    # In the schema's column order, whatever order pandera or the chunks found them in.
    assert summary(report.failures) == [
        ("field_uniqueness", "id", 2),
        ("in_range(0, 120)", "age", 2),
        ("greater_than_or_equal_to(0)", "income", 1),
        ("isin(['a', 'b', 'c'])", "segment", 1),
        ("not_nullable", "score", 1),
    ]
    by_check = {f.check: f for f in report.failures}
    assert by_check["in_range(0, 120)"].examples == [(3, "130"), (8, "-1")]
    assert by_check["field_uniqueness"].examples == [(4, "4"), (20, "4")]
    assert by_check["not_nullable"].examples == [(7, "null")]


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda d, h: (d, h), id="good"),
        pytest.param(lambda d, h: (broken_rows(), h), id="broken-values"),
        pytest.param(lambda d, h: ([r[:4] for r in d], h[:4]), id="missing-column"),
        pytest.param(lambda d, h: ([[*r, "x"] for r in d], [*h, "extra"]), id="extra-column"),
        pytest.param(
            lambda d, h: (
                [[r[0], r[1], "n/a?" if i == 2 else r[2], *r[3:]] for i, r in enumerate(d)],
                h,
            ),
            id="unparsable-float",
        ),
        pytest.param(lambda d, h: ([[r[0], "", *r[2:]] for r in d], h), id="int-with-nulls"),
    ],
)
def test_polars_and_pandas_give_the_same_verdict(tmp_path: Path, schema: Path, mutate) -> None:  # type: ignore[no-untyped-def]
    data, header = mutate(rows(40), list(HEADER))
    path = write_csv(tmp_path / "data" / "c.csv", data, header)
    fast = check(path, schema, engine="polars")
    slow = check(path, schema, engine="pandas")
    assert (fast.engine, slow.engine) == ("polars", "pandas")
    assert fast.passed == slow.passed
    assert fast.rows == slow.rows
    # Same columns fail; pandas' dtype names differ from polars' (float64 vs Float64).
    assert {f.column for f in fast.failures} == {f.column for f in slow.failures}


def test_value_that_is_not_the_dtype_is_a_failure_not_an_error(
    tmp_path: Path, schema: Path
) -> None:
    data = rows(30)
    data[12][4] = "high"
    report = check(write_csv(tmp_path / "data" / "c.csv", data), schema)
    assert not report.passed
    assert report.rows == 30
    assert summary(report.failures) == [("dtype('float64')", "score", 1)]
    assert report.failures[0].examples == [(12, "high")]


def test_parquet(tmp_path: Path, schema: Path) -> None:
    good = check(write_parquet(tmp_path / "data" / "c.parquet", rows(100)), schema)
    assert good.passed and good.rows == 100
    bad = check(write_parquet(tmp_path / "data" / "b.parquet", broken_rows()), schema)
    assert summary(bad.failures) == summary(
        check(write_csv(tmp_path / "data" / "b.csv", broken_rows()), schema).failures
    )


def test_parquet_with_the_wrong_dtype(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = write_schema(tmp_path / "s" / "x.yaml", "columns:\n  x: {dtype: float64}\n")
    path = tmp_path / "d" / "x.parquet"
    path.parent.mkdir()
    pq.write_table(pa.table({"x": pa.array([1, 2], pa.int64())}), path)
    report = check(path, schema)
    assert summary(report.failures) == [("dtype('Float64')", "x", 0)]
    assert report.failures[0].examples == [(None, "Int64")]


# -- chunks: a file larger than the memory budget ---------------------------------------------


def test_uniqueness_across_chunks(tmp_path: Path, schema: Path) -> None:
    data = rows(6000)
    data[5900][0] = "10"  # the same id as row 10, several chunks later
    data[5950][0] = "10"
    path = write_csv(tmp_path / "data" / "c.csv", data)
    assert path.stat().st_size > 8 * 16 * 1024  # many chunks of 16 KiB
    chunked = check(path, schema, chunk_bytes=16 * 1024)
    whole = check(path, schema)
    assert summary(chunked.failures) == [("field_uniqueness", "id", 3)]
    assert chunked.failures[0].examples == [(10, "10"), (5900, "10"), (5950, "10")]
    assert chunked.failures == whole.failures
    assert chunked.rows == whole.rows == 6000


def test_chunked_and_whole_agree_on_every_failure(tmp_path: Path, schema: Path) -> None:
    data = rows(5000)
    for i in (1, 2500, 4999):
        data[i][1] = "500"
    data[4000][0] = "7"
    data[3000][4] = "oops"
    path = write_csv(tmp_path / "data" / "c.csv", data)
    chunked = check(path, schema, chunk_bytes=16 * 1024)
    assert chunked.failures == check(path, schema).failures
    assert summary(chunked.failures) == [
        ("field_uniqueness", "id", 2),
        ("in_range(0, 120)", "age", 3),
        ("dtype('float64')", "score", 1),
    ]
    assert chunked.failures[2].examples == [(3000, "oops")]


def test_multi_column_uniqueness_and_report_duplicates_across_chunks(tmp_path: Path) -> None:
    text = SCHEMA.replace(
        "strict: true", "strict: true\nunique: [age, segment]\nreport_duplicates: exclude_first"
    )
    text = text.replace("    unique: true\n", "")
    schema = write_schema(tmp_path / "s" / "c.yaml", text)
    data = [[str(i), str(18 + i % 70), "1.0", "abc"[i // 70 % 3], "0.5"] for i in range(3000)]
    path = write_csv(tmp_path / "data" / "c.csv", data)
    whole = check(path, schema)
    chunked = check(path, schema, chunk_bytes=16 * 1024)
    assert whole.failures == chunked.failures
    # 210 distinct (age, segment) pairs over 3000 rows: all but the first of each repeat.
    assert summary(whole.failures) == [("multiple_fields_uniqueness", None, 3000 - 210)]


def test_parquet_in_chunks(tmp_path: Path, schema: Path) -> None:
    data = rows(5000)
    data[4999][0] = "0"
    path = write_parquet(tmp_path / "data" / "c.parquet", data, row_group_size=500)
    chunked = check(path, schema, chunk_bytes=8 * 1024)
    assert chunked.failures == check(path, schema).failures
    assert chunked.failures[0].examples == [(0, "0"), (4999, "0")]


# -- bad input: exit 3 with where it is -------------------------------------------------------


def test_not_utf8_names_line_and_byte_offset(tmp_path: Path, schema: Path) -> None:
    path = write_csv(tmp_path / "data" / "c.csv", rows(5))
    raw = path.read_bytes()
    offset = raw.index(b"\n", raw.index(b"\n") + 1) + 3  # line 3, third byte
    path.write_bytes(raw[:offset] + b"\xe9" + raw[offset:])
    with pytest.raises(
        InputError,
        match=rf"data/c.csv:3: not UTF-8 text \(invalid byte 0xe9 at byte offset {offset}\)",
    ):
        check(path, schema)


def test_empty_csv(tmp_path: Path, schema: Path) -> None:
    path = tmp_path / "data" / "c.csv"
    path.parent.mkdir()
    path.write_bytes(b"")
    with pytest.raises(InputError, match=r"data/c.csv: the file is empty"):
        check(path, schema)


def test_header_only_csv(tmp_path: Path, schema: Path) -> None:
    path = write_csv(tmp_path / "data" / "c.csv", [])
    with pytest.raises(InputError, match=r"data/c.csv: has a header line but no data rows"):
        check(path, schema)


@pytest.mark.parametrize(("row", "found"), [(["1", "2"], 2), (["1", "2", "3", "a", "0.1", "9"], 6)])
def test_ragged_row_names_its_line(
    tmp_path: Path, schema: Path, row: list[str], found: int
) -> None:
    data = rows(10)
    data.insert(6, row)
    path = write_csv(tmp_path / "data" / "c.csv", data)
    with pytest.raises(
        InputError, match=rf"data/c.csv:8: row has {found} field\(s\) where the header has 5"
    ):
        check(path, schema)


def test_ragged_row_in_a_chunked_read(tmp_path: Path, schema: Path) -> None:
    data = rows(4000)
    data[3500] = data[3500][:3]
    path = write_csv(tmp_path / "data" / "c.csv", data)
    with pytest.raises(InputError, match=r"data/c.csv:3502: row has 3 field"):
        check(path, schema, chunk_bytes=16 * 1024)


def test_missing_data_says_pull(tmp_path: Path, schema: Path) -> None:
    with pytest.raises(InputError, match=r"data/c.csv: no such file") as err:
        check(tmp_path / "data" / "c.csv", schema)
    assert "mlops data pull" in str(err.value)


def test_not_a_csv_or_parquet(tmp_path: Path, schema: Path) -> None:
    path = tmp_path / "data" / "c.parquet"
    path.parent.mkdir()
    path.write_text("id,age\n1,2\n")
    with pytest.raises(InputError, match=r"data/c.parquet: not a Parquet file"):
        check(path, schema)


BAD_SCHEMAS = {
    "misspelt-key": (
        "columns:\n  id:\n    dtype: int64\n    nulable: true\n",
        r"bad.yaml:4:5: unknown key 'nulable' in the column 'id'; did you mean 'nullable'\?",
    ),
    "unknown-check": (
        "columns:\n  id:\n    dtype: int64\n    checks:\n      in_rnage: {min_value: 0}\n",
        r"bad.yaml:5:7: unknown check 'in_rnage'; did you mean 'in_range'\?",
    ),
    "bad-check-args": (
        "columns:\n  a: {dtype: int64}\n  id:\n    checks:\n      in_range: {low: 0}\n",
        r"bad.yaml:3:3: not a valid pandera schema: in_range\(\) missing required",
    ),
    "unknown-dtype": (
        "columns:\n  id: {dtype: flaot64}\n",
        r"bad.yaml:2:3: not a valid pandera schema",
    ),
    "not-a-mapping": (
        "- id\n- age\n",
        r"bad.yaml: a pandera schema is a mapping with `columns:`, found a list",
    ),
    "yaml-syntax": ("columns:\n  id: {dtype: int64\n", r"bad.yaml:3"),
    "wrong-type": (
        "schema_type: series\n",
        r"bad.yaml:1:1: schema_type 'series' is not a data frame schema",
    ),
}


@pytest.mark.parametrize(("text", "message"), BAD_SCHEMAS.values(), ids=BAD_SCHEMAS.keys())
def test_invalid_schema_names_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    schema = write_schema(tmp_path / "schemas" / "bad.yaml", text)
    path = write_csv(tmp_path / "data" / "c.csv", rows(5))
    with pytest.raises(ConfigError, match=message):
        check(path, schema)


# -- the cache --------------------------------------------------------------------------------


def test_cache_hit_reads_neither_data_nor_schema_twice(
    tmp_path: Path, schema: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_csv(tmp_path / "data" / "c.csv", broken_rows())
    backdate(path)
    first = check(path, schema, use_cache=True)
    assert not first.cached and not first.passed

    def no_reading(*args: object, **kw: object) -> None:
        raise AssertionError("an unchanged file was read again")

    monkeypatch.setattr(valcache, "scan_file", no_reading)
    second = check(path, schema, use_cache=True)
    assert second.cached
    assert (second.passed, second.rows, second.failures) == (
        first.passed,
        first.rows,
        first.failures,
    )
    entries = list(valcache.cache_dir(tmp_path).rglob("*.json"))
    assert len(entries) == 2  # one stat entry, one result


def test_cache_misses_when_data_or_schema_change(tmp_path: Path, schema: Path) -> None:
    path = write_csv(tmp_path / "data" / "c.csv", rows(20))
    backdate(path)
    assert not check(path, schema, use_cache=True).cached
    assert check(path, schema, use_cache=True).cached
    schema.write_text(SCHEMA.replace("max_value: 120", "max_value: 50"))
    changed = check(path, schema, use_cache=True)
    assert not changed.cached and not changed.passed
    schema.write_text(SCHEMA)
    assert check(path, schema, use_cache=True).cached  # the old result is still there
    # Same size, same mtime, other bytes: a stat-identical edit is caught by the inode...
    write_csv(path.with_name("tmp.csv"), broken_rows()[:20]).replace(path)
    backdate(path)
    after = check(path, schema, use_cache=True)
    assert not after.cached and not after.passed


def test_recently_modified_file_is_rehashed_not_trusted(tmp_path: Path, schema: Path) -> None:
    path = write_csv(tmp_path / "data" / "c.csv", rows(20))
    assert not check(path, schema, use_cache=True).cached
    assert (valcache.cache_dir(tmp_path) / "results").is_dir()  # a result was written...
    assert not list((valcache.cache_dir(tmp_path) / "stat").glob("*"))  # ... but no stat
    # ... but its content hash still finds the result.
    assert check(path, schema, use_cache=True).cached


def test_no_cache_neither_reads_nor_writes(tmp_path: Path, schema: Path) -> None:
    path = write_csv(tmp_path / "data" / "c.csv", rows(20))
    check(path, schema, use_cache=False)
    assert not (tmp_path / ".mlops").exists()


def test_a_cache_hit_imports_no_dataframe_library(tmp_path: Path, schema: Path) -> None:
    path = write_csv(tmp_path / "data" / "c.csv", rows(20))
    backdate(path)
    check(path, schema, use_cache=True)
    code = (
        "import sys, json\n"
        "from pathlib import Path\n"
        "from mlops_cli.validation.validate import validate_file\n"
        f"r = validate_file(Path({str(path)!r}), Path({str(schema)!r}),"
        f" root=Path({str(tmp_path)!r}))\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in"
        " {'pandas', 'polars', 'pandera', 'pyarrow', 'numpy'})\n"
        "print(json.dumps({'cached': r.cached, 'heavy': heavy}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == {"cached": True, "heavy": []}


def test_polars_engine_loads_no_pandas_and_leaves_pandera_whole(
    tmp_path: Path, schema: Path
) -> None:
    """A Parquet file on the polars engine needs neither pandas, numpy nor pyarrow (their
    imports were most of the time of a small file); pandera, imported without them, still
    offers its pandas API to whoever uses it next in the same process."""
    good = write_parquet(tmp_path / "data" / "c.parquet", rows(60))
    bad = write_csv(tmp_path / "data" / "b.csv", broken_rows())
    code = (
        "import sys, json\n"
        "from pathlib import Path\n"
        "from mlops_cli.validation.validate import validate_file\n"
        f"root, schema = Path({str(tmp_path)!r}), Path({str(schema)!r})\n"
        f"r = validate_file(Path({str(good)!r}), schema, root=root, use_cache=False)\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'pandas', 'numpy', 'pyarrow'})\n"
        "import pandera, pandera.pandas\n"
        "from pandera.typing import DataFrame\n"
        "assert pandera.DataFrameSchema is not None and DataFrame is not None\n"
        f"b = validate_file(Path({str(bad)!r}), schema, root=root, use_cache=False,"
        " engine='pandas')\n"
        "print(json.dumps({'passed': r.passed, 'rows': r.rows, 'heavy': heavy,"
        " 'pandas': [f.to_dict() for f in b.failures]}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    result = json.loads(out.stdout)
    assert (result["passed"], result["rows"], result["heavy"]) == (True, 60, [])
    expected = check(bad, schema, engine="pandas").failures
    assert result["pandas"] == [f.to_dict() for f in expected]
    assert [f["check"] for f in result["pandas"]] == [
        "field_uniqueness",
        "in_range(0, 120)",
        "greater_than_or_equal_to(0)",
        "isin(['a', 'b', 'c'])",
        "not_nullable",
    ]


def test_an_untested_pandera_version_loads_the_usual_way(tmp_path: Path, schema: Path) -> None:
    """The pandas-free import leans on pandera internals, so it is used only for the pandera
    versions it was tested with: with another one (a dist-info folder earlier on sys.path
    says 99.0.0) pandera imports pandas as usual, and the verdict is the same. (Invalid
    data: a valid file is passed by validation.fastpath without importing pandera.)"""
    good = write_parquet(tmp_path / "data" / "c.parquet", broken_rows())
    fake = tmp_path / "site"
    (fake / "pandera-99.0.0.dist-info").mkdir(parents=True)
    code = (
        "import sys, json\n"
        "from pathlib import Path\n"
        "from mlops_cli.validation import panderaload\n"
        "from mlops_cli.validation.validate import validate_file\n"
        f"root, schema = Path({str(tmp_path)!r}), Path({str(schema)!r})\n"
        f"r = validate_file(Path({str(good)!r}), schema, root=root, use_cache=False)\n"
        "print(json.dumps({'passed': r.passed, 'rows': r.rows, 'pandas': 'pandas' in sys.modules,"
        " 'fast': panderaload.fast_import_supported()}))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(fake)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    expected = check(good, schema)
    assert json.loads(out.stdout) == {
        "passed": False,
        "rows": expected.rows,
        "pandas": True,
        "fast": False,
    }


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl"])
def test_a_renamed_column_is_named_in_a_schema_that_is_not_strict(
    tmp_path: Path, suffix: str
) -> None:
    import polars as pl

    frame = pl.DataFrame({"id": [1, 2, 3], "Age": [30, 40, 50]})
    data = tmp_path / f"d{suffix}"
    {".csv": frame.write_csv, ".parquet": frame.write_parquet, ".jsonl": frame.write_ndjson}[
        suffix
    ](data)
    schema = tmp_path / "s.yaml"
    schema.write_text(
        "schema_type: dataframe\ncolumns:\n  id: {dtype: int64}\n  age: {dtype: int64}\n"
    )
    report = validate_file(data, schema, root=tmp_path, use_cache=False)
    assert [(f.column, f.check, f.message) for f in report.failures] == [
        (
            "age",
            "column_in_dataframe",
            "column 'age' is missing from the data; did you mean 'Age' (in the data)?",
        )
    ]
