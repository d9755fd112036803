"""The Ctrl-C state of one `mlops` run, shared by the launcher (`entry.py`) and the app.

`entry.main` installs `_unraisable` before anything else runs; the app calls
`check_interrupt` after each lazy import and `was_interrupted` when it maps an exception to
an exit code. Here rather than in `entry.py`, so that the app and the launcher do not
import each other.

Imported by `entry.py` before `main()` runs, like `entry.py` itself: standard library only
(`sys`), nothing that runs code at import time. See docs/exit-codes.md.
"""

import sys

_lost_interrupt = False
_sigint_seen = False


def on_sigint(signum: int, frame: object) -> None:
    """Python's own Ctrl-C handler (raise KeyboardInterrupt) that also remembers it ran, so
    that code which swallows the exception (a bare `except:` in a library, C code clearing
    any error) cannot make the run end with exit 0 as if no Ctrl-C had come (seen once in
    CI: `model register` interrupted mid-run printed its success and exited 0)."""
    global _sigint_seen
    _sigint_seen = True
    raise KeyboardInterrupt


def sigint_seen() -> bool:
    return _sigint_seen


def was_interrupted(exc: BaseException) -> bool:
    """Is `exc` a Ctrl-C, or an error Python raised because of one? Python 3.11 turns a
    KeyboardInterrupt inside a class body's `__set_name__` (a `cached_property` in the
    standard library's ipaddress, imported by pathlib) into a RuntimeError caused by it;
    library code may wrap it too. Walks `__cause__` and `__context__`."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        cur = todo.pop()
        if cur is None or id(cur) in seen:
            continue
        if isinstance(cur, KeyboardInterrupt):
            return True
        seen.add(id(cur))
        todo += [cur.__cause__, cur.__context__]
    return False


def _unraisable(args: "sys.UnraisableHookArgs") -> None:  # a typeshed-only name
    """A Ctrl-C that lands in a callback Python cannot raise from (an import lock's weakref
    callback at startup) is printed as "Exception ignored ... Traceback" and then lost.
    Remember it instead; `check_interrupt` raises it at the next checkpoint (after the app
    and each command's module are imported), and failing that the exit code is still 130.
    Nothing here may raise or call into C code that checks for signals: raising, or
    `signal.raise_signal` or `_thread.interrupt_main` (which Python acts on as soon as the
    call returns, still inside this hook), is itself "ignored in sys.unraisablehook"."""
    global _lost_interrupt
    if args.exc_type is not None and issubclass(args.exc_type, KeyboardInterrupt):
        _lost_interrupt = True
        return
    sys.__unraisablehook__(args)


def interrupt_lost() -> bool:
    """Did a Ctrl-C arrive where Python could not raise it (see `_unraisable`)?"""
    return _lost_interrupt


def check_interrupt() -> None:
    """Raise the Ctrl-C that arrived where Python could not raise it (see `_unraisable`)."""
    if _lost_interrupt:
        raise KeyboardInterrupt
