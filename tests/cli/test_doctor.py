"""`mlops doctor`: every problem reported with its fix, exit 3 when a required one fails."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest


def test_no_daemon_and_no_git_identity(
    mlops: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for var in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL"):
        monkeypatch.delenv(var)
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")
    out = mlops("doctor", cwd=tmp_path)
    assert out.exit_code == 3, out.stderr
    lines = out.stdout.splitlines()
    identity = next(i for i, line in enumerate(lines) if "git identity" in line)
    assert lines[identity].startswith("FAIL")
    assert "git config --global user.name" in lines[identity + 1]
    docker = next(i for i, line in enumerate(lines) if "docker daemon" in line)
    assert lines[docker].startswith("warn") and "no-docker.sock" in lines[docker]
    assert "DOCKER_HOST" in lines[docker + 1]
    assert "required check(s) failed: git identity" in out.stderr


def test_json_in_a_project(mlops: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")
    monkeypatch.setenv("MLOPS_REGISTRY_USERNAME", "someone")
    monkeypatch.setenv("MLOPS_REGISTRY_PASSWORD", "canary-doctor-secret")
    (tmp_path / "mlops.yaml").write_text("project: demo\nimage: {registry: '127.0.0.1:9'}\n")
    out = mlops("doctor", "--json", cwd=tmp_path)
    assert out.exit_code == 0, out.stderr
    doc = json.loads(out.stdout)
    checks = {c["name"]: c for c in doc["checks"]}
    assert checks["project"]["status"] == "ok"
    assert checks["docker daemon"]["status"] == "warn"
    assert checks["registry"]["status"] == "warn"
    assert "does not answer" in checks["registry"]["detail"]
    assert "MLOPS_REGISTRY_USERNAME" in checks["registry"]["detail"]
    assert "canary-doctor-secret" not in out.stdout + out.stderr


def test_broken_config_is_a_required_failure(mlops: Any, tmp_path: Path) -> None:
    (tmp_path / "mlops.yaml").write_text("project: demo\nmodles: {}\n")
    out = mlops("doctor", cwd=tmp_path)
    assert out.exit_code == 3
    assert "did you mean 'models'?" in out.stdout
