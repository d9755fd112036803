"""Console-script entry point, kept tiny: `mlops --version` and `mlops validate --hook` on
unchanged data answer before Typer loads."""

from __future__ import annotations

import sys


def main() -> None:
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
