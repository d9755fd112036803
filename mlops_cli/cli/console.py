"""The one place that writes to the terminal: stdout for results, stderr for the rest.

`--json` puts exactly one JSON document on stdout; everything else (progress, warnings,
errors) goes to stderr, as plain lines when stderr is not a terminal.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    from mlops_cli.core.errors import MlopsError

JSON_SCHEMA_VERSION = 1


def _console(stream: Any) -> Console:
    # rich is imported on first output, not at start-up: `mlops --help` must stay fast.
    # NO_COLOR is honoured by rich itself; highlight=False keeps paths and numbers plain.
    from rich.console import Console

    return Console(file=stream, highlight=False, soft_wrap=True, emoji=False)


def escape(text: str) -> str:
    from rich.markup import escape as rich_escape

    return rich_escape(text)


@dataclass
class State:
    """Root options, shared with every command through the click context."""

    cwd: Path = field(default_factory=Path.cwd)
    quiet: bool = False
    verbose: int = 0
    json: bool = False

    @property
    def out(self) -> Console:
        return _console(sys.stdout)

    @property
    def err(self) -> Console:
        return _console(sys.stderr)

    def emit(self, command: str, payload: dict[str, Any]) -> None:
        """Print the one JSON document of a `--json` run."""
        doc = {"schema_version": JSON_SCHEMA_VERSION, "command": command, **payload}
        sys.stdout.write(json.dumps(doc, indent=2, default=_jsonable) + "\n")
        sys.stdout.flush()

    def info(self, message: str) -> None:
        if not self.quiet:
            self.err.print(message)

    def success(self, message: str) -> None:
        if not self.quiet:
            self.err.print(f"[green]✓[/green] {message}")

    def warn(self, message: str) -> None:
        self.err.print(f"[yellow]warning:[/yellow] {escape(message)}")

    def error(self, exc: MlopsError) -> None:
        text = f"[red]error:[/red] {escape(exc.message)}"
        if exc.hint:
            text += f"\n  [dim]hint: {escape(exc.hint)}[/dim]"
        self.err.print(text)
        for problem in getattr(exc, "problems", [])[1:]:
            self.err.print(f"  {escape(problem)}")
        if self.json:
            self.emit(
                "error",
                {
                    "error": {
                        "exit_code": exc.exit_code,
                        "kind": exc.kind,
                        "message": exc.message,
                        "hint": exc.hint,
                        "problems": getattr(exc, "problems", [exc.message]),
                        "paths": getattr(exc, "paths", []),
                    }
                },
            )


def _jsonable(value: Any) -> Any:
    """Dataclasses from core become objects, paths become strings."""
    import dataclasses

    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    return str(value)


class CliReporter:
    """core's `Reporter` for a terminal or a CI log: one plain line per step, on stderr."""

    def __init__(self, state: State) -> None:
        self.state = state

    def step(self, message: str) -> None:
        self.state.info(f"[dim]•[/dim] {escape(message)}")

    def warn(self, message: str) -> None:
        self.state.warn(message)

    def detail(self, message: str) -> None:
        if self.state.verbose:
            self.state.err.print(f"  [dim]{escape(message)}[/dim]")


def stdin_is_interactive() -> bool:
    return sys.stdin.isatty() and os.environ.get("CI", "").lower() not in ("1", "true")
