"""Console-script entry point, kept tiny: `mlops --version` answers before Typer loads."""

from __future__ import annotations

import sys


def main() -> None:
    if sys.argv[1:] == ["--version"]:
        from mlops_cli import __version__

        sys.stdout.write(f"mlops {__version__}\n")
        return
    from mlops_cli.cli.app import run

    run()
