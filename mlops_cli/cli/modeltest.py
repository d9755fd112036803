"""`mlops test`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mlops_cli.cli.console import CliReporter, State, escape
from mlops_cli.cli.options import JsonOption, state
from mlops_cli.common.errors import CheckFailed, UsageError

if TYPE_CHECKING:
    from mlops_cli.modeltest.run import TestReport
    from mlops_cli.project.root import Project


def test(
    ctx: typer.Context,
    spec: Annotated[
        str | None,
        typer.Argument(
            help="MODEL (the workspace model), MODEL@VERSION or MODEL#STAGE; default: the"
            " only model in mlops.yaml.",
            metavar="[MODEL[@VERSION]]",
            show_default=False,
        ),
    ] = None,
    record: Annotated[
        bool,
        typer.Option("--record", help="Store the results in the version's record (committed)."),
    ] = False,
    sign: Annotated[
        bool,
        typer.Option(
            "--sign", help="With --record: git signs the record commit (docs/security.md)."
        ),
    ] = False,
    junit: Annotated[
        Path | None,
        typer.Option("--junit", help="Also write a JUnit XML report here.", metavar="FILE"),
    ] = None,
    trust: Annotated[
        bool,
        typer.Option("--trust", help="Unpickle a joblib/pickle model that no record vouches for."),
    ] = False,
    image: Annotated[
        str | None,
        typer.Option(
            "--image",
            help="Run the checks through this built image's /predict instead of the model file.",
            metavar="REF",
        ),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Run the model tests declared in mlops.yaml: exit 0 pass, 1 fail, 3 bad input.

    The test data set is validated against its schema first; then metric floors, the
    output contract, no regression against the version in a stage, slices, invariance,
    latency and size.

    Examples:

      mlops test churn

      mlops test churn@v0.2.0 --record --sign --junit reports/model-tests.xml

      mlops test churn@v0.2.0 --image localhost:5000/churn:v0.2.0
    """
    from mlops_cli.modeltest.run import test_model, write_junit
    from mlops_cli.project.root import open_project
    from mlops_cli.registry.records import check_recordable, record_tests

    st = state(ctx, json_output)
    project = open_project(st.cwd)
    spec = spec or _only_model(project)
    names_version = ("@" in spec or "#" in spec) and not spec.endswith("@workspace")
    if record and not names_version:
        raise UsageError(
            "--record needs a registered version: MODEL@VERSION or MODEL#STAGE",
            hint="register the model first (`mlops model register`)",
        )
    if sign and not record:
        raise UsageError("--sign signs the record commit: give it with --record")
    if record:
        check_recordable(project, sign=sign)
    if image is not None:
        from mlops_cli.images.imagetest import test_image

        report = test_image(project, spec, image, reporter=CliReporter(st))
    else:
        report = test_model(project, spec, trust=trust, reporter=CliReporter(st))
    if junit is not None:
        write_junit(report, st.cwd / junit)
    if record:
        assert report.version is not None
        record_tests(project, report.model, report.version, report.to_record(), sign=sign)
    for warning in report.warnings:
        st.warn(warning)
    _render(st, report, recorded=record)
    if not report.passed:
        raise CheckFailed(
            f"{len(report.failed)} of {len(report.checks)} checks failed: {_where(report)}"
        )


def _where(report: TestReport) -> str:
    sha = str(report.artifact.get("sha256", ""))[:12]
    return f"{report.target} (sha256 {sha}) on {report.data['path']}"


def _only_model(project: Project) -> str:
    models = sorted(project.config.models)
    if len(models) != 1:
        raise UsageError(
            f"name the model to test: mlops.yaml declares {', '.join(models) or 'none'}"
        )
    return models[0]


def _value(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)


def _render(st: State, report: TestReport, *, recorded: bool) -> None:
    if st.json:
        st.emit("test", {**report.to_dict(), "recorded": recorded})
        return
    verdicts = {True: "PASS", False: "FAIL", None: "INFO"}
    if st.out.is_terminal:
        from rich.table import Table

        table = Table(title=f"Model tests: {escape(report.target)}", title_justify="left")
        for column in ("result", "check", "value", "bound", "detail"):
            table.add_column(column)
        colours = {True: "green", False: "red", None: "dim"}
        for c in report.checks:
            table.add_row(
                f"[{colours[c.passed]}]{verdicts[c.passed]}[/]",
                escape(f"{c.family}: {c.name}"),
                _value(c.value),
                escape(c.bound or ""),
                escape(c.detail),
            )
        st.out.print(table)
    else:
        for c in report.checks:
            bound = f" ({c.bound})" if c.bound else ""
            detail = f" - {c.detail}" if c.detail else ""
            line = f"{verdicts[c.passed]} {c.family}: {c.name} {_value(c.value)}{bound}{detail}"
            st.out.print(escape(line.replace("  ", " ")))
    if report.passed:
        st.success(f"{len(report.checks)} checks passed: {escape(_where(report))}")
    if recorded:
        st.info(f"  recorded in the record of {report.model}@{report.version}")
