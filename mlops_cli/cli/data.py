"""`mlops data ...`: data sets versioned by DVC, schema-checked before they are."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mlops_cli.cli.console import CliReporter, State, escape
from mlops_cli.cli.options import JsonOption, state

if TYPE_CHECKING:
    from mlops_cli.project.root import Project

app = typer.Typer(
    no_args_is_help=True,
    help=(
        "Data sets: version them with DVC (schema-checked first), push, pull, status.\n\n"
        "Example: mlops data add data/raw/customers.csv --dataset customers"
    ),
)

RemoteOption = Annotated[
    str | None,
    typer.Option(
        "--remote", "-r", metavar="NAME", help="DVC remote (default: `remote` in mlops.yaml)."
    ),
]


def _project(st: State) -> Project:
    from mlops_cli.project.root import open_project

    return open_project(st.cwd)


@app.command("add")
def add(
    ctx: typer.Context,
    path: Annotated[
        Path, typer.Argument(help="Data file or folder.", metavar="PATH", show_default=False)
    ],
    dataset: Annotated[
        str | None,
        typer.Option(
            "--dataset", "-d", metavar="NAME", help="Data set name (default: from the path)."
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Version it even when it breaks its schema.")
    ] = False,
    infer_schema: Annotated[
        bool,
        typer.Option(
            "--infer-schema",
            help="Write schemas/NAME.yaml from the data (as `mlops schema infer`) when the"
            " data set has no schema.",
        ),
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """Validate data against its schema, then version it with DVC and stage it in git.

    The schema is the data set's `schema` in mlops.yaml (for a new data set,
    schemas/NAME.yaml when it exists). Exit 1 with the report when the data breaks it,
    unless --force. Then: `dvc add`, `git add` of the .dvc file and .gitignore, and the
    data set declared in mlops.yaml.

    Example:

      mlops data add data/raw/customers.csv --dataset customers
    """
    from mlops_cli.data.datasets import add as add_data

    st = state(ctx, json_output)
    result = add_data(
        _project(st), st.cwd / path, dataset, force=force, infer_schema=infer_schema,
        reporter=CliReporter(st),
    )  # fmt: skip
    if st.json:
        st.emit("data add", {"result": result})
        return
    what = "versioned" if result.changed else "already versioned"
    st.success(
        f"{escape(result.dataset)}: {escape(result.path)} {what}"
        f" (md5 {result.md5[:12]}, {_size(result.size)})"
    )
    if result.inferred:
        st.info(f"  inferred its schema into {escape(result.inferred)}: review it")
    if result.validated is None:
        hint = f"`mlops schema infer {escape(result.path)}`"
        st.info(f"  not validated: no schema (write one with {hint})")
    if result.declared:
        st.info(f"  declared data set {escape(result.dataset)} in mlops.yaml")
    st.info(f"  staged {escape(', '.join(result.staged))}; next: git commit && mlops data push")


@app.command("push")
def push(ctx: typer.Context, remote: RemoteOption = None, json_output: JsonOption = False) -> None:
    """Upload the data the workspace references to the DVC remote.

    Example:

      mlops data push --remote storage
    """
    from mlops_cli.data.datasets import push as push_data

    st = state(ctx, json_output)
    result = push_data(_project(st), remote, reporter=CliReporter(st))
    if st.json:
        st.emit("data push", {"result": result})
        return
    st.success(f"pushed {result.pushed} object(s) to {escape(result.remote)}")


@app.command("pull")
def pull(ctx: typer.Context, remote: RemoteOption = None, json_output: JsonOption = False) -> None:
    """Download the data the workspace references, verifying every hash.

    A corrupt object on the remote is discarded and its path left as it was (exit 3).

    Example:

      git clone URL churn && cd churn && mlops data pull
    """
    from mlops_cli.data.datasets import pull as pull_data

    st = state(ctx, json_output)
    result = pull_data(_project(st), remote, reporter=CliReporter(st))
    if st.json:
        st.emit("data pull", {"result": result})
        return
    changed = [*result.added, *result.modified]
    st.success(
        f"fetched {result.fetched} object(s) from {escape(result.remote)};"
        f" checked out {len(changed)} path(s)"
    )
    for path in changed:
        st.info(f"  {escape(path)}")


@app.command("status")
def status(
    ctx: typer.Context,
    remote_check: Annotated[
        bool, typer.Option("--remote", help="Also check that the remote has the data.")
    ] = False,
    remote: Annotated[
        str | None,
        typer.Option("--remote-name", metavar="NAME", help="The remote to check."),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Per data set: is the workspace the version DVC recorded, cached, committed, pushed?

    Does not load DVC unless --remote names a non-local remote.

    Example:

      mlops data status --remote --json
    """
    from mlops_cli.data.status import status as data_status

    st = state(ctx, json_output)
    rows = data_status(_project(st), remote_check, remote_name=remote, reporter=CliReporter(st))
    if st.json:
        st.emit("data status", {"datasets": rows})
        return
    if not rows:
        st.info("no data sets declared in mlops.yaml; add one with `mlops data add PATH`")
        return
    from rich.table import Table

    columns = ["data set", "path", "state", "cache", "git"]
    table = Table(*columns, *(["remote"] if remote_check else []), box=None, pad_edge=False)
    for r in rows:
        cells = [r.dataset, r.path, r.state, _yes(r.in_cache), r.dvc_file or "-"]
        if remote_check:
            cells.append(_yes(r.on_remote))
        table.add_row(*(escape(c) for c in cells))
    st.out.print(table)
    for r in rows:
        if r.hint:
            st.info(f"  {escape(r.dataset)}: {escape(r.hint)}")


@app.command("diff")
def diff(
    ctx: typer.Context,
    dataset: Annotated[str, typer.Argument(help="The data set (its name in mlops.yaml).")],
    a: Annotated[str, typer.Argument(metavar="A", help="NAME@VERSION or NAME#STAGE.")],
    b: Annotated[str, typer.Argument(metavar="B", help="NAME@VERSION or NAME#STAGE.")],
    key: Annotated[
        str | None,
        typer.Option("--key", help="Key column (default: the schema's one unique column)."),
    ] = None,
    exit_code: Annotated[
        bool, typer.Option("--exit-code", help="Exit 1 when the data differs.")
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """Compare a data set as two versions recorded it: rows added, removed and changed (by
    key), columns, and per-column summaries. Reads each side by its recorded DVC md5 from
    the DVC cache; the workspace is not touched.

    Examples:

      mlops data diff raw churn@v0.2.0 churn@v0.3.0

      mlops data diff customers churn#prod churn@v0.4.0 --key customer_id --json
    """
    from mlops_cli.data.datadiff import diff_frames, read, schema_key, side_of
    from mlops_cli.registry.records import record_of

    st = state(ctx, json_output)
    project = _project(st)
    sides = [side_of(project, spec, record_of(project, spec), dataset) for spec in (a, b)]
    key = key or schema_key(project, dataset)
    result = diff_frames(read(sides[0]), read(sides[1]), key)
    same_bytes = sides[0].md5 == sides[1].md5
    doc = {
        "dataset": dataset,
        "a": {"spec": a, "version": sides[0].version, "path": sides[0].path, "md5": sides[0].md5},
        "b": {"spec": b, "version": sides[1].version, "path": sides[1].path, "md5": sides[1].md5},
        "identical": same_bytes,
        **result,
    }
    if st.json:
        st.emit("data diff", doc)
    else:
        _diff_table(st, doc)
    if exit_code and not same_bytes:
        from mlops_cli.common.errors import CheckFailed

        raise CheckFailed(f"{dataset} differs between {a} and {b}")


def _diff_table(st: State, doc: dict[str, object]) -> None:
    from typing import Any

    from rich.table import Table

    d: Any = doc
    rows = d["rows"]
    a, b = d["a"], d["b"]
    head = f"{d['dataset']}: {a['spec']} ({a['version']}) -> {b['spec']} ({b['version']})"
    st.out.print(escape(head))
    if d["identical"]:
        st.success("identical content (same md5)")
        return
    by = f"by key {d['key']}" if d["key"] else "as whole rows"
    changed = f", {rows['changed']:,} changed" if rows.get("changed") is not None else ""
    st.out.print(
        f"rows {rows['a']:,} -> {rows['b']:,}: {rows['added']:,} added,"
        f" {rows['removed']:,} removed{changed} ({escape(by)})"
    )
    for label in ("columns_added", "columns_removed"):
        if d[label]:
            st.out.print(f"{label.replace('_', ' ')}: {escape(', '.join(d[label]))}")
    table = Table("column", "count", "nulls", "mean / top", "std", box=None, pad_edge=False)
    for col in d["columns"]:
        if not col["changed"]:
            continue
        ca, cb = col["a"], col["b"]
        if "mean" in ca:
            middle = f"{_fmt(ca['mean'])} -> {_fmt(cb['mean'])}"
            spread = f"{_fmt(ca['std'])} -> {_fmt(cb['std'])}"
        else:
            middle = f"{_top(ca)} -> {_top(cb)}"
            spread = ""
        table.add_row(
            escape(col["name"]),
            f"{ca['count']:,} -> {cb['count']:,}",
            f"{ca['nulls']:,} -> {cb['nulls']:,}",
            escape(middle),
            spread,
        )
    st.out.print(table)


def _fmt(value: object) -> str:
    return "-" if value is None else f"{value:.4g}"


def _top(summary: dict[str, object]) -> str:
    from typing import Any

    top: Any = summary.get("top") or {}
    return ", ".join(f"{k}:{v}" for k, v in list(top.items())[:3])


@app.command("check-pushed")
def check_pushed(
    ctx: typer.Context,
    from_ref: Annotated[
        str | None,
        typer.Option(
            "--from-ref",
            envvar="PRE_COMMIT_FROM_REF",
            metavar="REV",
            help="Last commit the git remote has (pre-commit sets it).",
        ),
    ] = None,
    to_ref: Annotated[
        str | None,
        typer.Option(
            "--to-ref",
            # A new branch pushed whole: pre-commit sets only the local branch.
            envvar=["PRE_COMMIT_TO_REF", "PRE_COMMIT_LOCAL_BRANCH"],
            metavar="REV",
            help="Commit being pushed (default: HEAD).",
        ),
    ] = None,
    remote: RemoteOption = None,
    json_output: JsonOption = False,
) -> None:
    """Exit 1 when data referenced by the commits being pushed is not on the DVC remote.

    For a pre-push hook: checks every object named by the .dvc files and dvc.lock of the
    commits in FROM..TO (without FROM: those no remote-tracking branch has).

    Example:

      mlops data check-pushed --from-ref origin/main --to-ref HEAD
    """
    from mlops_cli.data.status import check_pushed as check

    st = state(ctx, json_output)
    result = check(_project(st), from_ref, to_ref, remote=remote, reporter=CliReporter(st))
    if st.json:
        st.emit("data check-pushed", {"result": result})
        return
    if result.objects:
        st.success(
            f"{result.objects} DVC object(s) referenced by {result.commits} commit(s)"
            f" are on remote {escape(result.remote or '')}"
        )
    else:
        st.success("no DVC data referenced by the commits being pushed")


def _yes(value: bool | None) -> str:
    return "-" if value is None else "yes" if value else "no"


def _size(size: int | None) -> str:
    if size is None:
        return "size unknown"
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"
