"""`mlops validate` and `mlops schema infer` wiring, the hook's fast path, and real pre-commit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from tests.required import unavailable
from tests.valdata import backdate, edit_in_place, rows, write_csv, write_project


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return write_project(tmp_path / "proj")


def break_customers(project: Path) -> None:
    data = rows(50)
    data[9][1] = "200"
    write_csv(project / "data" / "customers.csv", data)


def test_validate_every_data_set_with_a_schema(cli: Any, project: Path) -> None:
    result = cli("-C", str(project), "validate")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == (
        "PASS customers: data/customers.csv, 50 rows\nPASS events: data/events.parquet, 50 rows\n"
    )
    assert "2 validated" in result.stderr
    again = cli("-C", str(project), "validate", "customers")
    assert again.stdout == "PASS customers: data/customers.csv, 50 rows (cached)\n"


def test_failure_exits_1_with_the_failed_checks(cli: Any, project: Path) -> None:
    break_customers(project)
    result = cli("-C", str(project), "validate", "data/customers.csv")
    assert result.exit_code == 1
    assert result.stdout == (
        "FAIL customers: data/customers.csv, 50 rows, 1 failed check(s) of"
        " schemas/customers.yaml\n"
        "  - age: in_range(0, 120): 1 row(s) (row 9 = 200)\n"
    )
    assert "1 of 1 failed validation: customers" in result.stderr


def test_json_output(cli: Any, project: Path) -> None:
    break_customers(project)
    result = cli("-C", str(project), "validate", "--json")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)  # one document, nothing else on stdout
    assert doc["schema_version"] == 1 and doc["command"] == "validate"
    assert doc["passed"] is False
    assert [s["dataset"] for s in doc["skipped"]] == ["notes"]  # it has no schema
    assert doc["skipped"][0]["reason"].startswith("no schema: write one with `mlops schema infer")
    customers, events = doc["reports"]
    assert events["passed"] is True
    assert {k: customers[k] for k in ("dataset", "path", "schema", "passed", "rows", "cached")} == {
        "dataset": "customers",
        "path": "data/customers.csv",
        "schema": "schemas/customers.yaml",
        "passed": False,
        "rows": 50,
        "cached": False,
    }
    assert customers["failures"] == [
        {
            "check": "in_range(0, 120)",
            "column": "age",
            "failing_rows": 1,
            "examples": [{"row": 9, "value": "200"}],
        }
    ]


def test_junit_report(cli: Any, project: Path) -> None:
    break_customers(project)
    result = cli("-C", str(project), "validate", "--junit", "reports/validation.xml")
    assert result.exit_code == 1
    suite = ET.parse(project / "reports" / "validation.xml").getroot()
    counts = (suite.tag, suite.get("tests"), suite.get("failures"), suite.get("skipped"))
    assert counts == ("testsuite", "3", "1", "1")  # notes: no schema, reported as skipped
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert cases["notes"].find("skipped") is not None
    failure = cases["customers"].find("failure")
    assert failure is not None and "age: in_range(0, 120): 1 row(s)" in (failure.text or "")
    assert cases["events"].find("failure") is None


def test_missing_data_exits_3_and_says_pull(cli: Any, project: Path) -> None:
    (project / "data" / "events.parquet").unlink()
    result = cli("-C", str(project), "validate")
    assert result.exit_code == 3
    assert "not in the workspace: events (data/events.parquet)" in result.stderr
    assert "run `mlops data pull`" in result.stderr
    assert result.stdout == ""


def test_invalid_schema_exits_3_with_file_and_line(cli: Any, project: Path) -> None:
    (project / "schemas" / "customers.yaml").write_text("columns:\n  id:\n    dtpye: int64\n")
    result = cli("-C", str(project), "validate", "customers")
    assert result.exit_code == 3
    assert "schemas/customers.yaml:3:5: unknown key 'dtpye' in the column 'id'" in result.stderr


def test_unreadable_csv_exits_3(cli: Any, project: Path) -> None:
    (project / "data" / "customers.csv").write_text("id,age,income,segment,score\n")
    result = cli("-C", str(project), "validate", "customers")
    assert result.exit_code == 3
    assert "data/customers.csv: has a header line but no data rows" in result.stderr


def _damaged_parquet(tmp_path: Path) -> tuple[Path, bool]:
    """A Parquet file with bytes of its data pages overwritten (a bad disk, a cut download),
    chosen among seeded variants to make this polars panic if any does; and whether it did."""
    import random

    import polars as pl

    good = tmp_path / "good.parquet"
    pl.DataFrame({"a": range(20_000), "b": [f"s{i % 50}" for i in range(20_000)]}).write_parquet(
        good
    )
    raw = good.read_bytes()
    bad = tmp_path / "data" / "damaged.parquet"
    bad.parent.mkdir(parents=True, exist_ok=True)
    for seed in range(100):
        rng, data = random.Random(seed), bytearray(raw)
        for _ in range(20):
            data[rng.randrange(4, len(data) // 2)] = rng.randrange(256)
        bad.write_bytes(bytes(data))
        try:
            pl.read_parquet(bad)
        except pl.exceptions.PanicException:
            return bad, True
        except (OSError, pl.exceptions.PolarsError):
            continue
    return bad, False


def test_a_damaged_parquet_file_exits_3_not_a_traceback(
    mlops: Any, project: Path, tmp_path: Path
) -> None:
    """polars panics (pyo3's PanicException, a BaseException) on some damaged data pages;
    that is bad input, exit 3 with one line, not a traceback."""
    bad, panics = _damaged_parquet(project)
    schema = project / "schemas" / "damaged.yaml"
    schema.write_text("schema_type: dataframe\ncolumns:\n  a: {dtype: int64}\n  b: {dtype: str}\n")
    out = mlops("-C", str(project), "validate", str(bad), "--schema", str(schema))
    assert "Traceback" not in out.stderr, out.stderr
    if panics:
        assert out.exit_code == 3, out.stderr
        assert "damaged.parquet: cannot read Parquet: polars failed on its data" in out.stderr
        assert "the file is probably damaged" in out.stderr
    else:  # this polars reads all of them: whatever it makes of them, never a crash
        assert out.exit_code in (0, 1, 3), out.stderr


def test_unknown_target_and_data_set_without_schema(cli: Any, project: Path) -> None:
    unknown = cli("-C", str(project), "validate", "nope")
    assert unknown.exit_code == 3 and "'nope' is neither a data set" in unknown.stderr
    bare = cli("-C", str(project), "validate", "notes")
    assert bare.exit_code == 3 and "data set 'notes' has no schema" in bare.stderr


def test_schema_option_validates_any_file(cli: Any, project: Path, tmp_path: Path) -> None:
    other = write_csv(tmp_path / "elsewhere.csv", rows(5))
    result = cli("-C", str(project), "validate", str(other), "--schema", "schemas/customers.yaml")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"PASS {other}, 5 rows\n"


# -- hook mode --------------------------------------------------------------------------------


def test_hook_validates_only_what_the_files_touch(cli: Any, project: Path) -> None:
    break_customers(project)
    events = cli("-C", str(project), "validate", "--hook", "data/events.parquet", "README.md")
    assert (events.exit_code, events.stdout) == (0, "PASS events: data/events.parquet, 50 rows\n")
    nothing = cli("-C", str(project), "validate", "--hook", "README.md", "src/x.py")
    assert (nothing.exit_code, nothing.stdout, nothing.stderr) == (0, "", "")
    by_schema = cli("-C", str(project), "validate", "--hook", "schemas/customers.yaml")
    assert by_schema.exit_code == 1 and by_schema.stdout.startswith("FAIL customers")
    (project / "data" / "customers.csv.dvc").write_text("outs:\n- path: customers.csv\n")
    by_dvc = cli("-C", str(project), "validate", "--hook", "data/customers.csv.dvc")
    assert by_dvc.exit_code == 1
    everything = cli("-C", str(project), "validate", "--hook", "mlops.yaml")
    assert everything.stdout.count("\n") == 3  # two reports and one failed check


def test_hook_skips_data_that_is_not_pulled(cli: Any, project: Path) -> None:
    (project / "data" / "customers.csv").unlink()
    result = cli("-C", str(project), "validate", "--hook", "mlops.yaml")
    assert result.exit_code == 0
    assert result.stdout == "PASS events: data/events.parquet, 50 rows\n"
    assert "customers: skipped, data/customers.csv is not in the workspace" in result.stderr


def test_hook_never_takes_the_repo_lock(cli: Any, project: Path) -> None:
    from mlops_cli.common.fs import repo_lock

    with repo_lock(project, "test holds it", timeout=0):
        result = cli("-C", str(project), "validate", "--hook", "mlops.yaml")
    assert result.exit_code == 0


def _run_entry(project: Path, *args: str) -> dict[str, Any]:
    """Run the console-script entry point in a fresh interpreter; report what it imported."""
    code = (
        "import io, json, sys, contextlib\n"
        "from mlops_cli.cli.entry import main\n"
        f"sys.argv = ['mlops', *{list(args)!r}]\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out):\n"
        "    try:\n"
        "        main(); code = 0\n"
        "    except SystemExit as exc:\n"
        "        code = exc.code\n"
        "mods = {m.split('.')[0] for m in sys.modules}\n"
        "heavy = sorted(mods & {'typer', 'click', 'rich', 'pydantic', 'pandas', 'polars',"
        " 'pandera', 'pyarrow', 'numpy', 'dvc', 'git'})\n"
        "print(json.dumps({'code': code, 'out': out.getvalue(), 'heavy': heavy}))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=project, capture_output=True, text=True, check=True
    )
    result: dict[str, Any] = json.loads(proc.stdout.splitlines()[-1])
    return result


def test_hook_on_unchanged_data_answers_before_typer_loads(cli: Any, project: Path) -> None:
    break_customers(project)
    for f in (project / "data").iterdir():
        backdate(f)
    slow = cli("-C", str(project), "validate", "--hook", "mlops.yaml")
    assert slow.exit_code == 1
    fast = _run_entry(project, "validate", "--hook", "mlops.yaml")
    assert fast["heavy"] == []
    assert fast["code"] == 1
    assert fast["out"] == slow.stdout.replace(" rows\n", " rows (cached)\n").replace(
        "schemas/customers.yaml\n", "schemas/customers.yaml (cached)\n"
    )
    # A changed file is not in the cache: the full command answers, with the same verdict.
    write_csv(project / "data" / "customers.csv", rows(50))
    changed = _run_entry(project, "validate", "--hook", "data/customers.csv")
    assert changed["code"] == 0 and "typer" in changed["heavy"]
    assert changed["out"] == "PASS customers: data/customers.csv, 50 rows\n"


def test_an_edit_that_restores_the_mtime_is_validated_again(cli: Any, project: Path) -> None:
    """Same size, same inode, mtime set back: the ctime moved, so neither the full command
    nor the hook's fast path answers from the cache (issue 13 item 7)."""
    data = project / "data" / "customers.csv"
    backdate(data)
    first = cli("-C", str(project), "validate", "customers")
    assert first.exit_code == 0, first.stderr
    assert _run_entry(project, "validate", "--hook", "data/customers.csv")["heavy"] == []
    age = f"\n0,{rows(50)[0][1]},".encode()
    edit_in_place(data, age, b"\n0,-1,")  # age -1: outside in_range(0, 120)
    hook = _run_entry(project, "validate", "--hook", "data/customers.csv")
    assert hook["code"] == 1 and "(cached)" not in hook["out"], hook
    assert "age: in_range(0, 120): 1 row(s) (row 0 = -1)" in hook["out"]
    again = cli("-C", str(project), "validate", "customers")
    assert again.exit_code == 1 and "age: in_range(0, 120)" in again.stdout


def test_hook_fast_path_needs_a_validated_config(project: Path) -> None:
    for f in (project / "data").iterdir():
        backdate(f)
    # No full run has vouched for these mlops.yaml bytes yet: the full command answers.
    first = _run_entry(project, "validate", "--hook", "mlops.yaml")
    assert first["code"] == 0 and "pydantic" in first["heavy"]
    second = _run_entry(project, "validate", "--hook", "mlops.yaml")
    assert second["code"] == 0 and second["heavy"] == []


def test_an_upgraded_engine_is_a_cache_miss(mlops: Any, project: Path, tmp_path: Path) -> None:
    """A verdict is keyed by the pandera/polars/pandas/pyarrow versions too: after an upgrade
    the file is validated again, by the real process, in both the full and the hook path."""
    for f in (project / "data").iterdir():
        backdate(f)
    first = mlops("-C", str(project), "validate", "customers")
    assert first.exit_code == 0, first.stderr
    again = mlops("-C", str(project), "validate", "customers")
    assert again.stdout == "PASS customers: data/customers.csv, 50 rows (cached)\n"
    # An "upgraded" pandera: a dist-info folder earlier on sys.path than the real one.
    upgraded = tmp_path / "upgraded"
    (upgraded / "pandera-99.0.0.dist-info").mkdir(parents=True)
    env = {**os.environ, "PYTHONPATH": str(upgraded)}
    after = mlops("-C", str(project), "validate", "customers", env=env)
    assert after.exit_code == 0, after.stderr
    assert after.stdout == "PASS customers: data/customers.csv, 50 rows\n"
    hook = mlops("-C", str(project), "validate", "--hook", "data/customers.csv", env=env)
    assert hook.stdout == "PASS customers: data/customers.csv, 50 rows (cached)\n"
    back = mlops("-C", str(project), "validate", "customers")  # the old engine: its own entry
    assert back.stdout == "PASS customers: data/customers.csv, 50 rows (cached)\n"


# -- schema infer -----------------------------------------------------------------------------


def test_schema_infer_writes_a_schema_that_validates_its_data(cli: Any, project: Path) -> None:
    result = cli(
        "-C", str(project), "schema", "infer", "data/customers.csv", "-o", "schemas/new.yaml"
    )
    assert result.exit_code == 0, result.stderr
    assert "wrote schemas/new.yaml: 5 columns from 50 rows of data/customers.csv" in result.stderr
    check = cli(
        "-C", str(project), "validate", "data/customers.csv", "--schema", "schemas/new.yaml"
    )
    assert check.exit_code == 0, check.stdout
    again = cli(
        "-C", str(project), "schema", "infer", "data/customers.csv", "-o", "schemas/new.yaml"
    )
    assert again.exit_code == 3 and "schemas/new.yaml exists; not overwriting it" in again.stderr
    forced = cli(
        "-C", str(project), "schema", "infer", "data/events.parquet", "-o", "schemas/new.yaml",
        "--force", "--json",
    )  # fmt: skip
    assert forced.exit_code == 0
    doc = json.loads(forced.stdout)
    assert doc["command"] == "schema infer"
    assert doc["result"]["rows"] == 50 and doc["result"]["path"] == "schemas/new.yaml"


def test_help_carries_an_example(cli: Any) -> None:
    for args in (["validate", "--help"], ["schema", "infer", "--help"]):
        result = cli(*args)
        assert result.exit_code == 0 and "Example" in result.stdout


# -- the real pre-commit, in a scaffolded project ---------------------------------------------


@pytest.mark.slow
def test_pre_commit_rejects_bad_data_and_accepts_good(tmp_path: Path, mlops: Any) -> None:
    pre_commit = Path(sys.executable).with_name("pre-commit")
    if not pre_commit.exists():
        unavailable("pre-commit is not installed beside this interpreter")
    made = mlops("init", str(tmp_path / "proj"), "--defaults")
    assert made.exit_code == 0, made.stderr
    proj = tmp_path / "proj"
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home")}

    def run(*cmd: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(cmd, cwd=proj, env=env, capture_output=True, text=True, timeout=600)

    installed = run(str(pre_commit), "install")
    assert installed.returncode == 0, installed.stderr
    dvc = [sys.executable, "-m", "dvc"]

    # A good change (a schema edit that keeps the data valid) is committed.
    schema = proj / "schemas" / "raw.yaml"
    schema.write_text(schema.read_text() + "# reviewed\n")
    run("git", "add", "schemas/raw.yaml")
    good = run("git", "commit", "-m", "review the schema")
    assert good.returncode == 0, good.stdout + good.stderr
    output = good.stdout + good.stderr
    assert "mlops validate" in output and "Passed" in output

    # Bad data (a value far out of its range) is rejected, with the failure shown.
    data = proj / "data" / "raw" / "data.csv"
    lines = data.read_text().splitlines()
    cells = lines[5].split(",")
    cells[0] = "999"
    lines[5] = ",".join(cells)
    data.write_text("\n".join(lines) + "\n")
    assert run(*dvc, "add", "data/raw/data.csv").returncode == 0
    run("git", "add", "data/raw/data.csv.dvc")
    bad = run("git", "commit", "-m", "bad data")
    assert bad.returncode != 0
    assert "FAIL raw: data/raw/data.csv" in bad.stdout + bad.stderr
    assert "row 4 = 999.0" in bad.stdout + bad.stderr
    head = run("git", "log", "--format=%s", "-1").stdout.strip()
    assert head == "review the schema"

    # Put the data right: the commit goes through.
    data.write_text("\n".join([*lines[:5], ",".join(["15.0", *cells[1:]]), *lines[6:]]) + "\n")
    assert run(*dvc, "add", "data/raw/data.csv").returncode == 0
    run("git", "add", "data/raw/data.csv.dvc")
    fixed = run("git", "commit", "-m", "good data")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr


def test_a_data_set_without_a_schema_is_reported(cli: Any, project: Path) -> None:
    result = cli("-C", str(project), "validate")
    assert result.exit_code == 0
    assert "notes: not validated, no schema: write one with `mlops schema infer" in " ".join(
        result.stderr.split()
    )


def test_quiet_prints_only_failures(cli: Any, project: Path) -> None:
    result = cli("-C", str(project), "-q", "validate")
    assert result.exit_code == 0 and result.stdout == ""
    break_customers(project)
    result = cli("-C", str(project), "-q", "validate")
    assert result.exit_code == 1
    assert result.stdout == (
        "FAIL customers: data/customers.csv, 50 rows, 1 failed check(s) of"
        " schemas/customers.yaml\n"
        "  - age: in_range(0, 120): 1 row(s) (row 9 = 200)\n"
    )


@pytest.mark.parametrize("engine", ["polars", "pandas"])
def test_missing_and_renamed_columns_are_named(cli: Any, project: Path, engine: str) -> None:
    data = rows(50)
    write_csv(project / "data" / "customers.csv", [r[:3] + r[4:] for r in data],
              header=["id", "age", "income", "Score"])  # fmt: skip
    result = cli("-C", str(project), "validate", "customers", "--engine", engine)
    assert result.exit_code == 1
    lines = result.stdout.splitlines()[1:]
    assert "  - column 'segment' is missing from the data (column_in_dataframe)" in lines
    assert (
        "  - column 'score' is missing from the data; did you mean 'Score' (in the data)?"
        " (column_in_dataframe)"
    ) in lines
    assert (
        "  - column 'Score' is in the data but not in the schema (renamed from 'score'?)"
        " (column_in_schema)"
    ) in lines
    assert not any("customers: column_in" in line for line in lines)
    doc = json.loads(cli("-C", str(project), "validate", "customers", "--json").stdout)
    failures = {f["column"]: f for f in doc["reports"][0]["failures"]}
    assert failures["segment"]["check"] == "column_in_dataframe"
    assert failures["segment"]["message"] == "column 'segment' is missing from the data"


def test_a_semicolon_csv_with_decimal_commas(cli: Any, tmp_path: Path) -> None:
    root = tmp_path / "p"
    (root / "data").mkdir(parents=True)
    lines = ["id;amount;code", *(f"{i};{i},{i % 10};{'xy'[i % 2]}" for i in range(30))]
    (root / "data" / "export.csv").write_text("\n".join(lines) + "\n")
    (root / "mlops.yaml").write_text(
        "schema_version: 1\nproject: p\ndatasets:\n"
        "  export: {path: data/export.csv, schema: schemas/export.yaml}\n"
    )
    inferred = cli("-C", str(root), "schema", "infer", "data/export.csv", "--json")
    assert inferred.exit_code == 0, inferred.stderr
    doc = json.loads(inferred.stdout)["result"]
    assert doc["delimiter"] == ";" and "decimal: ','" in doc["notes"][0]
    schema = (root / "schemas" / "export.yaml").read_text()
    assert "# from 30 rows of data/export.csv (CSV, delimiter ';', decimal ',')." in schema
    # Not yet declared: read with commas, one column, refused with the option to set.
    refused = cli("-C", str(root), "validate", "export")
    assert refused.exit_code == 3
    assert "looks separated by ';'" in refused.stderr and "delimiter: ';'" in refused.stderr
    (root / "mlops.yaml").write_text(
        "schema_version: 1\nproject: p\ndatasets:\n  export: {path: data/export.csv,"
        " schema: schemas/export.yaml, delimiter: ';', decimal: ','}\n"
    )
    for engine in ("polars", "pandas"):
        ok = cli("-C", str(root), "validate", "export", "--engine", engine, "--no-cache")
        assert ok.exit_code == 0, ok.stdout + ok.stderr
    lines.append("30;-999,5;x")
    (root / "data" / "export.csv").write_text("\n".join(lines) + "\n")
    failed = cli("-C", str(root), "validate", "export")
    assert failed.exit_code == 1 and "amount: in_range" in failed.stdout
    assert "(row 30 = -999.5)" in failed.stdout


def test_schema_infer_refuses_one_column_of_another_delimiter(cli: Any, tmp_path: Path) -> None:
    data = tmp_path / "semi.csv"
    data.write_text("a;b;c\n1;2;3\n4;5;6\n")
    result = cli("-C", str(tmp_path), "schema", "infer", "semi.csv", "--delimiter", ",")
    assert result.exit_code == 3
    assert "read as one column named 'a;b;c'" in result.stderr
    assert "--delimiter ';'" in result.stderr
    assert not (tmp_path / "schemas" / "semi.yaml").exists()


def test_json_and_json_lines_are_validated(cli: Any, tmp_path: Path) -> None:
    records = [{"id": i, "score": i / 10, "tag": "ab"[i % 2]} for i in range(20)]
    (tmp_path / "r.json").write_text(json.dumps(records))
    (tmp_path / "r.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n")
    inferred = cli("-C", str(tmp_path), "schema", "infer", "r.json", "-o", "s.yaml")
    assert inferred.exit_code == 0, inferred.stderr
    for name in ("r.json", "r.jsonl"):
        ok = cli("-C", str(tmp_path), "validate", "--schema", "s.yaml", name)
        assert ok.exit_code == 0, ok.stdout + ok.stderr
    records += [{"id": 20, "score": "high", "tag": "a"}, {"id": 21, "score": 0.5, "tag": "c"}]
    (tmp_path / "r.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n")
    bad = cli("-C", str(tmp_path), "validate", "--schema", "s.yaml", "r.jsonl")
    assert bad.exit_code == 1
    assert "score: dtype('float64'): 1 row(s) (row 20 = high)" in bad.stdout
    assert "tag: isin(['a', 'b']): 1 row(s) (row 21 = c)" in bad.stdout


def test_the_hook_reads_a_data_set_as_mlops_yaml_says(cli: Any, tmp_path: Path) -> None:
    """Fast path and full command alike: the dialect is part of the cached result's key."""
    root = tmp_path / "p"
    (root / "data").mkdir(parents=True)
    (root / "data" / "s.csv").write_text("a;b\n1;2,5\n2;3,5\n3;4,5\n")
    (root / "schemas").mkdir()
    (root / "schemas" / "s.yaml").write_text(
        "schema_type: dataframe\ncolumns:\n  a: {dtype: int64}\n"
        "  b: {dtype: float64, checks: {in_range: {min_value: 0, max_value: 5}}}\n"
    )
    config = (
        "schema_version: 1\nproject: p\ndatasets:\n  s: {path: data/s.csv, schema: schemas/s.yaml"
    )
    (root / "mlops.yaml").write_text(config + ", delimiter: ';', decimal: ','}\n")
    backdate(root / "data" / "s.csv")
    full = cli("-C", str(root), "validate", "--hook", "data/s.csv")
    assert full.exit_code == 0 and full.stdout == "PASS s: data/s.csv, 3 rows\n", full.stderr
    fast = _run_entry(root, "validate", "--hook", "data/s.csv")
    assert fast["heavy"] == [] and fast["out"] == "PASS s: data/s.csv, 3 rows (cached)\n"
    # Read another way, the same bytes are another result: not the cached one.
    (root / "mlops.yaml").write_text(config + ", delimiter: ';'}\n")
    other = cli("-C", str(root), "validate", "--hook", "data/s.csv")
    assert other.exit_code == 1 and "b: dtype('float64')" in other.stdout
