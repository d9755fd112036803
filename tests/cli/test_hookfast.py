"""cli/hookfast.py: `mlops validate --hook` answered from the cache before typer loads, and
falling through (None) whenever it cannot answer exactly as the full command would."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlops_cli.cli.hookfast import _dataset_refs, fast_hook, plain_lines
from mlops_cli.validation import cache as valcache
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


def _no_scan(*_a: object, **_k: object) -> object:
    raise AssertionError("the file was read although its stat entry was fresh")


def test_after_a_checkout_the_fast_path_rehashes_once_and_then_hits(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A `touch` (what a checkout does to mtimes) makes the stat entry stale: the fast path
    hashes the file itself, finds the validated content, records the new stat, and the next
    run reads nothing."""
    from mlops_cli.validation import cache as valcache

    data = project / "data" / "customers.csv"
    run_validation(project, ["data/customers.csv"], hook=True)
    backdate(data, 600)  # touched, a while before the commit: outside the racy window
    assert fast_hook(["--hook", "data/customers.csv"]) == 0
    assert capsys.readouterr().out == "PASS customers: data/customers.csv, 50 rows (cached)\n"
    monkeypatch.setattr(valcache, "scan_file", _no_scan)
    assert fast_hook(["--hook", "data/customers.csv"]) == 0


def test_a_touched_file_whose_bytes_changed_is_still_validated(project: Path) -> None:
    data = project / "data" / "customers.csv"
    run_validation(project, ["data/customers.csv"], hook=True)
    bad = rows(50)
    bad[3][1] = "130"
    write_csv(data, bad)
    backdate(data, 600)
    assert fast_hook(["--hook", "data/customers.csv"]) is None  # the full command decides
    run = run_validation(project, ["data/customers.csv"], hook=True)
    assert not run.passed


def test_a_file_touched_within_the_racy_window_is_not_recorded(project: Path) -> None:
    data = project / "data" / "customers.csv"
    run_validation(project, ["data/customers.csv"], hook=True)
    data.touch()  # a change within the same timestamp tick could go unseen: no entry
    assert fast_hook(["--hook", "data/customers.csv"]) is None


# Many real `mlops validate --hook` processes after a checkout, all at once: each may refresh
# the stat cache without the repo lock; afterwards the entry is whole and right, and the next
# hook is a cache hit that reads no data.

HOOKS = 12
# The console script, saying at exit whether the full CLI loaded (the fast path did not answer).
ENTRY = (
    "import atexit, sys; from mlops_cli.cli.entry import main; sys.argv[0] = 'mlops';"
    " atexit.register(lambda: sys.stderr.write('typer' in sys.modules and 'FULL\\n' or ''));"
    " main()"
)


def test_concurrent_hooks_after_a_checkout_leave_a_valid_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = write_project(tmp_path / "p")
    data = root / "data" / "customers.csv"
    backdate(data)
    run_validation(root, ["data/customers.csv"], hook=True)
    backdate(data, 600)  # the checkout: a new mtime and ctime, the same bytes
    entries = sorted((valcache.cache_dir(root) / "stat").glob("*.json"))
    stale = {p: p.read_bytes() for p in entries}
    argv = [sys.executable, "-c", ENTRY, "validate", "--hook", "data/customers.csv"]
    procs = [
        subprocess.Popen(argv, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(HOOKS)
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0] * HOOKS, [e for _, e in outs]
    assert [e for _, e in outs] == [b""] * HOOKS  # every one answered before typer loaded
    assert all(o.startswith(b"PASS customers: data/customers.csv, 50 rows") for o, _ in outs)
    folder = valcache.cache_dir(root) / "stat"
    names = sorted(p.name for p in folder.iterdir())
    assert names == sorted(p.name for p in entries)  # one entry, no temp file left
    entry = json.loads((folder / names[0]).read_bytes())
    st = valcache.FileStat.of(data)
    assert entry != json.loads(stale[folder / names[0]])
    assert entry["sha256"] == "sha256:" + hashlib.sha256(data.read_bytes()).hexdigest()
    assert (entry["size"], entry["mtime_ns"], entry["ctime_ns"], entry["ino"]) == (
        st.size, st.mtime_ns, st.ctime_ns, st.ino,
    )  # fmt: skip

    def no_scan(*_a: object, **_k: object) -> object:
        raise AssertionError("the next hook read the data")

    monkeypatch.chdir(root)
    monkeypatch.setattr(valcache, "scan_file", no_scan)
    assert fast_hook(["--hook", "data/customers.csv"]) == 0


# `mlops config check`: the fast path against the full command, as real processes.
FULL = "import sys; from mlops_cli.cli.app import run; sys.argv[0] = 'mlops'; run()"
CONFIGS = {
    "valid": "project: demo\n",
    "valid-datasets": "project: d\ndatasets:\n  a: {path: d/a.csv, delimiter: ';'}\n",
    "typo": "project: demo\nstagse: [dev]\n",
    "version": "schema_version: 2\nproject: demo\n",
    "name": "project: has space\n",
    "stages": "project: demo\nstages: [dev, dev]\n",
    "encoding": "project: d\ndatasets:\n  a: {path: x, encoding: klingon}\n",
    "marks": "project: d\ndatasets:\n  a: {path: x, delimiter: ',', decimal: ','}\n",
    "dangling": "project: d\nmodels:\n  m: {path: m, target: y, train_data: [nope]}\n",
    "port": "project: d\nimage: {port: 70000}\n",
    "syntax": "project: [\n",
    "empty": "",
    "tag": "project: !!python/object:os.system x\n",
    "list": "- a\n",
}


@pytest.mark.parametrize("case", sorted(CONFIGS))
def test_config_check_fast_and_full_agree(tmp_path: Path, case: str) -> None:
    (tmp_path / "mlops.yaml").write_text(CONFIGS[case], encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE")}
    outs = []
    for script in (ENTRY, FULL):
        argv = [sys.executable, "-c", script, "config", "check", "mlops.yaml"]
        proc = subprocess.run(argv, cwd=tmp_path, capture_output=True, env=env, timeout=120)
        outs.append((proc.returncode, proc.stdout, proc.stderr.replace(b"FULL\n", b"")))
        if script is ENTRY:
            answered = b"FULL\n" not in proc.stderr
    assert outs[0] == outs[1]
    assert answered == case.startswith("valid")  # the fast path decided every valid file


PYDANTIC = (
    "import atexit, sys; from mlops_cli.cli.entry import main; sys.argv[0] = 'mlops';"
    " atexit.register(lambda: sys.stderr.write('pydantic' in sys.modules and 'PYDANTIC\\n' or ''));"
    " main()"
)


def _config_check(root: Path) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE")}
    argv = [sys.executable, "-c", PYDANTIC, "config", "check", "mlops.yaml"]
    return subprocess.run(argv, cwd=root, capture_output=True, env=env, timeout=120)


def test_config_check_of_unchanged_bytes_loads_no_pydantic(tmp_path: Path) -> None:
    config = tmp_path / "mlops.yaml"
    config.write_text(CONFIGS["valid-datasets"], encoding="utf-8")
    first = _config_check(tmp_path)
    assert (first.returncode, b"PYDANTIC" in first.stderr) == (0, True)
    assert valcache.config_marker(tmp_path, config.read_bytes()).exists()
    second = _config_check(tmp_path)
    assert (second.returncode, b"PYDANTIC" in second.stderr) == (0, False)
    assert second.stderr.replace(b"PYDANTIC\n", b"") == first.stderr.replace(b"PYDANTIC\n", b"")
    # One byte more is other bytes: parsed and judged again.
    config.write_text(CONFIGS["valid-datasets"].replace("d/a.csv", "d/b.csv"), encoding="utf-8")
    assert b"PYDANTIC" in _config_check(tmp_path).stderr


def test_a_config_marker_planted_in_the_repository_is_not_believed(tmp_path: Path) -> None:
    """A clone force-commits `.mlops/cache/validation/config/<key>` for an invalid
    mlops.yaml, where the marker lived before: `config check` must still say exit 3."""
    config = tmp_path / "mlops.yaml"
    config.write_text(CONFIGS["typo"], encoding="utf-8")
    name = valcache.config_marker(tmp_path, config.read_bytes()).name
    planted = tmp_path / ".mlops" / "cache" / "validation" / "config" / name
    planted.parent.mkdir(parents=True)
    planted.write_text("")
    run = _config_check(tmp_path)
    assert run.returncode == 3, run.stderr
    assert b"stagse" in run.stderr
    assert not valcache.config_marker(tmp_path, config.read_bytes()).exists()
