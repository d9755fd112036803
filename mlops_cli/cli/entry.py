"""Console-script entry point, kept tiny: `mlops --version` and `mlops validate --hook` on
unchanged data answer before Typer loads.

Nothing here may be imported before `main()` runs: until then Python owns Ctrl-C (its own
startup, `site`, and the import of this module), and it prints a traceback we cannot stop.
See docs/exit-codes.md.
"""

import sys


def main() -> None:
    sys.unraisablehook = _unraisable
    try:
        _main()
        check_interrupt()
    except SystemExit:
        if _lost_interrupt:  # the command ran to its end after a Ctrl-C Python could not raise
            sys.stderr.write("interrupted\n")
            raise SystemExit(130) from None
        raise
    except BaseException as exc:
        # Ctrl-C while the CLI is still importing (or already tearing down), outside the
        # app's own handler: the same exit 130, without a traceback.
        if not was_interrupted(exc):
            raise
        sys.stderr.write("interrupted\n")
        raise SystemExit(130) from None


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


_lost_interrupt = False


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


def check_interrupt() -> None:
    """Raise the Ctrl-C that arrived where Python could not raise it (see `_unraisable`)."""
    if _lost_interrupt:
        raise KeyboardInterrupt


def _main() -> None:
    if sys.argv[1:] == ["--version"]:
        from mlops_cli import __version__

        sys.stdout.write(f"mlops {__version__}\n")
        return
    if sys.argv[1:2] == ["validate"] and "--hook" in sys.argv:
        # pre-commit on unchanged data: answered from the cache, before Typer loads.
        from mlops_cli.cli.hookfast import fast_hook

        code = fast_hook(sys.argv[2:])
        if code is not None:
            raise SystemExit(code)
    from mlops_cli.cli.app import run

    check_interrupt()
    run()
