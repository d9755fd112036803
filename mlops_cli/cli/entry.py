"""Console-script entry point, kept tiny: `mlops --version` and `mlops validate --hook` on
unchanged data answer before Typer loads."""

from __future__ import annotations

import sys


def main() -> None:
    sys.unraisablehook = _unraisable
    try:
        _main()
    except KeyboardInterrupt:
        # Ctrl-C while the CLI is still importing (or already tearing down), outside the
        # app's own handler: the same exit 130, without a traceback.
        sys.stderr.write("interrupted\n")
        raise SystemExit(130) from None


def _unraisable(args: sys.UnraisableHookArgs) -> None:
    """A Ctrl-C that lands in a callback Python cannot raise from (an import lock's weakref
    callback at startup) is printed as "Exception ignored ... Traceback" and then lost.
    Deliver it again instead, to be raised where the code is: the usual exit 130."""
    if args.exc_type is not None and issubclass(args.exc_type, KeyboardInterrupt):
        import signal

        signal.raise_signal(signal.SIGINT)
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
