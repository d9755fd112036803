"""`mlops model diff`: rendering (rich tables, Markdown) of `registry/diff.py`'s result."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mlops_cli.cli.console import State, escape
from mlops_cli.cli.options import JsonOption, state

if TYPE_CHECKING:
    from mlops_cli.registry.diff import ModelDiff

_SPECS = "NAME@VERSION, NAME#STAGE, NAME@latest, or NAME (the workspace model)"
BaseSpec = Annotated[
    str, typer.Argument(help=f"The baseline: {_SPECS}.", metavar="A", show_default=False)
]
NewSpec = Annotated[
    str, typer.Argument(help=f"The candidate: {_SPECS}.", metavar="B", show_default=False)
]


def diff(
    ctx: typer.Context,
    a: BaseSpec,
    b: NewSpec,
    markdown: Annotated[
        bool, typer.Option("--md", help="Print Markdown tables (for a pull request).")
    ] = False,
    exit_code: Annotated[
        bool,
        typer.Option(
            "--exit-code", help="Exit 1 when a metric of B moved past its declared tolerance."
        ),
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """Compare two versions side by side: params, metrics, data, environment, tests, images.

    Read from the committed records only (a bare NAME is the workspace model, as
    `model register` would record it now); nothing is written. A metric moved past its
    tolerance when B is worse than A by more than mlops.yaml's no_regression tolerance.

    Examples:

      mlops model diff churn#prod churn@v0.2.0

      mlops model diff churn@v0.1.0 churn --md >> pr-comment.md
    """
    from mlops_cli.common.errors import CheckFailed, UsageError
    from mlops_cli.project.root import open_project
    from mlops_cli.registry.diff import diff as do_diff

    st = state(ctx, json_output)
    if markdown and json_output:
        raise UsageError("give --json or --md, not both")
    done = do_diff(open_project(st.cwd), a, b)
    for warning in done.warnings:
        st.warn(warning)
    if st.json:
        st.emit("model diff", done.to_dict())
    elif markdown:
        sys.stdout.write(to_markdown(done))
    else:
        _render(st, done)
    if exit_code and done.past_tolerance:
        raise CheckFailed(
            f"{b} moved past the tolerance on {', '.join(done.past_tolerance)} against {a}"
        )


def _label(d: ModelDiff, which: str) -> str:
    s = d.a if which == "a" else d.b
    name = (
        f"{s.record.model} (workspace)" if s.workspace else f"{s.record.model}@{s.record.version}"
    )
    return f"{name} [{', '.join(s.stages)}]" if s.stages else name


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _signed(value: Any) -> str:
    if value is None:
        return ""
    return "0" if value == 0 else f"{value:+.6g}"


def sections(d: ModelDiff) -> list[tuple[str, list[str], list[list[str]]]]:
    """(title, header, rows) of every section: what both renderers show."""
    la, lb = _label(d, "a"), _label(d, "b")
    art = d.artifact
    out: list[tuple[str, list[str], list[list[str]]]] = [
        (
            "artifact",
            ["", la, lb, "delta"],
            [
                ["sha256", str(art["a"]["sha256"])[:12], str(art["b"]["sha256"])[:12], ""],
                [
                    "bytes",
                    _fmt(art["a"]["bytes"]),
                    _fmt(art["b"]["bytes"]),
                    _signed(art["bytes_delta"]),
                ],
                [
                    "commit",
                    str(d.a.record.git.get("commit", ""))[:10],
                    str(d.b.record.git.get("commit", ""))[:10],
                    "",
                ],
            ],
        )
    ]
    out.append(
        (
            "params",
            ["param", la, lb, "delta"],
            [
                [p["name"], _fmt(p["a"]), _fmt(p["b"]), _signed(p["delta"])]
                for p in d.params
                if p["changed"]
            ],
        )
    )
    metric_rows = []
    for m in d.metrics:
        verdict = ""
        if m["tolerance"] is not None:
            word = {True: "PAST ", False: "within ", None: ""}[m["past_tolerance"]]
            verdict = f"{word}{m['tolerance']:g} ({m['better']} is better)"
        name = m["name"] if m["source"] == "record" else f"{m['name']} (test data)"
        metric_rows.append([name, _fmt(m["a"]), _fmt(m["b"]), _signed(m["delta"]), verdict.strip()])
    out.append(("metrics", ["metric", la, lb, "delta", "tolerance"], metric_rows))
    data_rows = []
    for ds in d.data:
        a, b = ds["a"] or {}, ds["b"] or {}
        mark = " (changed)" if ds["changed"] else ""
        data_rows.append(
            [
                f"{ds['name']}{mark}",
                f"{str(a.get('md5') or '-')[:12]} rows {_fmt(a.get('rows'))}" if a else "-",
                f"{str(b.get('md5') or '-')[:12]} rows {_fmt(b.get('rows'))}" if b else "-",
                _signed(ds["rows_delta"]),
            ]
        )
    out.append(("data", ["data set", la, lb, "rows delta"], data_rows))
    env = d.environment
    env_rows = []
    if env["python"]["a"] != env["python"]["b"]:
        env_rows.append(["python", _fmt(env["python"]["a"]), _fmt(env["python"]["b"]), "changed"])
    if env["project_code"]["a"] != env["project_code"]["b"]:
        code = env["project_code"]
        env_rows.append(
            ["project code", str(code["a"] or "-")[:12], str(code["b"] or "-")[:12], "changed"]
        )
    for p in env["packages"]:
        if p["change"] != "unchanged":
            env_rows.append([p["name"], _fmt(p["a"]), _fmt(p["b"]), p["change"]])
    out.append(("environment", ["package", la, lb, "change"], env_rows))
    tests = d.tests

    def tested(s: dict[str, Any] | None) -> str:
        if s is None:
            return "none recorded"
        failed = f", {len(s['failed'])} failed" if s["failed"] else ""
        return f"{'passed' if s['passed'] else 'FAILED'} ({s['checks']} checks{failed})"

    test_rows = [["tests", tested(tests["a"]), tested(tests["b"])]]
    for c in tests["checks"] if tests["a"] and tests["b"] else []:
        pa, pb = (c["a"] or {}).get("passed"), (c["b"] or {}).get("passed")
        if c["a"] is None or c["b"] is None or pa != pb:
            said = {True: "pass", False: "FAIL", None: "reported"}
            test_rows.append(
                [
                    f"{c['family']}: {c['name']}",
                    said[pa] if c["a"] else "-",
                    said[pb] if c["b"] else "-",
                ]
            )
    out.append(("tests", ["", la, lb], test_rows))
    images = d.images

    def image_cell(entry: dict[str, Any] | None) -> str:
        if entry is None:
            return "-"
        size = f" ({entry['size']} bytes)" if entry["size"] is not None else ""
        return f"{str(entry['digest'] or 'no digest')[:19]}{size}"

    by_ref_a = {str(i["ref"]): i for i in images["a"]}
    by_ref_b = {str(i["ref"]): i for i in images["b"]}
    image_rows = [
        [ref, image_cell(by_ref_a.get(ref)), image_cell(by_ref_b.get(ref))]
        for ref in sorted(by_ref_a.keys() | by_ref_b.keys())
    ]
    out.append(("images", ["image", la, lb], image_rows))
    return out


def _render(st: State, d: ModelDiff) -> None:
    from rich.table import Table

    out = st.out
    out.print(f"[bold]{escape(_label(d, 'a'))}[/bold] -> [bold]{escape(_label(d, 'b'))}[/bold]")
    for title, header, rows in sections(d):
        if not rows:
            out.print(f"{title}: no change")
            continue
        table = Table(*header, title=title, title_justify="left", box=None)
        for row in rows:
            style = "red" if any("PAST" in c or "FAIL" in c for c in row) else None
            table.add_row(*(escape(c) for c in row), style=style)
        out.print(table)
    if d.past_tolerance:
        out.print(f"[red]past tolerance:[/red] {escape(', '.join(d.past_tolerance))}")


def to_markdown(d: ModelDiff) -> str:
    """The diff as Markdown tables, for a pull request description or comment."""

    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    lines = [f"### `{_label(d, 'a')}` → `{_label(d, 'b')}`", ""]
    if d.past_tolerance:
        lines += [f"**Past tolerance:** {', '.join(d.past_tolerance)}", ""]
    for title, header, rows in sections(d):
        lines.append(f"**{title}**" + ("" if rows else ": no change"))
        lines.append("")
        if not rows:
            continue
        lines.append("| " + " | ".join(cell(h) for h in header) + " |")
        lines.append("|" + "---|" * len(header))
        lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
        lines.append("")
    return "\n".join(lines)
