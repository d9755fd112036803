"""cli/status.py: `mlops status` as a user runs it, the installed command in a real project
(git, DVC, a local DVC remote): the human view, the `--json` document, and the exit codes
of `--check` (0 clean, 1 stale, 3 no project, 2 usage; docs/exit-codes.md).

What each finding means is tested in tests/status/test_status.py (status/status.py); here,
what the command makes of the report.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.datarepo import CSV, git, new_project, write
from tests.modelproject import NAME, copy_of, trained

STALE = "prices: workspace differs from the committed version -> mlops data add data/prices.csv"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mlops: Any) -> Path:
    """`mlops init -t minimal`, one data set added with `mlops data add` and committed."""
    monkeypatch.setenv("MLOPS_REMOTES_DIR", str(tmp_path / "remotes"))
    root = new_project(tmp_path / "proj").root
    write(root / "data/prices.csv", CSV)
    added = mlops("data", "add", "data/prices.csv", cwd=root)
    assert added.exit_code == 0, added.stderr
    git(root, "add", "-A")
    git(root, "commit", "-qm", "data")
    return root


def _lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.splitlines()]


def test_a_clean_project(project: Path, mlops: Any) -> None:
    out = mlops("status", cwd=project)
    assert out.exit_code == 0, out.stderr
    lines = _lines(out.stdout)
    assert lines[0].split() == ["data", "set", "path", "state", "tracked", "by", "remote"]
    assert lines[1].split() == ["prices", "data/prices.csv", "ok", "data/prices.csv.dvc"]
    assert "✓ everything is up to date" in lines
    assert "model" not in out.stdout  # no models: no models table
    checked = mlops("status", "--check", cwd=project)
    assert (checked.exit_code, checked.stdout, checked.stderr) == (0, out.stdout, "")


def test_a_clean_project_as_json(project: Path, mlops: Any) -> None:
    out = mlops("status", "--check", "--json", cwd=project)
    assert out.exit_code == 0, out.stderr
    doc = json.loads(out.stdout)
    assert {k: doc[k] for k in ("schema_version", "command", "clean", "models", "findings")} == {
        "schema_version": 1,
        "command": "status",
        "clean": True,
        "models": [],
        "findings": [],
    }
    [dataset] = doc["datasets"]
    assert dataset["dataset"] == "prices" and dataset["state"] == "ok"
    assert dataset["md5"] == dataset["workspace_md5"] and dataset["size"] == len(CSV)
    assert dataset["on_remote"] is None  # not asked without --remote
    assert "error" not in doc


def test_stale_data_is_shown_with_its_fix_and_fails_the_check(project: Path, mlops: Any) -> None:
    (project / "data/prices.csv").write_bytes(CSV + b"4,1.0\n")
    out = mlops("status", cwd=project)
    assert out.exit_code == 0, out.stderr  # without --check a view, not a gate
    lines = _lines(out.stdout)
    assert lines[1].split()[:3] == ["prices", "data/prices.csv", "modified"]
    at = lines.index("stale prices: workspace differs from the committed version")
    assert lines[at + 1].strip() == "fix: mlops data add data/prices.csv"
    assert "everything is up to date" not in out.stdout
    checked = mlops("status", "--check", cwd=project)
    assert checked.exit_code == 1
    assert checked.stdout == out.stdout
    assert _lines(checked.stderr) == [STALE, f"error: 1 thing(s) stale in {project}"]


def test_stale_data_as_json_is_one_document_with_the_error(project: Path, mlops: Any) -> None:
    (project / "data/prices.csv").write_bytes(CSV + b"4,1.0\n")
    out = mlops("status", "--check", "--json", cwd=project)
    assert out.exit_code == 1
    doc = json.loads(out.stdout)
    assert doc["clean"] is False
    assert doc["findings"] == [
        {
            "area": "data",
            "subject": "prices",
            "problem": "workspace differs from the committed version",
            "fix": "mlops data add data/prices.csv",
            "blocking": True,
        }
    ]
    assert doc["datasets"][0]["state"] == "modified"
    assert doc["error"]["exit_code"] == 1 and doc["error"]["kind"] == "check_failed"
    assert doc["error"]["message"] == f"1 thing(s) stale in {project}"
    assert STALE in out.stderr  # the reasons go to stderr, the document alone to stdout
    unchecked = mlops("status", "--json", cwd=project)
    assert unchecked.exit_code == 0 and "error" not in json.loads(unchecked.stdout)


def test_remote_asks_the_dvc_remote(project: Path, mlops: Any) -> None:
    out = mlops("status", "--remote", cwd=project)
    assert out.exit_code == 0, out.stderr
    lines = _lines(out.stdout)
    assert lines[1].split()[-2:] == ["NOT", "PUSHED"]
    assert any(
        line.startswith("stale prices (data/prices.csv): not on DVC remote") for line in lines
    )
    note = lines.index("note  tags: the repository has no git remote")  # a note, not stale
    assert lines[note + 1].strip() == "fix: git remote add origin URL"
    assert mlops("status", "--check", "--remote", cwd=project).exit_code == 1
    assert mlops("status", "--check", cwd=project).exit_code == 0  # the remote was not asked

    assert mlops("data", "push", cwd=project).exit_code == 0
    pushed = mlops("status", "--check", "--remote", "--json", cwd=project)
    assert pushed.exit_code == 0, pushed.stderr  # a note does not fail the check
    doc = json.loads(pushed.stdout)
    assert doc["datasets"][0]["on_remote"] is True
    assert [(f["subject"], f["blocking"]) for f in doc["findings"]] == [("tags", False)]
    assert _lines(mlops("status", "--remote", cwd=project).stdout)[1].split()[-1] == "pushed"


def test_markup_in_a_path_is_printed_as_written(project: Path, mlops: Any) -> None:
    write(project / "data/[bold]x.csv", CSV)
    assert mlops("data", "add", "data/[bold]x.csv", cwd=project).exit_code == 0
    git(project, "add", "-A")
    git(project, "commit", "-qm", "more data")
    (project / "data/[bold]x.csv").write_bytes(CSV + b"4,1.0\n")
    out = mlops("status", "--check", cwd=project)
    assert out.exit_code == 1
    assert "data/[bold]x.csv" in out.stdout  # in the table and in the fix
    assert "fix: mlops data add data/[bold]x.csv" in out.stdout
    assert "mlops data add data/[bold]x.csv" in out.stderr


def test_a_models_table_for_a_project_with_models(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, mlops: Any
) -> None:
    root = copy_of(trained(tmp_path_factory), tmp_path)
    out = mlops("status", "--check", cwd=root)
    assert out.exit_code == 0, out.stderr  # a missing version is a note
    lines = _lines(out.stdout)
    header = next(i for i, line in enumerate(lines) if line.startswith("model "))
    assert lines[header].split() == ["model", "latest", "stages", "tests", "images"]
    assert lines[header + 1].split()[:3] == [NAME, "-", "-"]
    assert f"note  {NAME}: no registered version" in lines
    doc = json.loads(mlops("status", "--json", cwd=root).stdout)
    assert [m["name"] for m in doc["models"]] == [NAME]
    assert doc["models"][0]["latest"] is None and doc["clean"] is True
    # With models declared, the fast path still loads neither typer nor pydantic once
    # mlops.yaml's validated form is kept (registry/gate.py imports the config type lazily).
    import subprocess
    import sys

    seen = subprocess.run(
        [sys.executable, "-c", SEEN, "status"], cwd=root, capture_output=True, text=True
    )
    assert seen.stderr.strip().splitlines()[-1] == "loaded: []", seen.stderr


def test_outside_a_project(tmp_path: Path, mlops: Any) -> None:
    out = mlops("status", cwd=tmp_path)
    assert out.exit_code == 3
    assert out.stdout == "" and "mlops.yaml" in out.stderr
    doc = json.loads(mlops("status", "--json", cwd=tmp_path).stdout)
    assert doc["error"]["exit_code"] == 3


def test_an_unknown_option_is_a_usage_error(project: Path, mlops: Any) -> None:
    out = mlops("status", "--chek", cwd=project)
    assert out.exit_code == 2
    assert "--chek" in out.stderr


FULL_PATH = "import sys; sys.argv[0] = 'mlops'; from mlops_cli.cli.app import run; run()"
SEEN = (
    "import atexit, sys; atexit.register(lambda: sys.stderr.write("
    "f\"\\nloaded: {sorted(m for m in ('typer', 'pydantic') if m in sys.modules)}\\n\"));"
    " sys.argv[0] = 'mlops'; from mlops_cli.cli.entry import main; main()"
)


def _full(root: Path, *args: str) -> tuple[int, str, str]:
    """`mlops ARGS` through the Typer app, as before the fast path."""
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-c", FULL_PATH, *args], cwd=root, capture_output=True, text=True
    )
    return proc.returncode, proc.stdout, proc.stderr


@pytest.mark.parametrize("stale", [False, True])
def test_the_fast_path_prints_what_the_full_command_prints(
    project: Path, mlops: Any, stale: bool
) -> None:
    if stale:
        (project / "data/prices.csv").write_bytes(CSV + b"4,1.0\n")
    for args in ([], ["--json"], ["--check"], ["--check", "--json"], ["--json", "--check"]):
        fast = mlops("status", *args, cwd=project)
        assert (fast.exit_code, fast.stdout, fast.stderr) == _full(project, "status", *args)


def test_the_fast_path_loads_neither_typer_nor_pydantic(project: Path) -> None:
    import subprocess
    import sys

    def loaded(*args: str) -> str:
        proc = subprocess.run(
            [sys.executable, "-c", SEEN, *args], cwd=project, capture_output=True, text=True
        )
        return proc.stderr.strip().splitlines()[-1]

    from mlops_cli.common.fs import user_cache_dir

    (user_cache_dir(project) / "config.json").unlink(missing_ok=True)
    assert loaded("status") == "loaded: ['pydantic']"  # mlops.yaml validated once, kept
    assert loaded("status") == "loaded: []"
    assert loaded("status", "--check", "--json") == "loaded: []"
    assert loaded("status", "--remote") == "loaded: ['pydantic', 'typer']"  # the full command
    assert loaded("-q", "status") == "loaded: ['pydantic', 'typer']"


def test_the_fast_path_hands_errors_to_the_full_command(project: Path, mlops: Any) -> None:
    config = project / "mlops.yaml"
    config.write_bytes(config.read_bytes() + b"unknown_key: 1\n")
    for args in ([], ["--json"]):
        out = mlops("status", *args, cwd=project)
        assert out.exit_code == 3 and "unknown_key" in out.stderr + out.stdout
        assert (out.exit_code, out.stdout, out.stderr) == _full(project, "status", *args)
