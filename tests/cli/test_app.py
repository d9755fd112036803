"""CLI wiring: exit codes, --json, -C, crash logs, Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from mlops_cli import __version__
from tests.conftest import mlops_bin
from tests.tpl import BASIC, make_template


def test_version_fast_path_and_typer_path(mlops: Any, cli: Any) -> None:
    proc = mlops("--version")
    assert (proc.exit_code, proc.stdout) == (0, f"mlops {__version__}\n")
    assert cli("-q", "--version").stdout == f"mlops {__version__}\n"


def test_help_carries_an_example(cli: Any) -> None:
    for args in (
        ["--help"],
        ["init", "--help"],
        ["templates", "list", "--help"],
        ["config", "check", "--help"],
        ["config", "schema", "--help"],
    ):
        out = cli(*args)
        assert out.exit_code == 0
        assert "Example" in out.stdout, args


def test_usage_error_is_exit_2(cli: Any) -> None:
    assert cli("init", "--no-such-flag").exit_code == 2
    assert cli("nope").exit_code == 2


def test_outside_a_project_is_exit_3(cli: Any, tmp_path: Path) -> None:
    out = cli("-C", str(tmp_path), "config", "check")
    assert out.exit_code == 3
    assert (
        f"not an mlops project (no mlops.yaml in {tmp_path.resolve()} or any parent)" in out.stderr
    )
    assert out.stdout == ""


def test_json_error_document(cli: Any, tmp_path: Path) -> None:
    out = cli("-C", str(tmp_path), "config", "check", "--json")
    assert out.exit_code == 3
    doc = json.loads(out.stdout)
    assert doc["schema_version"] == 1
    assert doc["error"]["exit_code"] == 3
    assert doc["error"]["kind"] == "not_a_project"


def test_internal_error_is_exit_70_with_log(
    cli: Any, monkeypatch: pytest.MonkeyPatch, isolated_env: Path
) -> None:
    import mlops_cli.scaffold.templates as templates

    def boom() -> None:
        raise ZeroDivisionError("secret-token-123 must not matter")

    monkeypatch.setattr(templates, "list_templates", boom)
    out = cli("templates", "list")
    assert out.exit_code == 70
    assert "internal error: ZeroDivisionError" in out.stderr
    logs = list((isolated_env / ".cache/mlops/logs").glob("crash-*.log"))
    assert len(logs) == 1
    assert "Traceback" in logs[0].read_text()
    assert str(logs[0]) in out.stderr


def test_a_base_exception_from_a_library_is_exit_70_too(
    cli: Any, monkeypatch: pytest.MonkeyPatch, isolated_env: Path
) -> None:
    """A Rust extension's panic arrives as pyo3's PanicException, a BaseException: it is
    still a bug to report (exit 70 and a log), not a traceback."""
    import mlops_cli.scaffold.templates as templates

    class PanicException(BaseException):
        pass

    def panic() -> None:
        raise PanicException("assertion failed: offset + length <= self.length")

    monkeypatch.setattr(templates, "list_templates", panic)
    out = cli("templates", "list")
    assert out.exit_code == 70, out.stderr
    assert "internal error: PanicException: assertion failed" in out.stderr
    assert len(list((isolated_env / ".cache/mlops/logs").glob("crash-*.log"))) == 1


def test_ctrl_c_during_init_removes_the_project(tmp_path: Path) -> None:
    tpl = make_template(tmp_path / "tpl", BASIC)
    dest = tmp_path / "p"
    proc = subprocess.Popen(
        [*mlops_bin(), "init", str(dest), "-t", str(tpl)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
        env=os.environ.copy(),
    )
    # .git appears after the files are written and before DVC is set up: interrupt there.
    deadline = time.monotonic() + 30
    while not (dest / ".git").exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    assert proc.poll() is None, "init finished before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert not dest.exists()


def test_lazy_command_table_matches_the_commands() -> None:
    """`mlops --help` lists commands from a static table; it must say what they say."""
    import typer

    from mlops_cli.cli.app import COMMANDS, app

    root = typer.main.get_command(app)
    ctx = typer.Context(root, info_name="mlops")
    for name, (_, _, first_line) in COMMANDS.items():
        command = root.get_command(ctx, name)  # type: ignore[attr-defined]
        assert command is not None, name
        help_text = " ".join((command.help or "").split("\n\n")[0].split())
        assert help_text.startswith(first_line.rstrip(".")), (name, help_text)


def test_help_imports_no_command_module(tmp_path: Path) -> None:
    code = (
        "import sys; sys.argv = ['mlops', '--help']\n"
        "from mlops_cli.cli.app import run\n"
        "try:\n    run()\nexcept SystemExit:\n    pass\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('mlops_cli.cli.') "
        "or m in ('pydantic', 'rich', 'yaml', 'git', 'dvc', 'pandas', 'docker'))\n"
        "print(loaded, file=sys.stderr)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path
    )
    loaded = proc.stderr.strip().splitlines()[-1]
    # interrupts: the Ctrl-C state, which the launcher (entry) loads on every run anyway.
    want = "['mlops_cli.cli.app', 'mlops_cli.cli.console', 'mlops_cli.cli.interrupts']"
    assert loaded == want, loaded
