"""`mlops --help` and `mlops --version` start-up against `python -c "import typer"`.

Target: ratio <= 1.5 for both (issue 2). Whole processes, median of several runs, the
anchor measured in the same run on the same machine.
"""

from __future__ import annotations

import argparse
import sys

from common import Row, mlops_cmd, report, time_cmd

TARGET = 1.5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    anchor = time_cmd([sys.executable, "-c", "import typer"], runs=args.runs)
    for figure, argv in (("mlops --help", ["--help"]), ("mlops --version", ["--version"])):
        measured = time_cmd([*mlops_cmd(), *argv], runs=args.runs)
        report(
            Row(
                benchmark="startup",
                figure=figure,
                measured=measured,
                anchor_name="python -c 'import typer'",
                anchor=anchor,
                unit="s",
                target=f"<= {TARGET}x",
                ok=measured / anchor <= TARGET,
            )
        )


if __name__ == "__main__":
    main()
