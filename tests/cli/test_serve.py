"""cli/serve.py: `mlops serve` in a real process: it answers, says where it listens (one
--json document), and stops on Ctrl-C."""

from __future__ import annotations

import json
import signal
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

from mlops_cli.images.container import free_port
from tests.conftest import mlops_bin


def test_serve_answers_and_stops_on_ctrl_c(image_project: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [*mlops_bin(), "serve", "churn", "--port", str(port), "--json"],
        cwd=image_project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    try:
        record = {
            "sepal_length_cm": 6.7,
            "sepal_width_cm": 3.0,
            "petal_length_cm": 5.2,
            "petal_width_cm": 2.3,
        }
        deadline = time.monotonic() + 60
        while True:
            try:
                request = urllib.request.Request(
                    f"http://127.0.0.1:{port}/predict",
                    data=json.dumps([record]).encode(),
                    headers={"content-type": "application/json"},
                )
                with urllib.request.urlopen(request, timeout=5) as resp:
                    body = json.loads(resp.read())
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, proc.stderr
                time.sleep(0.3)
        assert body["predictions"] == [2]
        assert len(body["probabilities"][0]) == 3
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert f"serving churn on http://127.0.0.1:{port}" in err
    doc = json.loads(out)
    assert (doc["url"], doc["model"], doc["version"]) == (f"http://127.0.0.1:{port}", "churn", None)
    assert proc.returncode in (0, 130)


def test_serve_of_an_unknown_model_is_exit_3(cli: Any, image_project: Path) -> None:
    out = cli("-C", str(image_project), "serve", "nope", "--json")
    assert out.exit_code == 3
    doc = json.loads(out.stdout)
    assert doc["command"] == "error" and "nope" in doc["error"]["message"]


def test_workers_must_be_positive(cli: Any, image_project: Path) -> None:
    out = cli("-C", str(image_project), "serve", "churn", "--workers", "0")
    assert out.exit_code == 2


def test_serve_with_a_prediction_log_writes_it_relative_to_c(image_project: Path) -> None:
    """`-C PROJECT serve --prediction-log logs`: the folder is the project's `logs/`, and
    /metrics answers beside /predict."""
    from prometheus_client.parser import text_string_to_metric_families

    port = free_port()
    proc = subprocess.Popen(
        [*mlops_bin(), "-C", str(image_project), "serve", "churn", "--port", str(port),
         "--prediction-log", "logs"],
        cwd=image_project.parent,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    record = {
        "sepal_length_cm": 6.7,
        "sepal_width_cm": 3.0,
        "petal_length_cm": 5.2,
        "petal_width_cm": 2.3,
    }
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                request = urllib.request.Request(
                    f"http://127.0.0.1:{port}/predict",
                    data=json.dumps([record, record]).encode(),
                    headers={"content-type": "application/json"},
                )
                with urllib.request.urlopen(request, timeout=5) as resp:
                    assert resp.status == 200
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, proc.stderr
                time.sleep(0.3)
        logged: list[Any] = []
        while len(logged) < 2 and time.monotonic() < deadline:
            logged = [
                json.loads(line)
                for path in sorted((image_project / "logs").glob("*.jsonl"))
                for line in path.read_text().splitlines()
            ]
            time.sleep(0.1)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
            text = resp.read().decode()
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)
        proc.kill()
    assert [(r["inputs"], r["prediction"]) for r in logged] == [(record, 2), (record, 2)]
    rows = {s.name: s.value for f in text_string_to_metric_families(text) for s in f.samples}
    assert rows["mlops_predicted_rows_total"] == 2
    assert rows["mlops_prediction_log_rows_total"] == 2
