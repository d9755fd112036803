"""`mlops gc`: clean the DVC cache (and a remote) without losing what a kept version needs."""

from __future__ import annotations

from typing import Annotated

import typer

from mlops_cli.cli.console import CliReporter, escape
from mlops_cli.cli.options import JsonOption, state
from mlops_cli.data.gc import DEFAULT_KEEP_LAST


def gc(
    ctx: typer.Context,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only say what would go and what is kept, and why.")
    ] = False,
    keep_stages: Annotated[
        bool,
        typer.Option(
            "--keep-stages/--no-keep-stages", help="Keep every version that holds a stage."
        ),
    ] = True,
    keep_last: Annotated[
        int,
        typer.Option(
            "--keep-last", metavar="N", help="Keep the last N active versions of each model."
        ),
    ] = DEFAULT_KEEP_LAST,
    use_remote: Annotated[
        bool, typer.Option("--remote", help="Also remove unneeded objects from the DVC remote.")
    ] = False,
    remote: Annotated[
        str | None,
        typer.Option(
            "--remote-name",
            metavar="NAME",
            help="The remote of --remote (default: `remote` in mlops.yaml, else DVC's).",
        ),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Remove DVC objects that no kept version, branch, tag or the workspace needs.

    Kept: every version in a stage, the last N versions of each model, every commit a
    branch or tag points at, and the work tree. A version needs what its record names and
    what the .dvc files and dvc.lock at its commit reference. Nothing is removed when that
    cannot be computed completely (exit 3).

    Example:

      mlops gc --keep-last 5 --remote --dry-run
    """
    from mlops_cli.data.gc import gc as run_gc
    from mlops_cli.project.root import open_project

    st = state(ctx, json_output)
    result = run_gc(
        open_project(st.cwd), dry_run=dry_run, keep_stages=keep_stages, keep_last=keep_last,
        remote=remote, use_remote=use_remote, reporter=CliReporter(st),
    )  # fmt: skip
    if st.json:
        st.emit("gc", {"result": result})
        return
    verb = "would remove" if dry_run else "removed"
    for v in result.versions:
        st.info(f"keeps {escape(v.model)}@{escape(v.version)} ({escape(', '.join(v.why))})")
    for obj in result.kept:
        st.info(f"  kept {obj.path}: {escape(obj.kept_by[0])}")
    for obj in result.removed:
        st.info(f"  {verb} {obj.path} ({obj.size} B)")
    st.success(
        f"{verb} {len(result.removed)} object(s), {result.removed_bytes} B, from the cache;"
        f" kept {len(result.kept)}"
    )
    if result.remote is not None:
        st.success(
            f"{verb} {len(result.remote.removed)} object(s) from remote"
            f" {escape(result.remote.name)}; kept {result.remote.kept}"
        )
