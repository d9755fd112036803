"""`mlops serve`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mlops_cli.cli.console import CliReporter, escape
from mlops_cli.cli.options import JsonOption, state


def serve(
    ctx: typer.Context,
    spec: Annotated[
        str,
        typer.Argument(
            help="Model: NAME (the workspace file), NAME@vX.Y.Z or NAME#STAGE.",
            metavar="MODEL[@VERSION]",
            show_default=False,
        ),
    ],
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", "-p", help="Port to listen on.")] = 8080,
    workers: Annotated[int, typer.Option("--workers", help="Server processes.", min=1)] = 1,
    trust: Annotated[
        bool,
        typer.Option("--trust", help="Load a pickle/joblib model whose sha256 is not recorded."),
    ] = False,
    prediction_log: Annotated[
        Path | None,
        typer.Option(
            "--prediction-log",
            help="Log a sample of inputs and predictions as JSON lines in DIR"
            " (MLOPS_PREDICTION_LOG_* tune it; docs/monitoring.md).",
            metavar="DIR",
            file_okay=False,
        ),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Serve a model over HTTP on this machine: the image's runtime, without Docker.

    GET /health, GET /metadata, GET /metrics (Prometheus), POST /predict (JSON records;
    422 lists schema problems).
    With --json, one document {url, model, version} is printed when it starts listening.

    Example:

      mlops serve churn@v0.2.0 --port 8080 &
      curl -s localhost:8080/predict -d '[{"tenure": 3, "plan": "basic"}]'
      curl -s localhost:8080/metrics
    """
    from mlops_cli.images.serve import serve as run
    from mlops_cli.project.root import open_project

    st = state(ctx, json_output)

    def ready(url: str, model: str, version: str | None) -> None:
        if st.json:
            st.emit("serve", {"url": url, "model": model, "version": version}, now=True)
        st.info(f"serving {escape(spec)} on {escape(url)} (Ctrl-C stops)")

    run(
        open_project(st.cwd),
        spec,
        host=host,
        port=port,
        workers=workers,
        trust=trust,
        prediction_log=None if prediction_log is None else st.cwd / prediction_log,
        reporter=CliReporter(st),
        on_ready=ready,
    )
