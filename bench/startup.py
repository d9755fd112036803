"""Every command's start-up against `python -c "import typer"` (issues 2 and 14).

`mlops --help`, `mlops --version` and `mlops <command> --help` for every command, then real
runs of the cheap ones (`config check`, `status`, `model list`) on a freshly scaffolded
demo project (`mlops init`), so a regression in any command's imports shows. Whole
processes, median of several runs, the anchor measured in the same run.

Targets: <= 1.5x the anchor for `mlops --help`, `--version` and `config check` (a
pre-commit hook, which has a fast path before typer); the real `status` and `model list`
runs are guarded at <= 5x (they read git and DVC). A command's `--help` is rendered by typer,
whose help machinery alone (typer._adapters, which imports pydantic) costs about 3x `import
typer`: those screens are measured against the smallest typer app that renders a group's
help the same way (MINIMAL_APP, one group and one command) and must be no slower (<= 1.0x),
so what they measure is what mlops adds.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from common import Row, mlops_cmd, report, time_cmd

TARGET = 1.5
HELP_TARGET = 1.0
MINIMAL_APP = """
import typer

app = typer.Typer(help="The smallest app with a command group.")
group = typer.Typer(help="A group.")
app.add_typer(group, name="data")


@app.callback()
def main() -> None:
    \"\"\"Top level.\"\"\"


@group.command()
def add(path: str, json_output: bool = typer.Option(False, "--json")) -> None:
    \"\"\"Add a path.\"\"\"


app()
"""
REAL_TARGET = 5.0
COMMANDS = ("init", "template", "config", "data", "schema", "validate", "model", "test",
            "image", "serve", "deploy", "monitor", "gc", "status", "doctor")  # fmt: skip


def row(
    figure: str,
    measured: float,
    anchor: float,
    target: float,
    anchor_name: str = "python -c 'import typer'",
) -> None:
    report(Row("startup", figure, measured, anchor_name, anchor, "s",
               f"<= {target}x", measured / anchor <= target))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    mlops = mlops_cmd()
    anchor = time_cmd([sys.executable, "-c", "import typer"], runs=args.runs)
    for figure, argv in (("mlops --help", ["--help"]), ("mlops --version", ["--version"])):
        row(figure, time_cmd([*mlops, *argv], runs=args.runs), anchor, TARGET)
    runs = max(3, args.runs // 3)
    with tempfile.TemporaryDirectory(prefix="mlops-bench-typer-") as tmp:
        script = Path(tmp) / "minimal_app.py"
        script.write_text(MINIMAL_APP)
        typer_help = time_cmd([sys.executable, str(script), "data", "--help"], runs=runs)
    for name in COMMANDS:
        measured = time_cmd([*mlops, name, "--help"], runs=runs)
        row(f"mlops {name} --help", measured, typer_help, HELP_TARGET, "minimal typer app --help")
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
    for key in ("GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME"):
        env.setdefault(key, "bench")
    for key in ("GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL"):
        env.setdefault(key, "bench@example.invalid")
    with tempfile.TemporaryDirectory(prefix="mlops-bench-startup-") as tmp:
        env.setdefault("MLOPS_REMOTES_DIR", str(Path(tmp) / "remotes"))
        subprocess.run([*mlops, "init", "demo"], cwd=tmp, env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        demo = Path(tmp) / "demo"
        for figure, argv, target in (
            ("mlops config check mlops.yaml (demo)", ["config", "check", "mlops.yaml"], TARGET),
            ("mlops status (demo)", ["status"], REAL_TARGET),
            ("mlops model list (demo)", ["model", "list"], REAL_TARGET),
        ):
            row(figure, time_cmd([*mlops, *argv], runs=runs, cwd=demo), anchor, target)


if __name__ == "__main__":
    main()
