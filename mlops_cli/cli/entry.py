"""Console-script entry point, kept tiny: `mlops --version` and `mlops validate --hook` on
unchanged data answer before Typer loads.

Nothing here may be imported before `main()` runs: until then Python owns Ctrl-C (its own
startup, `site`, and the import of this module), and it prints a traceback we cannot stop.
The one import, `cli/interrupts.py` (the Ctrl-C state the app shares), is standard library
only for that reason. See docs/exit-codes.md.
"""

import sys

from mlops_cli.cli.interrupts import (
    _unraisable,
    check_interrupt,
    interrupt_lost,
    on_sigint,
    sigint_seen,
    was_interrupted,
)


def main() -> None:
    sys.unraisablehook = _unraisable
    import _signal  # type: ignore[import-not-found]  # builtin, already loaded: no cost

    _signal.signal(_signal.SIGINT, on_sigint)
    try:
        _main()
        check_interrupt()
        if sigint_seen():  # a Ctrl-C whose KeyboardInterrupt something swallowed
            raise KeyboardInterrupt
    except SystemExit as exc:
        # The command ran to its end after a Ctrl-C Python could not raise, or whose
        # KeyboardInterrupt library code swallowed: still exit 130.
        if interrupt_lost() or (sigint_seen() and exc.code != 130):
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
    if sys.argv[1:3] == ["config", "check"]:
        # the pre-commit hook on mlops.yaml: pydantic's verdict without typer and rich.
        from mlops_cli.cli.hookfast import fast_config_check

        code = fast_config_check(sys.argv[3:])
        if code is not None:
            raise SystemExit(code)
    if sys.argv[1:2] == ["status"]:
        # The everyday view and CI gate: answered before Typer loads (cli/statusfast.py).
        from mlops_cli.cli.statusfast import fast_status

        code = fast_status(sys.argv[2:])
        if code is not None:
            raise SystemExit(code)
    from mlops_cli.cli.app import run

    check_interrupt()
    run()
