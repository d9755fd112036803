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

    from mlops_cli.common.errors import MlopsError

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
    """Root options, shared with every command through the click context.

    Under `--json` the state also owns the one document of the run: a command hands its
    result to `emit`, and the root command (`cli/app.py`) writes it once the outcome is
    known, with an `error` object added when the command failed, so stdout carries exactly
    one document whatever happened. While the command runs, stdout (the Python stream and
    file descriptor 1, which child processes inherit) points at stderr: a stray print, a
    library's or a child's output cannot reach the document's stream.
    """

    cwd: Path = field(default_factory=Path.cwd)
    quiet: bool = False
    verbose: int = 0
    json: bool = False
    warnings: list[str] = field(default_factory=list)
    _document: dict[str, Any] | None = field(default=None, repr=False)
    _written: bool = field(default=False, repr=False)
    _redirect: _StdoutToStderr | None = field(default=None, repr=False)

    @property
    def out(self) -> Console:
        return _console(sys.stdout)

    @property
    def err(self) -> Console:
        return _console(sys.stderr)

    def start_json(self) -> None:
        """From here until `finish`, nothing but the document may reach stdout."""
        self.json = True
        if self._redirect is None:
            self._redirect = _StdoutToStderr()

    def emit(self, command: str, payload: dict[str, Any], *, now: bool = False) -> None:
        """Hand over the one JSON document of a `--json` run; written by `finish`, or at
        once with `now` (a server says it is listening, then keeps running)."""
        if self._document is not None or self._written:
            raise RuntimeError(f"a second JSON document ({command!r}) in one run")
        self._document = {"schema_version": JSON_SCHEMA_VERSION, "command": command, **payload}
        if now:
            self._write_document(None)

    def finish(self, error: dict[str, Any] | None = None) -> None:
        """The run's outcome is known: give stdout back and write the document, once.

        `error` (see `error_document`) is added to the command's result when it failed
        after producing one (`status --check` with something stale); without a result the
        document is `{"command": "error", "error": ...}`."""
        if self._redirect is not None:
            self._redirect.restore()
            self._redirect = None
        if self.json:
            self._write_document(error)

    def _write_document(self, error: dict[str, Any] | None) -> None:
        if self._written:
            return
        doc = self._document
        if doc is None:
            if error is None:
                return  # nothing ran that has a result (`--help`)
            doc = {"schema_version": JSON_SCHEMA_VERSION, "command": "error"}
        doc = dict(doc)
        if self.warnings:
            have = doc.get("warnings")
            known = list(have) if isinstance(have, list) else []
            doc["warnings"] = known + [w for w in self.warnings if w not in known]
        if error is not None:
            doc["error"] = error
        text = json.dumps(doc, indent=2, default=_jsonable) + "\n"
        if self._redirect is not None:
            self._redirect.write_stdout(text)
        else:
            sys.stdout.write(text)
            sys.stdout.flush()
        self._written = True

    def info(self, message: str) -> None:
        if not self.quiet:
            self.err.print(message)

    def success(self, message: str) -> None:
        if not self.quiet:
            self.err.print(f"[green]✓[/green] {message}")

    def warn(self, message: str) -> None:
        """On stderr, always; under `--json` also in the document's `warnings`."""
        self.err.print(f"[yellow]warning:[/yellow] {escape(message)}")
        if message not in self.warnings:
            self.warnings.append(message)

    def error(self, exc: MlopsError) -> None:
        """The human-readable error, on stderr (the document is `finish`'s job)."""
        text = f"[red]error:[/red] {escape(exc.message)}"
        if exc.hint:
            text += f"\n  [dim]hint: {escape(exc.hint)}[/dim]"
        self.err.print(text)
        for problem in getattr(exc, "problems", [])[1:]:
            self.err.print(f"  {escape(problem)}")


def error_document(
    exit_code: int,
    kind: str,
    message: str,
    *,
    hint: str | None = None,
    problems: list[str] | None = None,
    paths: list[str] | None = None,
) -> dict[str, Any]:
    """The `error` object of a failed run's document (docs/json-output.md#errors)."""
    return {
        "exit_code": exit_code,
        "kind": kind,
        "message": message,
        "hint": hint,
        "problems": problems if problems is not None else [message],
        "paths": paths or [],
    }


def mlops_error_document(exc: MlopsError) -> dict[str, Any]:
    return error_document(
        exc.exit_code,
        exc.kind,
        exc.message,
        hint=exc.hint,
        problems=list(getattr(exc, "problems", [exc.message])),
        paths=[str(p) for p in getattr(exc, "paths", [])],
    )


class _StdoutToStderr:
    """Point stdout at stderr: `sys.stdout` and, when it is a real file, descriptor 1 too
    (child processes and handlers bound to the original stream write there)."""

    def __init__(self) -> None:
        self.stream = sys.stdout
        self.fd: int | None = None
        self.saved: int | None = None
        self.stream.flush()
        try:
            fd, err_fd = self.stream.fileno(), sys.stderr.fileno()
        except (AttributeError, OSError, ValueError):  # an in-memory stream (CliRunner)
            fd = err_fd = -1
        if fd >= 0 and err_fd >= 0 and fd != err_fd:
            self.saved = os.dup(fd)
            os.dup2(err_fd, fd)
            self.fd = fd
        sys.stdout = sys.stderr

    def write_stdout(self, text: str) -> None:
        """Write to the real stdout while the redirection holds."""
        if self.saved is None:
            self.stream.write(text)
            self.stream.flush()
            return
        data = text.encode(getattr(self.stream, "encoding", None) or "utf-8")
        while data:
            data = data[os.write(self.saved, data) :]

    def restore(self) -> None:
        sys.stderr.flush()
        if self.saved is not None:
            # Whatever went to the original stream's buffer meanwhile belongs to stderr too.
            self.stream.flush()
        sys.stdout = self.stream
        if self.saved is not None and self.fd is not None:
            os.dup2(self.saved, self.fd)
            os.close(self.saved)
            self.saved = None


def _jsonable(value: Any) -> Any:
    """Dataclasses from the domain packages become objects, paths become strings."""
    import dataclasses

    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    return str(value)


class CliReporter:
    """The domain `Reporter` for a terminal or a CI log: one plain line per step, on stderr."""

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
