"""`mlops templates ...`."""

from __future__ import annotations

from typing import Annotated

import typer

from mlops_cli.cli.console import escape
from mlops_cli.cli.options import JsonOption, state

app = typer.Typer(
    no_args_is_help=True,
    help="Project templates: list them, update a project.\n\nExample: mlops template list",
)


@app.command("list")
def list_(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """List the built-in templates.

    Example:

      mlops template list --json
    """
    from rich.table import Table

    from mlops_cli.scaffold.templates import list_templates

    st = state(ctx, json_output)
    found = list_templates()
    if st.json:
        rows = [
            {
                "name": t.name,
                "version": t.version,
                "description": t.spec.description,
                "variables": {k: v.model_dump() for k, v in t.spec.variables.items()},
            }
            for t in found
        ]
        st.emit("templates list", {"templates": rows})
        return
    table = Table("name", "version", "description", box=None, pad_edge=False)
    for t in found:
        table.add_row(t.name, t.version, escape(t.spec.description))
    st.out.print(table)


@app.command("update")
def update(
    ctx: typer.Context,
    template: Annotated[
        str | None,
        typer.Option(
            "--template",
            "-t",
            metavar="NAME|PATH",
            help="Where the new version is (default: the template recorded in mlops.yaml).",
        ),
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", metavar="NAME=VALUE", help="Change a recorded answer."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the diff, change nothing.")
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """Bring the project up to a newer template version, keeping your edits (three-way merge).

    Exit 0 when everything merged, 1 when conflicts are marked in files (listed), 3 on a
    dirty work tree. Nothing is committed: review with `git diff`.

    Example:

      mlops template update --dry-run && mlops template update
    """
    from mlops_cli.cli.console import CliReporter
    from mlops_cli.cli.init import parse_sets
    from mlops_cli.common.errors import CheckFailed
    from mlops_cli.project.root import open_project
    from mlops_cli.scaffold.update import update_project

    st = state(ctx, json_output)
    project = open_project(st.cwd)
    result = update_project(
        project,
        template_ref=template,
        sets=parse_sets(set_ or []),
        dry_run=dry_run,
        reporter=CliReporter(st),
    )
    if st.json:
        st.emit("template update", {"result": result, "conflicts": result.conflicts})
    else:
        st.info(
            f"{result.template}: {result.from_version} -> {result.to_version} "
            f"(base: {result.base_source})"
        )
        for f in result.files:
            st.out.print(f"  {f.outcome:<9} {escape(f.path)}  [dim]{escape(f.note)}[/dim]")
            if dry_run and f.diff:
                st.out.print(escape(f.diff), end="")
        if not result.files:
            st.success("already up to date")
    if result.conflicts:
        raise CheckFailed(
            f"{len(result.conflicts)} file(s) have conflicts marked: {', '.join(result.conflicts)}",
            hint="resolve the <<<<<<< markers, then commit",
        )
