"""cli/entry.py: the console script, before and around the app."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import types
from pathlib import Path

import pytest

from mlops_cli.cli import entry, interrupts


@pytest.fixture(autouse=True)
def _sigint_restored(monkeypatch: pytest.MonkeyPatch) -> object:
    """entry.main() installs its Ctrl-C handler: give pytest its own back afterwards."""
    before = signal.getsignal(signal.SIGINT)
    monkeypatch.setattr(interrupts, "_sigint_seen", False)
    yield
    signal.signal(signal.SIGINT, before)


def test_a_ctrl_c_that_library_code_swallowed_still_exits_130(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def swallowing() -> None:
        try:
            os.kill(os.getpid(), signal.SIGINT)
            signal.sigtimedwait([], 0)  # a point where Python runs the handler
            raise AssertionError("the handler did not raise")
        except BaseException as exc:  # what a careless library does
            assert isinstance(exc, KeyboardInterrupt)
        raise SystemExit(0)  # and the command then "succeeds"

    monkeypatch.setattr(interrupts, "_lost_interrupt", False)
    monkeypatch.setattr(entry, "_main", swallowing)
    monkeypatch.setattr(sys, "unraisablehook", sys.unraisablehook)
    with pytest.raises(SystemExit) as done:
        entry.main()
    assert done.value.code == 130
    assert capsys.readouterr().err == "interrupted\n"
    assert signal.getsignal(signal.SIGINT) is interrupts.on_sigint


def test_a_command_that_ran_to_its_end_after_a_lost_ctrl_c_exits_130(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    lost = types.SimpleNamespace(
        exc_type=KeyboardInterrupt, exc_value=KeyboardInterrupt(), exc_traceback=None,
        err_msg=None, object=None,
    )  # fmt: skip

    def finished() -> None:
        raise SystemExit(0)  # the command completed (typer always exits via SystemExit)

    monkeypatch.setattr(interrupts, "_lost_interrupt", False)
    monkeypatch.setattr(entry, "_main", finished)
    monkeypatch.setattr(sys, "unraisablehook", sys.unraisablehook)  # main() replaces it
    with pytest.raises(SystemExit) as done:
        entry.main()
    assert done.value.code == 0  # nothing lost: the command's own exit
    interrupts._unraisable(lost)  # type: ignore[arg-type]
    with pytest.raises(SystemExit) as done:
        entry.main()
    assert done.value.code == 130
    assert capsys.readouterr().err == "interrupted\n"


def test_a_ctrl_c_while_importing_is_exit_130_without_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def importing() -> None:
        raise RuntimeError("while building a class") from KeyboardInterrupt()

    monkeypatch.setattr(interrupts, "_lost_interrupt", False)
    monkeypatch.setattr(entry, "_main", importing)
    monkeypatch.setattr(sys, "unraisablehook", sys.unraisablehook)
    with pytest.raises(SystemExit) as done:
        entry.main()
    assert done.value.code == 130
    assert capsys.readouterr().err == "interrupted\n"

    def broken() -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(entry, "_main", broken)
    with pytest.raises(RuntimeError, match="a bug"):
        entry.main()


def test_importing_the_entry_point_loads_only_the_standard_library(tmp_path: Path) -> None:
    """Until `main()` runs, Python owns Ctrl-C: the launcher's import of this module must
    stay tiny (docs/exit-codes.md). Only entry and its Ctrl-C state, nothing third-party."""
    code = (
        "import sys, json\n"
        "before = set(sys.modules)\n"
        "import mlops_cli.cli.entry\n"
        "new = sorted(set(sys.modules) - before)\n"
        "stdlib = sys.stdlib_module_names\n"
        "print(json.dumps({\n"
        "    'mlops': [m for m in new if m.startswith('mlops_cli')],\n"
        "    'other': [m for m in new if not m.startswith('mlops_cli')\n"
        "              and m.partition('.')[0] not in stdlib],\n"
        "}))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, check=True
    )
    loaded = json.loads(proc.stdout)
    assert loaded == {
        "mlops": ["mlops_cli", "mlops_cli.cli", "mlops_cli.cli.entry", "mlops_cli.cli.interrupts"],
        "other": [],
    }
