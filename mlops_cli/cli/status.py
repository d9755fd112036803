"""`mlops status`."""

from __future__ import annotations

from typing import Annotated

import typer

from mlops_cli.cli.console import CliReporter
from mlops_cli.cli.options import JsonOption, state


def status(
    ctx: typer.Context,
    check: Annotated[
        bool,
        typer.Option("--check", help="Exit 1 with one line per reason when anything is stale."),
    ] = False,
    remote: Annotated[
        bool, typer.Option("--remote", help="Also ask the DVC remote and the git remote.")
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """Data, models, tests, stages, images and git in one view: what is stale, and the fix.

    Examples:

      mlops status

      mlops status --check --remote   # a CI gate: exit 1 and the reasons when stale
    """
    from mlops_cli.cli.statusfast import show
    from mlops_cli.status.snapshot import open_project
    from mlops_cli.status.status import project_status

    st = state(ctx, json_output)
    project = open_project(st.cwd)
    report = project_status(project, remote=remote, reporter=CliReporter(st))
    show(st, report, check=check, root=str(project.root))
