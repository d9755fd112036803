"""`mlops image ...` and `mlops serve` wiring: help, exit codes, --json; no daemon needed."""

from __future__ import annotations

import json
import signal
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from mlops_cli.images.container import free_port
from tests.conftest import mlops_bin

NO_DAEMON = "unix:///nonexistent/docker.sock"


@pytest.mark.parametrize(
    "args", [["image", "build"], ["image", "push"], ["image", "inspect"], ["serve"]]
)
def test_help_has_an_example(cli: Any, args: list[str]) -> None:
    out = cli(*args, "--help")
    assert out.exit_code == 0
    assert "Example" in out.stdout


def test_no_daemon_is_exit_3_naming_docker_host(
    cli: Any, image_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", NO_DAEMON)
    for args in (
        ["image", "build", "churn"],
        ["image", "push", "churn"],
        ["image", "inspect", "x"],
    ):
        out = cli("-C", str(image_project), *args)
        assert out.exit_code == 3, (args, out.stderr)
        assert f"cannot reach the Docker daemon at {NO_DAEMON}" in out.stderr
        assert "DOCKER_HOST" in out.stderr
    out = cli("-C", str(image_project), "image", "build", "churn", "--json")
    assert json.loads(out.stdout)["error"]["exit_code"] == 3


def test_print_dockerfile_needs_no_daemon(
    cli: Any, image_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", NO_DAEMON)
    out = cli("-C", str(image_project), "image", "build", "churn", "--print-dockerfile")
    assert out.exit_code == 0, out.stderr
    assert out.stdout.startswith("# Rendered by mlops")
    assert "FROM mlops-test/python:3.11-bookworm AS deps" in out.stdout
    assert "not pinned by digest" in out.stderr
    doc = cli("-C", str(image_project), "image", "build", "churn", "--print-dockerfile", "--json")
    payload = json.loads(doc.stdout)
    assert payload["dockerfile"] == out.stdout
    assert payload["refs"][0] == "127.0.0.1:5000/churn:workspace"


def test_unknown_model_is_exit_3(cli: Any, image_project: Path) -> None:
    out = cli("-C", str(image_project), "image", "build", "nope", "--print-dockerfile")
    assert out.exit_code == 3
    assert "nope" in out.stderr


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


def test_untrusted_model_is_refused_before_docker_is_asked(
    cli: Any, image_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import joblib
    import yaml

    joblib.dump({"any": "object"}, image_project / "models" / "model.joblib")
    config = yaml.safe_load((image_project / "mlops.yaml").read_text())
    config["models"]["churn"].update({"path": "models/model.joblib", "format": "joblib"})
    (image_project / "mlops.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    monkeypatch.setenv("DOCKER_HOST", NO_DAEMON)  # exit 4, not 3: the daemon is never reached
    out = cli("-C", str(image_project), "image", "build", "churn")
    assert out.exit_code == 4, out.stderr
    assert "refusing to unpickle" in out.stderr
