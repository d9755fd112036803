"""`mlops monitor drift`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from mlops_cli.cli.options import JsonOption, state

app = typer.Typer(
    no_args_is_help=True,
    help=(
        "Production monitoring: drift of the data a version sees from its training data."
        " Has production's data moved away from what the model learned?\n\n"
        "Example: mlops monitor drift churn#prod --data logs/"
    ),
)


def _pairs(values: list[str] | None, option: str) -> dict[str, str]:
    from mlops_cli.common.errors import UsageError

    out: dict[str, str] = {}
    for value in values or []:
        column, sep, setting = value.partition("=")
        if not sep or not column or not setting:
            raise UsageError(f"{option} takes COLUMN=VALUE, got {value!r}")
        out[column] = setting
    return out


@app.command("drift")
def drift(
    ctx: typer.Context,
    spec: Annotated[
        str,
        typer.Argument(
            help="NAME#STAGE, NAME@VERSION or NAME (the latest version).",
            metavar="SPEC",
            show_default=False,
        ),
    ],
    data: Annotated[
        list[Path],
        typer.Option(
            "--data",
            help="Current data: CSV or Parquet files, or folders of them or of prediction"
            " logs (*.jsonl). Repeatable.",
            show_default=False,
        ),
    ],
    reference: Annotated[
        str | None,
        typer.Option(
            "--reference",
            metavar="DATASET",
            help="The recorded data set to compare with (default: the training data).",
        ),
    ] = None,
    columns: Annotated[
        str | None,
        typer.Option("--columns", help="Comma-separated columns (default: all but the target)."),
    ] = None,
    method: Annotated[
        list[str] | None,
        typer.Option(
            "--method",
            metavar="COLUMN=TEST",
            help="A column's test: ks, chisquare, z, wasserstein, jensenshannon or psi.",
        ),
    ] = None,
    threshold: Annotated[
        list[str] | None,
        typer.Option("--threshold", metavar="COLUMN=VALUE", help="A column's threshold."),
    ] = None,
    drift_share: Annotated[
        float,
        typer.Option(
            "--drift-share", help="Share of drifted columns that makes the data set drift."
        ),
    ] = 0.5,
    html: Annotated[
        Path | None,
        typer.Option(
            "--html",
            metavar="PATH",
            help="Also write a self-contained HTML report (histograms per column) here.",
        ),
    ] = None,
    record_result: Annotated[
        bool,
        typer.Option(
            "--record",
            help="Store the result in the version's record (one commit): `mlops status"
            " --check` then fails while a stage's version has recorded data set drift.",
        ),
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """Compare current data with the data SPEC was trained on, column by column (the
    tests of Evidently's default drift algorithm); exit 1 when the data set drifted.

    Examples:

      mlops monitor drift churn#prod --data logs/ --html reports/drift.html

      mlops monitor drift churn@v0.3.0 --data data/new/customers.parquet --json
    """
    from mlops_cli.common.errors import CheckFailed, UsageError
    from mlops_cli.monitor.drift import METHODS, compare
    from mlops_cli.monitor.inputs import read_current, read_reference, reference_of
    from mlops_cli.project.root import open_project
    from mlops_cli.registry.records import record_of

    st = state(ctx, json_output)
    methods = _pairs(method, "--method")
    for column, test in methods.items():
        if test not in METHODS or test == "auto":
            raise UsageError(f"--method {column}={test}: choose one of {', '.join(METHODS[1:])}")
    try:
        thresholds = {k: float(v) for k, v in _pairs(threshold, "--threshold").items()}
    except ValueError as exc:
        raise UsageError(f"--threshold takes COLUMN=NUMBER: {exc}") from None
    if not 0 < drift_share <= 1:
        raise UsageError("--drift-share is a share of the columns, in (0, 1]")
    project = open_project(st.cwd)
    record = record_of(project, spec)
    if record_result:
        from mlops_cli.registry.records import check_recordable

        check_recordable(project)  # before the work, not after
    ref = reference_of(project, record, reference)
    ref_frame = read_reference(ref)
    cur_frame, files = read_current([st.cwd / p for p in data])
    target = project.config.models[record.model].target
    if columns:
        chosen = [c.strip() for c in columns.split(",") if c.strip()]
        unknown = [c for c in chosen if c not in ref_frame.columns]
        if unknown:
            raise UsageError(f"--columns: not in the reference data: {', '.join(unknown)}")
    else:
        chosen = [c for c in ref_frame.columns if c != target]
    result = compare(
        ref_frame,
        cur_frame,
        chosen,
        methods=methods,
        thresholds=thresholds,
        drift_share=drift_share,
    )
    doc: dict[str, Any] = {
        "model": record.model,
        "version": record.version,
        "reference": {
            "dataset": ref.dataset,
            "path": ref.path,
            "md5": ref.md5,
            "rows": ref_frame.height,
        },
        "current": {"files": files, "rows": cur_frame.height},
        **result.to_dict(),
    }
    if record_result:
        from mlops_cli.registry.records import now, record_drift

        record_drift(project, record.model, record.version, _recorded(doc, now()))
        doc["recorded"] = True
    if html is not None:
        from mlops_cli.common.fs import atomic_write_text
        from mlops_cli.monitor.report import render_html

        out = st.cwd / html
        if out.is_dir():
            raise UsageError(f"--html {html}: a folder; give the report's file name")
        out.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out, render_html(doc))
        doc["html"] = str(html)
    if st.json:
        st.emit("monitor drift", doc)
    else:
        _table(st, doc)
        if html is not None:
            st.out.print(f"report: {escape_path(str(html))}")
    if result.dataset_drift:
        drifted = len(result.drifted_columns)
        raise CheckFailed(
            f"{record.model}@{record.version}: data set drift, {drifted} of"
            f" {len(result.columns)} column(s) drifted (threshold {drift_share:.0%})",
            hint="retrain on current data, then `mlops model register`, `mlops test --record`,"
            " `mlops model promote`",
        )


def _recorded(doc: dict[str, Any], at: str) -> dict[str, Any]:
    """What the record keeps of a drift result: the verdict and each column's figures (not
    the histograms, which the JSON and HTML reports carry)."""
    return {
        "at": at,
        "reference": {k: doc["reference"][k] for k in ("dataset", "path", "md5", "rows")},
        "current": {
            "files": [Path(f).name for f in doc["current"]["files"]][:20],
            "rows": doc["current"]["rows"],
        },
        "dataset_drift": doc["dataset_drift"],
        "drift_share": doc["drift_share"],
        "drifted_share": doc["drifted_share"],
        "drifted_columns": doc["drifted_columns"],
        "columns": {
            c["column"]: {k: c[k] for k in ("method", "statistic", "threshold", "drifted")}
            for c in doc["columns"]
        },
    }


def escape_path(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def _table(st: Any, doc: dict[str, Any]) -> None:
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"drift of {doc['model']}@{doc['version']}", title_justify="left")
    for heading in ("column", "kind", "test", "statistic", "threshold", "drifted"):
        table.add_column(heading)
    for col in doc["columns"]:
        mark = "[red]yes[/red]" if col["drifted"] else "no"
        table.add_row(
            escape(col["column"]),
            col["kind"],
            col["method"],
            f"{col['statistic']:.4g}",
            f"{col['threshold']:g}",
            mark,
        )
    st.out.print(table)
    ref, cur = doc["reference"], doc["current"]
    st.out.print(
        f"reference: {escape(ref['path'])} ({ref['rows']:,} rows, md5 {ref['md5'][:12]});"
        f" current: {cur['rows']:,} rows from {len(cur['files'])} file(s)"
    )
    if doc["missing_columns"]:
        st.out.print(f"not in the current data: {escape(', '.join(doc['missing_columns']))}")
    share = f"{len(doc['drifted_columns'])} of {len(doc['columns'])} columns drifted"
    if doc["dataset_drift"]:
        st.out.print(f"[red]data set drift[/red]: {share}")
    else:
        st.success(f"no data set drift: {share}")
