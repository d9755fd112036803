"""How domain code reports progress without knowing about terminals.

The CLI implements `Reporter` with rich on a TTY and plain lines elsewhere; domain code calls
it and never prints.
"""

from __future__ import annotations

from typing import Protocol


class Reporter(Protocol):
    def step(self, message: str) -> None:
        """A new step of the operation started."""

    def warn(self, message: str) -> None:
        """Something the user should know, that does not stop the operation."""

    def detail(self, message: str) -> None:
        """Verbose-only information."""


class NullReporter:
    def step(self, message: str) -> None:
        pass

    def warn(self, message: str) -> None:
        pass

    def detail(self, message: str) -> None:
        pass
