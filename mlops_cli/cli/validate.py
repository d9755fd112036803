"""`mlops validate`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mlops_cli.cli.console import CliReporter, State, escape
from mlops_cli.cli.hookfast import plain_lines
from mlops_cli.cli.options import JsonOption, state
from mlops_cli.common.errors import CheckFailed

if TYPE_CHECKING:
    from mlops_cli.validation.validate import ValidationRun


def validate(
    ctx: typer.Context,
    targets: Annotated[
        list[str] | None,
        typer.Argument(
            help="Data sets, or paths of data files, schemas or .dvc files (default: every"
            " data set that has a schema).",
            metavar="DATASET|PATH",
            show_default=False,
        ),
    ] = None,
    schema: Annotated[
        Path | None,
        typer.Option(
            "--schema", help="Validate the PATHs against this schema file.", metavar="FILE"
        ),
    ] = None,
    junit: Annotated[
        Path | None,
        typer.Option("--junit", help="Also write a JUnit XML report here.", metavar="FILE"),
    ] = None,
    hook: Annotated[
        bool,
        typer.Option(
            "--hook",
            help="pre-commit mode: the PATHs are changed files; validate the data sets they"
            " touch. Read-only, no lock.",
        ),
    ] = False,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Validate again even when the cache has a result.")
    ] = False,
    engine: Annotated[
        str,
        typer.Option("--engine", help="pandera engine: auto, polars or pandas.", metavar="ENGINE"),
    ] = "auto",
    json_output: JsonOption = False,
) -> None:
    """Validate data sets against their pandera schemas: exit 0 pass, 1 fail, 3 bad input.

    Results are cached by content: an unchanged file against an unchanged schema is not
    read again. Every failed check is listed with its column, the number of failing rows
    and the first of them (rows count from 0).

    Examples:

      mlops validate

      mlops validate train --junit reports/validation.xml

      mlops validate --hook data/raw/data.csv.dvc schemas/raw.yaml
    """
    from mlops_cli.validation.validate import run_validation

    st = state(ctx, json_output)
    reporter = CliReporter(st) if not hook else _QuietReporter(st)
    run = run_validation(
        st.cwd,
        targets or [],
        hook=hook,
        schema=schema,
        use_cache=not no_cache,
        engine=engine,
        reporter=reporter,
    )
    if junit is not None:
        from mlops_cli.validation.junit import write_junit

        write_junit(st.cwd / junit, run)
    _render(st, run, hook=hook)
    failed = [r.dataset or r.path for r in run.reports if not r.passed]
    if failed:
        raise CheckFailed(
            f"{len(failed)} of {len(run.reports)} failed validation: {', '.join(failed)}"
        )


class _QuietReporter(CliReporter):
    """In a hook, only warnings: pre-commit shows a hook's output when it fails."""

    def step(self, message: str) -> None:
        pass


def _render(st: State, run: ValidationRun, *, hook: bool) -> None:
    if st.json:
        st.emit("validate", run.to_dict())
        return
    if not run.reports:
        if not hook and not run.skipped:
            st.info("no data set has a schema: nothing to validate")
        return
    if st.out.is_terminal and not hook:
        _table(st, run)
    else:
        for line in plain_lines(run.reports, quiet=st.quiet):
            st.out.print(escape(line))
    if run.passed and not hook:
        st.success(f"{len(run.reports)} validated")


def _table(st: State, run: ValidationRun) -> None:
    from rich.table import Table

    from mlops_cli.validation.junit import examples_text

    table = Table(title="Validation", title_justify="left")
    if st.quiet and run.passed:
        return
    for name, justify in (("data set", "left"), ("file", "left"), ("rows", "right")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    table.add_column("result")
    table.add_column("time", justify="right")
    for r in run.reports:
        if st.quiet and r.passed:
            continue
        result = "[green]passed[/green]" if r.passed else "[red]failed[/red]"
        table.add_row(
            escape(r.dataset or "-"),
            escape(r.path),
            f"{r.rows:,}" if r.rows is not None else "?",
            result + (" [dim](cached)[/dim]" if r.cached else ""),
            f"{r.seconds:.2f} s",
        )
    st.out.print(table)
    for r in run.reports:
        if r.passed:
            continue
        failures = Table(title=f"{r.dataset or r.path}: failed checks", title_justify="left")
        for name in ("column", "check", "rows", "first failures (row = value)"):
            failures.add_column(name)
        for f in r.failures:
            failures.add_row(
                escape(f.column or "-"),
                escape(f.check),
                f"{f.failing_rows:,}" if f.failing_rows else "-",
                escape(f.message or examples_text(f)),
            )
        st.out.print(failures)
