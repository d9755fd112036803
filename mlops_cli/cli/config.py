"""`mlops config ...`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from mlops_cli.cli.options import JsonOption, state

app = typer.Typer(
    no_args_is_help=True,
    help="The project file mlops.yaml.\n\nExample: mlops config check --json",
)


@app.command("check")
def check(
    ctx: typer.Context,
    files: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Files to check (default: the project's mlops.yaml).",
            metavar="FILE",
            show_default=False,
        ),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Validate mlops.yaml: exit 0 when valid, 3 with file:line when not (for hooks).

    Example:

      mlops config check && git commit
    """
    from mlops_cli.project.root import find_root, load_config

    st = state(ctx, json_output)
    paths = [st.cwd / f for f in files] if files else [find_root(st.cwd) / "mlops.yaml"]
    for path in paths:
        load_config(path)
    if st.json:
        st.emit("config check", {"valid": True, "files": [str(p) for p in paths]})
    else:
        for path in paths:
            st.success(f"{path}: valid")


@app.command("schema")
def schema(ctx: typer.Context) -> None:
    """Print the JSON Schema of mlops.yaml (for editors and validation in other tools).

    Example:

      mlops config schema > mlops.schema.json
    """
    from mlops_cli.project.config import json_schema

    print(json.dumps(json_schema(), indent=2))
