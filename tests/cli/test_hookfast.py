"""cli/hookfast.py: `mlops validate --hook` answered from the cache before typer loads, and
falling through (None) whenever it cannot answer exactly as the full command would."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_cli.cli.hookfast import _dataset_refs, fast_hook, plain_lines
from mlops_cli.validation.report import Failure, ValidationReport
from mlops_cli.validation.validate import run_validation
from tests.valdata import backdate, rows, write_csv, write_project


def report(
    passed: bool, *, dataset: str | None = "customers", rows: int | None = 50
) -> ValidationReport:
    failures = [] if passed else [Failure("in_range(0, 120)", "age", 2, [(3, "130")])]
    return ValidationReport(dataset, "data/c.csv", "schemas/c.yaml", passed, rows, failures,
                            cached=True, seconds=0.0)  # fmt: skip


def test_plain_lines() -> None:
    lines = plain_lines([report(True), report(False, dataset=None, rows=None)])
    assert lines == [
        "PASS customers: data/c.csv, 50 rows (cached)",
        "FAIL data/c.csv, 1 failed check(s) of schemas/c.yaml (cached)",
        "  - age: in_range(0, 120): 2 row(s) (row 3 = 130)",
    ]
    assert plain_lines([report(True), report(False)], quiet=True)[0].startswith("FAIL")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = write_project(tmp_path / "p")
    for path in (root / "data").iterdir():
        backdate(path)  # the stat cache trusts only files untouched for a moment
    monkeypatch.chdir(root)
    return root


def test_nothing_cached_falls_through(project: Path) -> None:
    assert fast_hook(["--hook", "data/customers.csv"]) is None


def test_a_cached_pass_and_a_cached_failure(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_validation(project, ["data/customers.csv"], hook=True)  # the full command, once
    assert fast_hook(["--hook", "data/customers.csv"]) == 0
    assert capsys.readouterr().out == "PASS customers: data/customers.csv, 50 rows (cached)\n"
    bad = rows(50)
    bad[3][1] = "130"
    write_csv(project / "data" / "customers.csv", bad)
    backdate(project / "data" / "customers.csv", 1800)
    assert fast_hook(["--hook", "data/customers.csv"]) is None  # new content: not cached
    run_validation(project, ["data/customers.csv"], hook=True)
    assert fast_hook(["--hook", "data/customers.csv"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("FAIL customers: data/customers.csv, 50 rows, 1 failed check(s)")
    assert "  - age: in_range(0, 120): 1 row(s) (row 3 = 130)\n" in out


def test_files_of_no_data_set_print_nothing_and_pass(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_validation(project, ["README.md"], hook=True)  # marks this mlops.yaml as valid
    assert fast_hook(["--hook", "README.md"]) == 0
    assert capsys.readouterr().out == ""


def test_what_the_fast_path_does_not_answer(project: Path, tmp_path: Path) -> None:
    run_validation(project, ["data/customers.csv"], hook=True)
    assert fast_hook(["--hook", "data/customers.csv"]) == 0
    assert fast_hook(["--hook", "--json", "data/customers.csv"]) is None  # an option
    # mlops.yaml changed since the full command validated it: pydantic must see it first
    config = project / "mlops.yaml"
    config.write_text(config.read_text() + "# edited\n")
    assert fast_hook(["--hook", "data/customers.csv"]) is None


def test_outside_a_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert fast_hook(["--hook", "x.csv"]) is None


def test_dataset_refs_of_the_raw_config() -> None:
    parsed = _dataset_refs(
        b"schema_version: 1\nproject: p\ndatasets:\n  a:\n    path: ' d/a.csv '\n"
        b"    schema: s/a.yaml\n    delimiter: ';'\n  b:\n    path: d/b.csv\n"
    )
    assert parsed is not None
    refs, dialects = parsed
    assert {n: (r.path, r.schema) for n, r in refs.items()} == {
        "a": ("d/a.csv", "s/a.yaml"),
        "b": ("d/b.csv", None),
    }
    assert dialects["a"].delimiter == ";"
    assert _dataset_refs(b"project: p\n") == ({}, {})
    for odd in (
        b"datasets:\n  a: {path: 3}\n",  # not what pydantic accepted: let it speak
        b"datasets:\n  a: {path: x, schema: [1]}\n",
        b"datasets:\n  a: {path: x, delimiter: 1}\n",
        b"datasets: [\n",
    ):
        assert _dataset_refs(odd) is None, odd
