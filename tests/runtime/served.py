"""The runtime served in a real process (one uvicorn worker), and its /metrics read back
with prometheus_client's own parser."""

from __future__ import annotations

import http.client
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops_cli.common.progress import NullReporter
from mlops_cli.images.bundle import prepare_bundle, write_model_dir
from mlops_cli.project.root import open_project
from tests import servers

RUNTIME_ENV = (
    "MLOPS_MAX_BODY_BYTES",
    "MLOPS_MAX_JSON_DEPTH",
    "MLOPS_MAX_INFLIGHT",
    "MLOPS_PREDICTION_LOG",
    "MLOPS_PREDICTION_LOG_SAMPLE",
    "MLOPS_PREDICTION_LOG_MAX_BYTES",
    "MLOPS_PREDICTION_LOG_FILES",
    "MLOPS_PREDICTION_LOG_EXCLUDE",
    "MLOPS_PREDICTION_LOG_QUEUE_ROWS",
    "MLOPS_PREDICTION_BUCKETS",
    "PROMETHEUS_MULTIPROC_DIR",
)


def model_dir_of(project: Path, dest: Path) -> Path:
    """The model folder of `project`'s churn, for a module-scoped fixture: those run before
    the per-test isolation, so mlops' caches are pointed beside `dest`, not the real home."""
    import pytest

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(dest.parent / f"{dest.name}-cache"))
        bundle = prepare_bundle(open_project(project), "churn", reporter=NullReporter())
    write_model_dir(bundle, dest, locked={"scikit-learn": "1.0"})
    return dest


@dataclass
class Served:
    pid: int
    port: int

    def request(
        self, method: str, path: str, body: Any = None, timeout: float = 30
    ) -> tuple[int, bytes]:
        raw = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            headers = {"content-type": "application/json"} if raw is not None else {}
            conn.request(method, path, body=raw, headers=headers)
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def predict(self, records: Any) -> tuple[int, Any]:
        status, raw = self.request("POST", "/predict", records)
        return status, json.loads(raw)

    def metrics(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        """Every sample of /metrics: (name, sorted labels) -> value."""
        from prometheus_client.parser import text_string_to_metric_families

        status, raw = self.request("GET", "/metrics")
        assert status == 200, raw
        return {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(raw.decode("utf-8"))
            for sample in family.samples
        }


def healthy(port: int) -> bool:
    try:
        return Served(0, port).request("GET", "/health", timeout=5)[0] == 200
    except OSError:
        return False


@contextmanager
def runtime(model_dir: Path, log: Path, workers: int = 1, **env: str) -> Iterator[Served]:
    """`python -m mlops_cli.runtime serve` with `env` over a clean runtime environment."""
    environ = servers.environ_without(*RUNTIME_ENV)
    environ.update(env, MLOPS_LOG_LEVEL="warning")
    cmd = [sys.executable, "-m", "mlops_cli.runtime", "--model-dir", str(model_dir), "serve"]
    with servers.serving(
        lambda port: [*cmd, "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)],
        healthy,
        log=log,
        wait=90,
        poll=0.3,
        env=environ,
    ) as started:
        yield Served(started.proc.pid, started.port)


def value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)
