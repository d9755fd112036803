"""`mlops templates ...`."""

from __future__ import annotations

import typer

from mlops_cli.cli.console import escape
from mlops_cli.cli.options import JsonOption, state

app = typer.Typer(no_args_is_help=True, help="Project templates.")


@app.command("list")
def list_(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """List the built-in templates.

    Example:

      mlops templates list --json
    """
    from rich.table import Table

    from mlops_cli.core.templates import list_templates

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
