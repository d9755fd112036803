"""`mlops doctor`."""

from __future__ import annotations

import typer

from mlops_cli.cli.console import escape
from mlops_cli.cli.options import JsonOption, state


def doctor(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """Check git, DVC, the Docker daemon, the registry, the DVC remote and the Python env.

    Exit 3 when something required is missing; each problem comes with its fix.

    Example:

      mlops doctor --json
    """
    from mlops_cli.common.errors import InputError
    from mlops_cli.status.doctor import run_checks

    st = state(ctx, json_output)
    checks = run_checks(st.cwd)
    failed = [c for c in checks if c.status == "fail" and c.required]
    if st.json:
        st.emit("doctor", {"ok": not failed, "checks": checks})
    else:
        marks = {
            "ok": "[green]ok  [/green]",
            "warn": "[yellow]warn[/yellow]",
            "fail": "[red]FAIL[/red]",
        }
        for c in checks:
            st.out.print(f"{marks[c.status]} {c.name:<16} {escape(c.detail)}")
            if c.fix and c.status != "ok":
                st.out.print(f"     {'':<16} [dim]fix: {escape(c.fix)}[/dim]")
    if failed:
        raise InputError(
            f"{len(failed)} required check(s) failed: {', '.join(c.name for c in failed)}"
        )
