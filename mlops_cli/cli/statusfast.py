"""`mlops status [--json] [--check]`, answered before Typer loads, and the view both paths
render.

`mlops status` is what people type between every other command and what CI gates on; the
report itself costs a few `stat`s and git calls, so building the Typer app (typer, click and
every option of the root) was most of its time. This path takes the exact command lines it
knows (no root options, no `--remote`): it builds the report first, and on any error falls
through to the full command, which builds it again and reports the error the usual way. So
both paths print the same bytes and exit with the same code (tests/cli/test_status.py runs
both and compares).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlops_cli.cli.console import State
    from mlops_cli.status.status import StatusReport

KNOWN = {"--json", "--check"}


class _Buffered:
    """A Reporter that keeps what the report said, to be shown once the fast path is sure
    it answers (a fall-through must not print it twice)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []

    def step(self, message: str) -> None:
        self.events.append(("step", message))

    def warn(self, message: str) -> None:
        self.events.append(("warn", message))

    def detail(self, message: str) -> None:
        self.events.append(("detail", message))

    def replay(self, reporter: Any) -> None:
        for kind, message in self.events:
            getattr(reporter, kind)(message)


def fast_status(args: list[str]) -> int | None:
    """The exit code of `mlops status ARGS` when this path answers it, else None."""
    if not set(args) <= KNOWN or len(set(args)) != len(args):
        return None
    from mlops_cli.cli.console import CliReporter, State, mlops_error_document
    from mlops_cli.common.errors import MlopsError
    from mlops_cli.status.snapshot import open_project
    from mlops_cli.status.status import project_status

    st = State()
    if "--json" in args:
        st.start_json()
    buffered = _Buffered()
    try:
        project = open_project(st.cwd)
        report = project_status(project, reporter=buffered)
    except Exception:  # the full command says what went wrong, the usual way
        st.finish()  # gives stdout back; nothing was emitted, so nothing is written
        return None
    buffered.replay(CliReporter(st))
    error: dict[str, Any] | None = None
    try:
        show(st, report, check="--check" in args, root=str(project.root))
    except MlopsError as exc:  # as cli/app.py's MlopsGroup.invoke maps it
        st.error(exc)
        error = mlops_error_document(exc)
        return exc.exit_code
    finally:
        st.finish(error)
    return 0


def show(st: State, report: StatusReport, *, check: bool, root: str) -> None:
    """The view (or the JSON document) of a report; CheckFailed with `check` when stale."""
    from mlops_cli.cli.console import escape
    from mlops_cli.common.errors import CheckFailed

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
        raise CheckFailed(f"{len(stale)} thing(s) stale in {root}")


def _render(st: State, report: StatusReport) -> None:
    from rich.table import Table

    from mlops_cli.cli.console import escape

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
