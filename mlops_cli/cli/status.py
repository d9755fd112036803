"""`mlops status`."""

from __future__ import annotations

from typing import Annotated

import typer

from mlops_cli.cli.console import CliReporter, escape
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
    from mlops_cli.common.errors import CheckFailed
    from mlops_cli.project.root import open_project
    from mlops_cli.status.status import project_status

    st = state(ctx, json_output)
    project = open_project(st.cwd)
    report = project_status(project, remote=remote, reporter=CliReporter(st))
    stale = report.stale
    if st.json:
        st.emit(
            "status",
            {
                "clean": not stale,
                "datasets": report.datasets,
                "models": report.models,
                "findings": report.findings,
            },
        )
    else:
        _render(st, report)
    if check and stale:
        for finding in stale:
            st.err.print(escape(finding.line))
        raise CheckFailed(f"{len(stale)} thing(s) stale in {project.root}")


def _render(st: object, report: object) -> None:
    from rich.table import Table

    from mlops_cli.cli.console import State
    from mlops_cli.status.status import StatusReport

    assert isinstance(st, State) and isinstance(report, StatusReport)
    out = st.out  # one console for the whole view, not one per line
    data = Table("data set", "path", "state", "tracked by", "remote", box=None, pad_edge=False)
    for r in report.datasets:
        remote = {True: "pushed", False: "NOT PUSHED", None: ""}[r.on_remote]
        data.add_row(r.dataset, escape(r.path), r.state, escape(r.tracked_by or ""), remote)
    if report.datasets:
        out.print(data)
    models = Table("model", "latest", "stages", "tests", "images", box=None, pad_edge=False)
    for m in report.models:
        stages = ", ".join(f"{s}={v}" for s, v in m.stages.items()) or "-"
        images = ", ".join(f"{v}:{s}" for v, s in m.images.items()) or "-"
        models.add_row(m.name, m.latest or "-", stages, m.tests, images)
    if report.models:
        out.print()
        out.print(models)
    out.print()
    if not report.findings:
        out.print("[green]✓ everything is up to date[/green]")
    for f in report.findings:
        mark = "[red]stale[/red]" if f.blocking else "[dim]note[/dim] "
        out.print(f"{mark} {escape(f.subject)}: {escape(f.problem)}")
        out.print(f"      [dim]fix: {escape(f.fix)}[/dim]")
