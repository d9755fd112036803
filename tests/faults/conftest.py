"""The fault-injection summary: how many interruptions ran and passed, and the seed."""

from __future__ import annotations

import pytest

from tests.faults.harness import SEED, TALLY


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not TALLY.run:
        return
    terminalreporter.write_sep("-", "fault injection")
    terminalreporter.write_line(
        f"interruptions: {TALLY.run} run, {TALLY.passed} passed "
        f"({TALLY.hit} hit a running process, {TALLY.prestart} of them in Python's own"
        f" start-up before mlops code ran; MLOPS_FAULT_SEED={SEED} replays the delays)"
    )
    for failed in TALLY.failed:
        terminalreporter.write_line(f"  failed: {failed}")
