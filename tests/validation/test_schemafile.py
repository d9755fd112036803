"""validation/schemafile.py: pandera schema files read with line numbers and checked before
pandera is imported, then built for the polars or pandas engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_cli.common.errors import ConfigError, InputError
from mlops_cli.validation.schemafile import build, load_schema, polars_dtype_name


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "schema.yaml"
    path.write_text(text)
    return path


PANDAS_FORMAT = """\
schema_type: dataframe
version: 0.20.0
columns:
  id:
    dtype: int64
    nullable: false
    unique: true
  age:
    dtype: float64
    nullable: true
    checks:
      greater_than_or_equal_to: 0
  plan:
    dtype: category
    checks:
      isin: [basic, pro]
  since:
    dtype: datetime64[ns]
coerce: true
strict: filter
"""


def test_a_pandas_format_schema_runs_on_polars(tmp_path: Path) -> None:
    spec = load_schema(write(tmp_path, PANDAS_FORMAT), source="schemas/c.yaml")
    assert spec.flavour == "pandas"
    assert spec.pandas_reason is None
    assert spec.engine() == "polars"
    assert spec.engine("pandas") == "pandas"
    assert spec.strict == "filter"
    assert list(spec.columns) == ["id", "age", "plan", "since"]
    ident = spec.columns["id"]
    assert (ident.polars_dtype, ident.unique, ident.nullable, ident.required) == (
        "Int64",
        True,
        False,
        True,
    )
    assert spec.columns["plan"].polars_dtype == "Categorical"
    assert spec.columns["since"].polars_dtype == "Datetime(time_unit='ns', time_zone=None)"
    assert ident.coerce  # the file-wide `coerce: true`
    assert ident.dtype_check == "coerce_dtype('int64')"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("columns:\n  x:\n    dtype: object\n", "column 'x' has dtype 'object'"),
        ("columns:\n  x: {}\nindex:\n- dtype: int64\n", "it declares an index"),
        (
            "columns:\n  x:\n    checks:\n      one_sample_ttest: {popmean: 0}\n",
            "column 'x' uses the one_sample_ttest check",
        ),
        (
            "columns:\n  x:\n    checks:\n      isin: {allowed_values: [1], groupby: y}\n",
            "column 'x' has a grouped check",
        ),
    ],
)
def test_what_needs_pandas_says_why(tmp_path: Path, text: str, reason: str) -> None:
    spec = load_schema(write(tmp_path, text), source="s.yaml")
    assert spec.pandas_reason is not None and spec.pandas_reason.startswith(reason)
    assert spec.engine() == "pandas"
    with pytest.raises(InputError, match=r"s\.yaml needs pandas"):
        spec.engine("polars")


def test_a_polars_format_schema_runs_only_on_polars(tmp_path: Path) -> None:
    path = write(tmp_path, "schema_type: polars_dataframe\ncolumns:\n  x:\n    dtype: Int64\n")
    spec = load_schema(path, source="p.yaml")
    assert spec.engine() == "polars"
    with pytest.raises(InputError, match="polars format"):
        spec.engine("pandas")
    with pytest.raises(InputError, match="unknown validation engine 'spark'"):
        spec.engine("spark")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("columns:\n  x:\n    nulable: true\n", r"s\.yaml:3:5: unknown key 'nulable'.*'nullable'"),
        ("colums: {}\n", r"s\.yaml:1:1: unknown key 'colums' in the schema; did you mean"),
        ("columns:\n  x:\n    unique: yes please\n", r"s\.yaml:3:5: unique must be true or false"),
        ("columns:\n  x:\n    dtype: 3\n", r"s\.yaml:3:5: dtype must be a name"),
        ("columns:\n  x:\n    checks:\n      great_than: 1\n", r"s\.yaml:4:7: unknown check"),
        ("columns: [x]\n", r"s\.yaml:1:1: `columns` must map column names"),
        ("columns:\n  x: 3\n", r"s\.yaml:2:3: column 'x' must be a mapping"),
        ("strict: maybe\n", r"s\.yaml:1:1: strict is true, false or filter"),
        ("schema_type: series\n", r"schema_type 'series' is not a data frame schema"),
        ("unique: 3\n", r"s\.yaml:1:1: unique is a column name"),
        ("report_duplicates: some\n", r"report_duplicates is all, exclude_first"),
        (
            "schema_type: polars_dataframe\ncolumns:\n  x:\n    dtype: object\n",
            r"s\.yaml:4:5: unknown polars dtype 'object'",
        ),
        ("- a\n- b\n", r"a pandera schema is a mapping with `columns:`, found a list"),
        ("", r"found an empty file"),
    ],
)
def test_a_wrong_schema_names_its_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_schema(write(tmp_path, text), source="s.yaml")


def test_a_missing_schema_file_is_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"schema file s\.yaml does not exist") as info:
        load_schema(tmp_path / "nothing.yaml", source="s.yaml")
    assert not isinstance(info.value, ConfigError)
    assert "mlops schema infer" in (info.value.hint or "")


@pytest.mark.parametrize(
    ("raw", "sets"),
    [("id", [["id"]]), ("[a, b]", [["a", "b"]]), ("[[a], [b, c]]", [["a"], ["b", "c"]])],
)
def test_unique_in_its_three_spellings(tmp_path: Path, raw: str, sets: list[list[str]]) -> None:
    spec = load_schema(write(tmp_path, f"columns:\n  a: {{}}\nunique: {raw}\n"))
    assert spec.unique == sets


@pytest.mark.parametrize(
    ("dtype", "polars"),
    [
        ("int32", "Int32"),
        ("uint8", "UInt8"),
        ("str", "String"),
        ("string[pyarrow]", "String"),
        ("bool", "Boolean"),
        ("datetime64[ms, UTC]", "Datetime(time_unit='ms', time_zone='UTC')"),
        ("datetime", "Datetime(time_unit='us', time_zone=None)"),
        ("timedelta64", "Duration(time_unit='ns')"),
        ("object", None),
        ("complex128", None),
    ],
)
def test_pandas_dtype_names_in_polars(dtype: str, polars: str | None) -> None:
    assert polars_dtype_name(dtype) == polars


def test_build_leaves_uniqueness_to_mlops_and_validates_with_pandera(tmp_path: Path) -> None:
    import pandera.polars as pa
    import polars as pl

    spec = load_schema(write(tmp_path, PANDAS_FORMAT))
    schema = build(spec, "polars")
    assert isinstance(schema, pa.DataFrameSchema)
    assert not schema.columns["id"].unique  # checked across chunks by validation/uniqueness
    frame = pl.DataFrame(
        {
            "id": [1, 1],
            "age": [3.0, -1.0],
            "plan": pl.Series(["basic", "gold"], dtype=pl.Categorical),
            "since": pl.Series([0, 0], dtype=pl.Datetime("ns")),
        }
    )
    with pytest.raises(pa.errors.SchemaErrors) as info:
        schema.validate(frame, lazy=True)
    failed = {(e["column"], e["check"]) for e in _cases(info.value)}
    assert failed == {("age", "greater_than_or_equal_to(0)"), ("plan", "isin(['basic', 'pro'])")}


def _cases(errors: Exception) -> list[dict[str, str]]:
    import json

    message = json.loads(str(errors))
    return [
        {"column": e["column"], "check": e["check"]}
        for kind in message.values()
        for group in kind.values()
        for e in group
    ]


def test_a_schema_pandera_rejects_names_the_column(tmp_path: Path) -> None:
    text = (
        "columns:\n  ok:\n    dtype: int64\n  bad:\n    checks:\n      in_range: {min_value: 0}\n"
    )
    spec = load_schema(write(tmp_path, text), source="s.yaml")
    with pytest.raises(ConfigError, match=r"s\.yaml:4:3: not a valid pandera schema: in_range"):
        build(spec, "polars")
