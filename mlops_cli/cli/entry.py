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
    except SystemExit:
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


def _unraisable(args: "sys.UnraisableHookArgs") -> None:  # a typeshed-only name
    """A Ctrl-C that lands in a callback Python cannot raise from (an import lock's weakref
    callback at startup) is printed as "Exception ignored ... Traceback" and then lost.
    Mark SIGINT pending again instead: Python raises it in the main thread's own code once
    this hook has returned, and that gives the usual exit 130. (Raising here, or
    `signal.raise_signal`, which raises at once, is itself "ignored in sys.unraisablehook";
    `_thread` is built in, so this imports nothing half-initialised.)"""
    if args.exc_type is not None and issubclass(args.exc_type, KeyboardInterrupt):
        import _thread

        _thread.interrupt_main()
        return
    sys.__unraisablehook__(args)


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

    run()
