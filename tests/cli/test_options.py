"""cli/options.py: the shared `--json` option and the one State of a run."""

from __future__ import annotations

import json
from typing import Any

import typer
from typer.testing import CliRunner

from mlops_cli.cli.console import State
from mlops_cli.cli.options import JsonOption, state


def make_app(seen: list[State]) -> typer.Typer:
    app = typer.Typer(add_completion=False)

    @app.callback()
    def root(ctx: typer.Context, quiet: bool = False) -> None:
        ctx.obj = State(quiet=quiet)

    @app.command()
    def show(ctx: typer.Context, json_output: JsonOption = False) -> None:
        st = state(ctx, json_output)
        seen.append(st)
        st.emit("show", {"quiet": st.quiet})
        st.finish()

    return app


def test_the_commands_state_is_the_roots() -> None:
    seen: list[State] = []
    out = CliRunner().invoke(make_app(seen), ["--quiet", "show", "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["quiet"] is True  # the root's State, not a new one
    assert seen[0].json


def test_without_json_nothing_is_written() -> None:
    seen: list[State] = []
    out = CliRunner().invoke(make_app(seen), ["show"])
    assert out.exit_code == 0 and out.stdout == ""
    assert not seen[0].json


def test_a_context_without_a_state_gets_a_fresh_one() -> None:
    import click

    ctx: Any = typer.Context(click.Command("x"), obj="not a state")
    st = state(ctx)
    assert isinstance(st, State) and not st.json
    loud = state(ctx, json_output=True)
    try:
        assert loud.json
    finally:
        loud.finish()  # gives stdout back
