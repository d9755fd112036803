"""`python -m mlops_cli.runtime serve|predict|health`: the image's entry point.

serve     HTTP on $MLOPS_HOST:$MLOPS_PORT (default 0.0.0.0:8080), $MLOPS_WORKERS processes
predict   batch: CSV (or JSON records with --format json) on stdin, CSV or JSON on stdout
health    exit 0 when the local server answers /health (the image's HEALTHCHECK)

serve and predict first check the model's model-signing bundle when MLOPS_MODEL_KEYS is
set (runtime/signature.py): exit 3 when it is missing or does not verify.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sys
import tempfile
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from mlops_cli.runtime import HOST_ENV, MODEL_DIR_ENV, PORT_ENV, WORKERS_ENV
from mlops_cli.runtime.model import InputProblems, ModelLoadError, load
from mlops_cli.runtime.signature import check_signature

EXIT_BAD_INPUT = 65  # sysexits EX_DATAERR: the records did not fit the schema


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mlops-runtime", description=__doc__)
    parser.add_argument("--model-dir", default=os.environ.get(MODEL_DIR_ENV, "/app/model"))
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve HTTP")
    serve.add_argument("--host", default=os.environ.get(HOST_ENV, "0.0.0.0"))
    serve.add_argument("--port", type=int, default=int(os.environ.get(PORT_ENV, "8080")))
    serve.add_argument("--workers", type=int, default=int(os.environ.get(WORKERS_ENV, "1")))
    predict = sub.add_parser("predict", help="batch predictions from stdin")
    predict.add_argument("--format", choices=["csv", "json"], default="csv")
    sub.add_parser("health", help="probe the local server")
    args = parser.parse_args(argv)
    os.environ[MODEL_DIR_ENV] = str(args.model_dir)
    try:
        if args.command in ("serve", "predict"):
            # The container's own check; `mlops serve` on the host does not come here.
            signed_by = check_signature(Path(args.model_dir))
            if signed_by is not None:
                print(f"mlops-runtime: model signature verified ({signed_by})", file=sys.stderr)
        if args.command == "serve":
            return serve_http(args.host, args.port, args.workers, Path(args.model_dir))
        if args.command == "predict":
            return predict_batch(Path(args.model_dir), args.format)
        return health()
    except ModelLoadError as exc:
        print(f"mlops-runtime: {exc}", file=sys.stderr)
        return 3


def serve_http(host: str, port: int, workers: int, model_dir: Path) -> int:
    import copy

    import uvicorn
    from uvicorn.config import LOGGING_CONFIG

    load(model_dir)  # fail before binding the port, with a clear message, if it cannot load
    # Every log line on stderr (uvicorn sends the access log to stdout): stdout stays for
    # results, e.g. the one document of `mlops serve --json`.
    log_config = copy.deepcopy(LOGGING_CONFIG)
    for handler in log_config["handlers"].values():
        handler["stream"] = "ext://sys.stderr"
    with shared_metrics(workers):
        uvicorn.run(
            "mlops_cli.runtime.app:app_from_env",
            log_config=log_config,
            factory=True,
            host=host,
            port=port,
            workers=max(1, workers),
            log_level=os.environ.get("MLOPS_LOG_LEVEL", "info"),
            proxy_headers=False,
            server_header=False,
        )
    return 0


@contextlib.contextmanager
def shared_metrics(workers: int) -> Iterator[None]:
    """With several workers, a fresh $PROMETHEUS_MULTIPROC_DIR for their counts (removed
    after), so /metrics adds up every worker's, whichever answers. One worker needs none;
    a folder the operator set is theirs (prometheus_client wants it emptied between runs)."""
    from mlops_cli.runtime.metrics import MULTIPROC_ENV

    if workers <= 1 or os.environ.get(MULTIPROC_ENV):
        yield
        return
    try:
        folder = tempfile.mkdtemp(prefix="mlops-metrics-")
    except OSError as exc:  # a read-only /tmp: counts stay per worker
        print(f"mlops-runtime: /metrics counts per worker: {exc}", file=sys.stderr)
        yield
        return
    os.environ[MULTIPROC_ENV] = folder  # the workers are spawned: they inherit it
    try:
        yield
    finally:
        del os.environ[MULTIPROC_ENV]
        shutil.rmtree(folder, ignore_errors=True)


def predict_batch(model_dir: Path, fmt: str) -> int:
    import pandas as pd

    model = load(model_dir)
    if fmt == "json":
        records = json.load(sys.stdin)
    else:
        frame = pd.read_csv(sys.stdin)
        # pandas' NaN for empty cells -> None, the JSON null the checks understand.
        records = frame.astype(object).where(frame.notna(), None).to_dict("records")
    try:
        result = model.predict(records)
    except InputProblems as exc:
        for problem in exc.problems:
            print(f"mlops-runtime: {problem}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if fmt == "json":
        json.dump(result, sys.stdout)
        sys.stdout.write("\n")
        return 0
    out = pd.DataFrame({"prediction": result["predictions"]})
    if result["probabilities"] is not None and result["classes"] is not None:
        for i, label in enumerate(result["classes"]):
            out[f"proba_{label}"] = [row[i] for row in result["probabilities"]]
    out.to_csv(sys.stdout, index=False)
    return 0


def health() -> int:
    port = os.environ.get(PORT_ENV, "8080")
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=3) as resp:
            return 0 if resp.status == 200 else 1
    except OSError:
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
