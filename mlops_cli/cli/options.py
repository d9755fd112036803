"""Options shared by every command, declared once."""

from __future__ import annotations

from typing import Annotated

import typer

from mlops_cli.cli.console import State

JsonOption = Annotated[
    bool, typer.Option("--json", help="Print one JSON document on stdout (and nothing else).")
]


def state(ctx: typer.Context, json_output: bool = False) -> State:
    obj = ctx.find_root().obj
    current = obj if isinstance(obj, State) else State()
    if json_output:
        current.start_json()
    return current
