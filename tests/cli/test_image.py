"""`mlops image ...` wiring: help, exit codes, --json; no daemon needed (and `mlops serve`'s
help; serving itself is tests/cli/test_serve.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

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
