"""pandera agrees with `mlops validate` on every schema `mlops schema infer` writes.

For each file of a corpus of real-world-shaped CSVs (nullable integers, dates in several
formats, booleans, categories, unicode, CRLF, a BOM, quoted delimiters, a semicolon export
with decimal commas, latin-1) and of real data that packages ship (palmerpenguins, vega_datasets'
local files, scikit-learn's bundled sets), the inferred schema gives the same verdict and the
same failing (column, check) pairs in:

- `mlops validate` on the polars engine and on the pandas engine;
- pandera itself: `pandera.io.pandas_io.from_yaml` + `schema.validate(pandas.read_csv(...))`,
  the file read as pandas reads it (with the data set's delimiter, decimal mark, encoding);
- the `pandera validate` command (pandera's CLI), for a CSV pandas reads with its defaults
  (the CLI has no delimiter option, and reads JSON guessing types).

Two differences of naming are not differences of verdict (docs/validation.md): pandera
reports a failed coercion twice (`coerce_dtype('Int64')` and `dtype('Int64')`), and runs a
column's other checks on the values it could not coerce (a TypeError, no row); mlops reports
the value once and leaves that row out of the column's other checks.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from mlops_cli.validation.csvdialect import CsvDialect
from mlops_cli.validation.infer import infer_schema
from mlops_cli.validation.validate import validate_file

Pairs = set[tuple[str | None, str]]


@dataclass
class Case:
    text: bytes
    suffix: str = ".csv"
    dialect: CsvDialect = field(default_factory=CsvDialect)
    # Changed copies of the file, each with the (column, check) pairs that must fail.
    broken: dict[str, tuple[bytes, Pairs]] = field(default_factory=dict)


def _rows(header: str, lines: list[str], newline: str = "\n") -> bytes:
    return (newline.join([header, *lines]) + newline).encode()


_NULLABLE = [f"{i},{'' if i % 4 == 0 else i * 3},{i / 10:.1f}" for i in range(1, 31)]
_DATES = [
    f"2012-{m:02d}-{d:02d},2012/{m:02d}/{d:02d},{m:02d}/{d:02d}/2012,{d:02d}.{m:02d}.2012,"
    f"2012-{m:02d}-{d:02d} {h:02d}:00:00"
    for m, d, h in ((1 + i % 12, 1 + i % 28, i % 24) for i in range(30))
]
_BOOLS = [
    f"{i},{'True' if i % 3 else 'False'},{'' if i % 5 == 0 else i % 2 == 0}" for i in range(30)
]
_CATS = [f"{i},{'abc'[i % 3]},{['red', 'green', 'blue', 'grey'][i % 4]}" for i in range(40)]
_UNICODE = [
    f"{i},{['Zürich', '東京', 'São Paulo', 'Kraków', 'naïve café 🍰'][i % 5]},{i * 1.5}"
    for i in range(30)
]
_QUOTED = [
    f'{i},"Smith, John {i}","said ""hi"", then left",{i % 7}' for i in range(30)
]  # fmt: skip
_SEMI = [f"{i};{i * 2},{i % 10};{'xyz'[i % 3]}" for i in range(30)]
_LATIN = [f"{i},{['Müller', 'Sørensen', 'Gómez'][i % 3]},{i}" for i in range(30)]

CORPUS: dict[str, Case] = {
    "nullable_ints": Case(
        _rows("id,count,ratio", _NULLABLE),
        broken={
            "fraction": (
                _rows("id,count,ratio", [*_NULLABLE, "31,2.5,0.1"]),
                {("count", "dtype('Int64')")},
            ),
            "out_of_range": (
                _rows("id,count,ratio", [*_NULLABLE, "31,100000,0.1"]),
                {("count", "in_range(0, 99)")},
            ),
            "missing_column": (
                _rows(
                    "id,ratio",
                    [line.rsplit(",", 2)[0] + "," + line.rsplit(",", 1)[1] for line in _NULLABLE],
                ),
                {("count", "column_in_dataframe")},
            ),
        },
    ),
    "dates": Case(
        _rows("iso,slash,us,eu,stamp", _DATES),
        broken={
            "impossible_dates": (
                _rows("iso,slash,us,eu,stamp", [*_DATES, _DATES[0].replace("2012/01", "2012/13")]),
                {("slash", "str_matches")},
            ),
            "bad_iso": (
                _rows("iso,slash,us,eu,stamp", [*_DATES, "2012-13-45" + _DATES[0][10:]]),
                {("iso", "dtype('date')")},
            ),
        },
    ),
    "booleans": Case(_rows("id,flag,maybe", _BOOLS)),
    "categories": Case(
        _rows("id,grade,colour", _CATS),
        broken={
            "new_colour": (
                _rows("id,grade,colour", [*_CATS, "40,a,purple"]),
                {("colour", "isin(['blue', 'green', 'grey', 'red'])")},
            )
        },
    ),
    "unicode_crlf": Case(
        _rows("id,city,value", _UNICODE, newline="\r\n"),
        broken={
            "new_city": (
                _rows("id,city,value", [*_UNICODE, "30,Paris,1.0"], newline="\r\n"),
                {("city", "isin")},
            )
        },
    ),
    "bom": Case(b"\xef\xbb\xbf" + _rows("id,city,value", _UNICODE)),
    "quoted_delimiters": Case(_rows("id,name,remark,n", _QUOTED)),
    "semicolon_decimal_comma": Case(
        _rows("id;amount;code", _SEMI),
        dialect=CsvDialect(delimiter=";", decimal=","),
        broken={
            "negative": (
                _rows("id;amount;code", [*_SEMI, "30;-500,5;x"]),
                {("amount", "in_range")},
            )
        },
    ),
    "latin1": Case(
        _rows("id,name,n", _LATIN).decode().encode("latin-1"),
        dialect=CsvDialect(encoding="latin-1"),
    ),
    "tsv": Case(_rows("id\tname\tn", [line.replace(",", "\t") for line in _LATIN]), ".tsv"),
}


def _site(package: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    return Path(spec.origin).parent if spec and spec.origin else None


def _real_files() -> list[tuple[str, Path]]:
    """The data sets that palmerpenguins, vega_datasets (its locally shipped files) and
    scikit-learn carry (dev extra: pip install -e '.[dev]')."""
    found: list[tuple[str, Path]] = []
    for package, sub, pattern in (
        ("palmerpenguins", "data", "*.csv"),
        ("vega_datasets", "_data", "*.csv"),
        ("vega_datasets", "_data", "*.json"),
        ("sklearn.datasets", "data", "*.csv"),
    ):
        site = _site(package)
        if site is None:
            pytest.fail(f"{package} is not installed: it is in the dev extra")
        found += [(f"{package}:{p.name}", p) for p in sorted((site / sub).glob(pattern))]
    return found


HEAD_LINES = 150  # keeps the corpus fast; each file keeps its own shape


def _head(path: Path, to: Path) -> Path:
    """The first lines of a real file (a JSON array is kept whole: those shipped are small)."""
    to.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".json":
        shutil.copyfile(path, to)
        return to
    with path.open("rb") as f:
        lines = [f.readline() for _ in range(HEAD_LINES + 2)]
    if "sklearn" in str(path) and lines[0].count(b",") < lines[1].count(b","):
        # scikit-learn's own layout: a first line of counts and class names, not a header
        # (its loaders skip it); pandas and mlops alike refuse it as a header.
        lines = lines[1:]
    to.write_bytes(b"".join(lines[: HEAD_LINES + 1]))
    return to


def _norm(check: str) -> str:
    return re.sub(r"^coerce_dtype\(", "dtype(", check)


def _mlops(path: Path, schema: Path, root: Path, dialect: CsvDialect, engine: str) -> Pairs:
    report = validate_file(path, schema, root=root, use_cache=False, engine=engine, dialect=dialect)
    pairs = {(f.column, _norm(f.check)) for f in report.failures}
    assert report.passed == (not pairs)
    return pairs


def _read_pandas(path: Path, dialect: CsvDialect) -> Any:
    import pandas as pd

    # JSON carries its own types: pandas keeps them with dtype=False (its default guesses
    # dates from column names and numbers inside strings; docs/validation.md).
    if path.suffix == ".json":
        return pd.read_json(path, dtype=False)
    if path.suffix in (".jsonl", ".ndjson"):
        return pd.read_json(path, lines=True, dtype=False)
    fmt = "tsv" if path.suffix == ".tsv" else "csv"
    return pd.read_csv(path, **dialect.pandas_options(fmt))


def _pandera(path: Path, schema: Path, dialect: CsvDialect) -> Pairs:
    import pandera.errors
    from pandera.io import pandas_io

    frame = _read_pandas(path, dialect)
    try:
        pandas_io.from_yaml(schema).validate(frame, lazy=True)
    except pandera.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    else:
        return set()
    pairs: Pairs = set()
    rows = list(
        zip(cases["column"], cases["check"], cases["failure_case"], cases["index"], strict=True)
    )
    uncoerced = {c for c, check, _, _ in rows if str(check).startswith("coerce_dtype(")}
    for column, check, case, index in rows:
        if check in ("column_in_dataframe", "column_in_schema"):
            column = case
        elif column in uncoerced and "TypeError" in str(case) and index is None:
            continue  # a check pandera ran on values it could not coerce
        pairs.add((None if column is None else str(column), _norm(str(check))))
    return pairs


def _agree(path: Path, schema: Path, root: Path, dialect: CsvDialect) -> Pairs:
    polars = _mlops(path, schema, root, dialect, "polars")
    pandas = _mlops(path, schema, root, dialect, "pandas")
    theirs = _pandera(path, schema, dialect)
    assert polars == pandas == theirs, (
        f"{path.name}: mlops polars {sorted(polars, key=str)}, mlops pandas"
        f" {sorted(pandas, key=str)}, pandera {sorted(theirs, key=str)}\n{schema.read_text()}"
    )
    return polars


def _matches(found: Pairs, expected: Pairs) -> bool:
    """Each expected (column, check) is found; a check given by its name alone (`isin`)
    matches whatever its arguments."""
    return all(
        any(c == column and (k == check or k.startswith(f"{check}(")) for c, k in found)
        for column, check in expected
    )


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_built_corpus(tmp_path: Path, name: str) -> None:
    case = CORPUS[name]
    data = tmp_path / "data" / f"{name}{case.suffix}"
    data.parent.mkdir()
    data.write_bytes(case.text)
    schema = tmp_path / "schemas" / f"{name}.yaml"
    infer_schema(data, schema, root=tmp_path, dialect=case.dialect)
    assert _agree(data, schema, tmp_path, case.dialect) == set(), schema.read_text()
    for variant, (text, expected) in case.broken.items():
        broken = tmp_path / "data" / f"{name}-{variant}{case.suffix}"
        broken.write_bytes(text)
        found = _agree(broken, schema, tmp_path, case.dialect)
        assert _matches(found, expected), (variant, found)


def test_real_data_packages_ship(tmp_path: Path) -> None:
    files = _real_files()
    assert len(files) >= 15, files  # penguins x2, vega's 9 CSV and 8 JSON, sklearn's 5
    failed: list[str] = []
    for label, source in files:
        data = _head(source, tmp_path / "data" / label.replace(":", "-"))
        schema = tmp_path / "schemas" / f"{data.stem}.yaml"
        try:
            result = infer_schema(data, schema, root=tmp_path)
            dialect = CsvDialect(delimiter=result.delimiter)
            assert _agree(data, schema, tmp_path, dialect) == set()
            broken = _broken_copy(data, schema, dialect)
            if broken is not None:
                path, column, check = broken
                found = _agree(path, schema, tmp_path, dialect)
                assert _matches(found, {(column, check)}), found
        except AssertionError as exc:
            failed.append(f"{label}: {str(exc)[:600]}")
    assert not failed, "\n\n".join(failed)


def _broken_copy(data: Path, schema: Path, dialect: CsvDialect) -> tuple[Path, str, str] | None:
    """A copy of a CSV with one value outside its column's inferred range (None when no
    column has one)."""
    import pandas as pd
    import yaml

    if data.suffix not in (".csv", ".tsv"):
        return None
    columns = yaml.safe_load(schema.read_text())["columns"]
    ranged = [n for n, c in columns.items() if "in_range" in (c.get("checks") or {})]
    if not ranged:
        return None
    column = str(ranged[0])
    options = dialect.pandas_options("tsv" if data.suffix == ".tsv" else "csv")
    frame = pd.read_csv(data, dtype=str, keep_default_na=False, **options)
    frame.loc[0, column] = "999999999"
    out = data.with_name(f"{data.stem}-broken{data.suffix}")
    frame.to_csv(out, index=False, sep=options["sep"])
    return out, column, "in_range"


def test_penguins_with_the_pandera_command(tmp_path: Path) -> None:
    """The issue's reproduction: `pandera validate -s schemas/penguins.yaml -d
    data/raw/penguins.csv` failed `expected Int64, got float64` where mlops passed."""
    site = _site("palmerpenguins")
    assert site is not None, "palmerpenguins is in the dev extra"
    data = tmp_path / "data" / "raw" / "penguins.csv"
    data.parent.mkdir(parents=True)
    shutil.copyfile(site / "data" / "penguins.csv", data)
    schema = tmp_path / "schemas" / "penguins.yaml"
    infer_schema(data, schema, root=tmp_path)
    pandera_cli = Path(sys.executable).with_name("pandera")
    if not pandera_cli.exists():
        pytest.fail("the pandera command comes with pandera[io], in the dependencies")

    def command(path: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(pandera_cli), "validate", "-s", str(schema), "-d", str(path)],
            capture_output=True,
            text=True,
            timeout=120,
        )

    done = command(data)
    assert done.returncode == 0, done.stdout + done.stderr
    assert validate_file(data, schema, root=tmp_path, use_cache=False).passed
    text = data.read_text().replace(",3750,male", ",3750.5,male", 1)  # a fraction in body_mass_g
    assert text != data.read_text()
    broken = data.with_name("broken.csv")
    broken.write_text(text)
    done = command(broken)
    assert done.returncode != 0 and "body_mass_g" in done.stdout + done.stderr
    report = validate_file(broken, schema, root=tmp_path, use_cache=False)
    assert [(f.column, f.check) for f in report.failures] == [
        ("body_mass_g", "coerce_dtype('Int64')")
    ]
