"""cli/console.py: stdout carries results (under --json exactly one document), stderr the
rest; errors as documents; the reporter's lines."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mlops_cli.cli.console import (
    JSON_SCHEMA_VERSION,
    CliReporter,
    State,
    error_document,
    mlops_error_document,
    stdin_is_interactive,
)
from mlops_cli.common.errors import ConflictError, InputError


def run_python(code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=True,
    )


def test_under_json_nothing_but_the_document_reaches_stdout(tmp_path: Path) -> None:
    """A stray print, a child process writing to descriptor 1 and a warning all go to
    stderr; the document is written once, at the end, with the warnings in it."""
    proc = run_python(
        """
        import os, subprocess, sys
        from mlops_cli.cli.console import State
        st = State()
        st.start_json()
        print("stray print")
        subprocess.run([sys.executable, "-c", "print('from a child')"], check=True)
        os.write(1, b"raw fd 1\\n")
        st.warn("something odd")
        st.emit("demo", {"value": 1})
        st.finish()
        print("after the run")
        """,
        tmp_path,
    )
    doc_text, after = proc.stdout.rsplit("}\n", 1)
    doc = json.loads(doc_text + "}")
    assert doc == {
        "schema_version": JSON_SCHEMA_VERSION,
        "command": "demo",
        "value": 1,
        "warnings": ["something odd"],
    }
    assert after == "after the run\n"  # stdout is given back by finish
    for line in ("stray print", "from a child", "raw fd 1", "warning: something odd"):
        assert line in proc.stderr


def test_a_failed_run_has_an_error_document(capsys: pytest.CaptureFixture[str]) -> None:
    st = State()
    st.start_json()
    exc = ConflictError("2 file(s) would be overwritten", paths=["a", "b"], hint="pass --x")
    st.error(exc)
    st.finish(mlops_error_document(exc))
    out, err = capsys.readouterr()
    assert json.loads(out) == {
        "schema_version": JSON_SCHEMA_VERSION,
        "command": "error",
        "error": {
            "exit_code": 3,
            "kind": "conflict",
            "message": "2 file(s) would be overwritten",
            "hint": "pass --x",
            "problems": ["2 file(s) would be overwritten"],
            "paths": ["a", "b"],
        },
    }
    assert err == "error: 2 file(s) would be overwritten\n  hint: pass --x\n"


def test_a_result_keeps_its_error_and_one_document_only(
    capsys: pytest.CaptureFixture[str],
) -> None:
    st = State(json=True)
    st.emit("status", {"stale": ["data"]})
    with pytest.raises(RuntimeError, match="a second JSON document"):
        st.emit("status", {})
    st.finish(error_document(1, "check_failed", "stale"))
    st.finish()  # written once
    doc = json.loads(capsys.readouterr().out)
    assert doc["stale"] == ["data"]
    assert doc["error"]["problems"] == ["stale"] and doc["error"]["paths"] == []


def test_no_result_and_no_error_is_no_document(capsys: pytest.CaptureFixture[str]) -> None:
    st = State()
    st.start_json()
    st.finish()  # `mlops status --json --help`
    assert capsys.readouterr().out == ""


@dataclass
class Row:
    path: Path
    size: int


def test_dataclasses_and_paths_in_a_document(capsys: pytest.CaptureFixture[str]) -> None:
    st = State(json=True)
    st.emit("x", {"rows": [Row(Path("data/a.csv"), 3)]}, now=True)
    assert json.loads(capsys.readouterr().out)["rows"] == [{"path": "data/a.csv", "size": 3}]


def test_messages_are_escaped_and_quiet_silences_all_but_warnings(
    capsys: pytest.CaptureFixture[str],
) -> None:
    st = State()
    st.warn("[red]not markup[/red]")
    st.warn("[red]not markup[/red]")  # said twice, listed once
    st.error(InputError("bad [bold]x[/bold]"))
    assert capsys.readouterr().err == (
        "warning: [red]not markup[/red]\n" * 2 + "error: bad [bold]x[/bold]\n"
    )
    assert st.warnings == ["[red]not markup[/red]"]
    quiet = State(quiet=True)
    quiet.info("hello")
    quiet.success("done")
    quiet.warn("careful")
    assert capsys.readouterr().err == "warning: careful\n"


def test_the_reporter_steps_and_details_only_when_verbose(
    capsys: pytest.CaptureFixture[str],
) -> None:
    reporter = CliReporter(State())
    reporter.step("hashing [data]")
    reporter.detail("not shown")
    reporter.warn("odd")
    loud = CliReporter(State(verbose=1))
    loud.detail("shown")
    assert capsys.readouterr().err == "• hashing [data]\nwarning: odd\n  shown\n"


@pytest.mark.parametrize(("ci", "expected"), [("", True), ("true", False), ("1", False)])
def test_prompts_only_on_a_terminal_outside_ci(
    monkeypatch: pytest.MonkeyPatch, ci: str, expected: bool
) -> None:
    class Tty:
        def isatty(self) -> bool:
            return True

    tty: Any = Tty()
    monkeypatch.setattr(sys, "stdin", tty)
    monkeypatch.setenv("CI", ci)
    assert stdin_is_interactive() is expected
    monkeypatch.setattr(sys, "stdin", open(__file__))  # noqa: SIM115
    assert stdin_is_interactive() is False
