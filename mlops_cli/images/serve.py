"""`mlops serve`: the image's serving runtime on the host, without Docker."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from mlops_cli.common.errors import InputError
from mlops_cli.common.progress import Reporter
from mlops_cli.images.bundle import prepare_bundle, write_model_dir
from mlops_cli.project.root import Project


def serve(
    project: Project,
    spec: str,
    *,
    host: str,
    port: int,
    workers: int = 1,
    trust: bool = False,
    prediction_log: Path | None = None,
    reporter: Reporter,
    on_ready: Callable[[str, str, str | None], None] | None = None,
) -> None:
    """Serve `spec` over HTTP until interrupted: the same checks, files and code as the image.

    `prediction_log`: the folder of the prediction log (as $MLOPS_PREDICTION_LOG in the image).
    """
    from mlops_cli.project.code import activate
    from mlops_cli.runtime import MODEL_DIR_ENV
    from mlops_cli.runtime.__main__ import serve_http
    from mlops_cli.runtime.model import ModelLoadError

    activate(project)  # as `mlops test`: the model may reference the project's own code
    bundle = prepare_bundle(project, spec, trust=trust, reporter=reporter)
    folder = Path(tempfile.mkdtemp(prefix="mlops-serve-"))
    try:
        write_model_dir(bundle, folder)
        os.environ[MODEL_DIR_ENV] = str(folder)  # uvicorn's factory reads it, in every worker
        if prediction_log is not None:
            from mlops_cli.runtime.predlog import LOG_ENV

            os.environ[LOG_ENV] = str(prediction_log.absolute())
        if on_ready is not None:
            on_ready(f"http://{host}:{port}", bundle.model, bundle.version)
        try:
            serve_http(host, port, workers, folder)
        except ModelLoadError as exc:
            raise InputError(f"cannot serve {spec}: {exc}") from None
    finally:
        shutil.rmtree(folder, ignore_errors=True)
