"""S3 remotes (issue 10, part 3) against a real S3-compatible server on 127.0.0.1
(tests/plugins/s3.py), and the exit-3 answer when dvc-s3 is not installed."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from mlops_cli.project.root import Project
from tests.datarepo import CSV, clone, dvc, git, new_project, write
from tests.plugins.s3 import CREDENTIALS, S3Bucket


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return new_project(tmp_path / "p")


def use_s3(root: Path, bucket: S3Bucket) -> None:
    """What a user does: the shared remote in .dvc/config (committed), the server's address
    for this machine in .dvc/config.local, credentials in the environment only."""
    for args in (
        ("remote", "add", "-d", "shared", bucket.url()),
        ("remote", "modify", "--local", "shared", "endpointurl", bucket.endpoint),
    ):
        ran = dvc(root, *args)
        assert ran.returncode == 0, ran.stderr
    config = root / "mlops.yaml"
    text = config.read_text()
    config.write_text(
        "\n".join(
            "remote: shared" if line.startswith("remote:") else line for line in text.splitlines()
        )
        + "\n"
    )
    assert "remote: shared" in config.read_text()


def test_push_check_and_pull_through_s3(
    mlops: Any, project: Project, s3_bucket: S3Bucket, tmp_path: Path
) -> None:
    root = project.root
    use_s3(root, s3_bucket)
    write(root / "data/a.csv", CSV)
    assert mlops("-C", str(root), "data", "add", "data/a.csv").exit_code == 0
    git(root, "add", "-A")
    git(root, "commit", "-qm", "data on s3")

    blocked = mlops("-C", str(root), "data", "check-pushed")
    assert blocked.exit_code == 1, blocked.stderr
    assert "not on remote shared: data/a.csv" in blocked.stderr

    pushed = mlops("-C", str(root), "data", "push", "--json")
    assert pushed.exit_code == 0, pushed.stderr
    assert pushed.json()["result"]["remote"] == "shared"
    assert any(k.startswith("dvc/files/md5/") for k in s3_bucket.object_keys())
    assert json.loads(dvc(root, "status", "-c", "--json").stdout or "{}") == {}
    assert mlops("-C", str(root), "data", "check-pushed").exit_code == 0
    status = mlops("-C", str(root), "status", "--check", "--remote")
    assert status.exit_code == 0, status.stdout + status.stderr

    # No credential reached a file of the repository.
    for path in root.rglob("*"):
        if path.is_file() and ".dvc/cache" not in str(path) and ".git/" not in str(path):
            text = path.read_bytes()
            assert CREDENTIALS["AWS_SECRET_ACCESS_KEY"].encode() not in text, path

    other = clone(root, tmp_path / "other")
    ran = dvc(other, "remote", "modify", "--local", "shared", "endpointurl", s3_bucket.endpoint)
    assert ran.returncode == 0, ran.stderr
    pulled = mlops("-C", str(other), "data", "pull")
    assert pulled.exit_code == 0, pulled.stderr
    assert (other / "data/a.csv").read_bytes() == CSV


def test_without_dvc_s3_the_answer_is_exit_3_naming_the_extra(
    mlops: Any, project: Project, tmp_path: Path
) -> None:
    """As in an environment where dvc-s3 is not installed: its import fails."""
    root = project.root
    assert dvc(root, "remote", "add", "-d", "-f", "local", "s3://bucket/path").returncode == 0
    write(root / "data/a.csv", CSV)
    assert mlops("-C", str(root), "data", "add", "data/a.csv").exit_code == 0
    git(root, "add", "-A")
    git(root, "commit", "-qm", "data")
    shadow = tmp_path / "no-dvc-s3"
    write(shadow / "dvc_s3" / "__init__.py", b"raise ImportError('No module named dvc_s3')\n")
    env = {**os.environ, "PYTHONPATH": str(shadow)}
    for args in (("data", "push"), ("data", "check-pushed"), ("data", "pull")):
        ran = mlops("-C", str(root), *args, env=env)
        assert ran.exit_code == 3, (args, ran.stderr)
        assert "pip install 'mlops-cli[s3]'" in ran.stderr, (args, ran.stderr)
        assert "dvc-s3" in ran.stderr
        assert "Traceback" not in ran.stderr
