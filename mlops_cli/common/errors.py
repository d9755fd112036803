"""The errors a user can cause, each carrying its exit code (DESIGN.md §5).

Domain packages raise these; `cli/app.py` is the one place that turns them into exit codes.
A message says what happened, to which file, and what to do next, on one line.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_USAGE = 2
EXIT_INPUT = 3
EXIT_UNSAFE = 4
EXIT_BUSY = 5
EXIT_INTERNAL = 70
EXIT_INTERRUPTED = 130


class MlopsError(Exception):
    """An expected failure: the user gets `message` on one line and `exit_code`."""

    exit_code: int = EXIT_INPUT
    kind: str = "error"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message} ({self.hint})"


class CheckFailed(MlopsError):
    """A check ran and failed: validation, a model test, a stale status."""

    exit_code = EXIT_CHECK_FAILED
    kind = "check_failed"


class UsageError(MlopsError):
    """Arguments that do not make sense together (Click handles its own parse errors)."""

    exit_code = EXIT_USAGE
    kind = "usage"


class InputError(MlopsError):
    """Bad input or environment: a missing file, an unreadable one, a tool not installed."""

    exit_code = EXIT_INPUT
    kind = "input"


class ConfigError(InputError):
    """`mlops.yaml` (or another YAML file we read) is malformed or invalid."""

    kind = "config"


class NotAProject(InputError):
    kind = "not_a_project"


class ConflictError(InputError):
    """Writing would overwrite files the user has; nothing was changed."""

    kind = "conflict"

    def __init__(self, message: str, *, paths: list[str], hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.paths = paths


class ExternalToolError(InputError):
    """git, DVC or another tool we drive failed."""

    kind = "external_tool"


class UnsafeError(MlopsError):
    """Refused as unsafe: untrusted pickle, template escaping its folder, secret in context."""

    exit_code = EXIT_UNSAFE
    kind = "unsafe"


class BusyError(MlopsError):
    """Another mlops process holds the repo lock."""

    exit_code = EXIT_BUSY
    kind = "busy"


def dotted_key(loc: tuple[object, ...] | list[object]) -> str:
    """A pydantic error location as `models.churn.path`: each key as written when it is a
    plain name, else quoted with escapes, since a key from a hostile file may hold a newline
    and every message stays on one line."""

    def part(p: object) -> str:
        text = str(p)
        return text if text and text.isprintable() and text.strip() == text else repr(text)

    return ".".join(part(p) for p in loc)
