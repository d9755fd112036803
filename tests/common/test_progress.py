"""common/progress.py: the Reporter protocol domain code reports through, and its silent
default."""

from __future__ import annotations

import pytest

from mlops_cli.cli.console import CliReporter, State
from mlops_cli.common.progress import NullReporter, Reporter


def report_through(reporter: Reporter) -> None:
    reporter.step("one")
    reporter.warn("two")
    reporter.detail("three")


def test_the_null_reporter_says_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    report_through(NullReporter())
    assert capsys.readouterr() == ("", "")


def test_the_protocol_is_what_the_cli_and_a_recording_reporter_implement() -> None:
    class Recording:
        def __init__(self) -> None:
            self.lines: list[str] = []

        def step(self, message: str) -> None:
            self.lines.append(f"step {message}")

        def warn(self, message: str) -> None:
            self.lines.append(f"warn {message}")

        def detail(self, message: str) -> None:
            self.lines.append(f"detail {message}")

    recording = Recording()
    report_through(recording)
    assert recording.lines == ["step one", "warn two", "detail three"]
    state = State(quiet=True)
    report_through(CliReporter(state))  # the CLI's: a warning is kept for --json
    assert state.warnings == ["two"]
    for method in ("step", "warn", "detail"):
        assert callable(getattr(NullReporter(), method))
        assert method in Reporter.__dict__
