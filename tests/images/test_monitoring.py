"""The built image's /metrics and prediction log, with a read-only root and the log folder
on a tmpfs (the way the deployment runs it: readOnlyRootFilesystem and an emptyDir)."""

from __future__ import annotations

import contextlib
import json
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from mlops_cli.common.progress import NullReporter
from mlops_cli.images import build as images
from mlops_cli.images.container import free_port
from mlops_cli.project.root import open_project

pytestmark = pytest.mark.docker
ROW = {"sepal_length_cm": 6.7, "sepal_width_cm": 3.0, "petal_length_cm": 5.2, "petal_width_cm": 2.3}


def _get(url: str, body: bytes | None = None) -> tuple[int, bytes]:
    headers = {"content-type": "application/json"} if body is not None else {}
    request = urllib.request.Request(url, data=body, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_the_image_serves_metrics_and_logs_predictions_read_only(
    docker_env: Any, image_project: Path
) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    result = images.build(open_project(image_project), "churn", reporter=NullReporter())
    port = free_port()
    container = docker_env.containers.run(
        result.image_id,
        detach=True,
        network_mode="host",
        read_only=True,
        tmpfs={"/var/log/mlops": "mode=1777"},
        environment={
            "MLOPS_HOST": "127.0.0.1",
            "MLOPS_PORT": str(port),
            "MLOPS_PREDICTION_LOG": "/var/log/mlops",
            "MLOPS_PREDICTION_LOG_EXCLUDE": "sepal_width_cm",
        },
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            with contextlib.suppress(OSError):
                if _get(f"{url}/health")[0] == 200:
                    break
            container.reload()
            assert container.status not in ("exited", "dead"), container.logs().decode()
            assert time.monotonic() < deadline, container.logs().decode()
            time.sleep(0.5)
        for _ in range(2):
            status, raw = _get(f"{url}/predict", json.dumps([ROW, ROW, ROW]).encode())
            assert status == 200, raw
        assert _get(f"{url}/predict", b"{nope")[0] == 400
        status, raw = _get(f"{url}/metrics")
        assert status == 200
        samples = {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(raw.decode())
            for s in family.samples
        }
        assert samples[("mlops_requests_total", (("code", "200"), ("endpoint", "/predict")))] == 2
        assert samples[("mlops_request_errors_total", (("kind", "bad_json"),))] == 1
        assert samples[("mlops_predicted_rows_total", ())] == 6
        assert samples[("mlops_predicted_class_total", (("class", "2"),))] == 6
        labels = docker_env.images.get(result.image_id).labels
        info = (
            ("artifact_sha256", labels["mlops.artifact.sha256"]),
            ("model", "churn"),
            ("version", "workspace"),
        )
        assert samples[("mlops_model_info", info)] == 1
        deadline = time.monotonic() + 30
        while True:  # the writer thread writes after the answers went out
            code, out = container.exec_run(["sh", "-c", "cat /var/log/mlops/*.jsonl"])
            logged = [json.loads(line) for line in out.decode().splitlines()] if code == 0 else []
            if len(logged) == 6 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert len(logged) == 6, out
        assert all(
            r["inputs"] == {k: v for k, v in ROW.items() if k != "sepal_width_cm"} for r in logged
        )
        assert all(r["prediction"] == 2 and r["model"] == "churn" for r in logged)
    finally:
        container.remove(force=True)
