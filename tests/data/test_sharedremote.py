"""The scaffold's default remote (a folder in the user's home) is one no teammate can reach:
`mlops doctor` says so on every run, the first `mlops data push` to it once, each with the
command that sets a shared remote (issue 10, part 5). Real projects, real processes."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from mlops_cli.data.sharedremote import private_remote
from mlops_cli.dvc.driver import RemoteInfo, remote_info
from tests.datarepo import CSV, dvc, git, new_project, write

FIX = "dvc remote add -d --force shared URL"
PROBLEM = "teammates, other machines and CI cannot reach it"


@pytest.fixture
def project(isolated_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """`mlops init -t minimal` with its default remote under $XDG_DATA_HOME (the test's
    home), plus one versioned, committed data file."""
    monkeypatch.delenv("MLOPS_REMOTES_DIR", raising=False)
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")  # doctor: fast
    root = new_project(tmp_path / "proj").root
    write(root / "data/prices.csv", CSV)
    assert dvc(root, "add", "-q", "data/prices.csv").returncode == 0
    git(root, "add", "-A")
    git(root, "commit", "-qm", "data")
    return root


def _remote_check(out: Any) -> dict[str, Any]:
    doc = json.loads(out.stdout)
    return next(c for c in doc["checks"] if c["name"] == "dvc remote")


def test_default_remote_is_private_doctor_always_push_once(
    mlops: Any, project: Path, isolated_env: Path
) -> None:
    folder = remote_info(project, "local").local_folder
    assert folder is not None and folder.is_relative_to(isolated_env)  # init's default
    # doctor: every run, on stdout (its report), with the fix; a warning, not a failure.
    for _ in range(2):
        text = mlops("doctor", cwd=project)
        assert text.exit_code == 0, text.stderr
        line = next(ln for ln in text.stdout.splitlines() if "dvc remote" in ln)
        assert line.startswith("warn") and PROBLEM in text.stdout and FIX in text.stdout
    check = _remote_check(mlops("doctor", "--json", cwd=project))
    assert check["status"] == "warn" and str(folder) in check["detail"]
    assert FIX in check["fix"]

    # The first push says it once, on stderr; the second does not.
    first = mlops("data", "push", cwd=project)
    assert first.exit_code == 0, first.stderr
    assert first.stderr.count(PROBLEM) == 1 and FIX in first.stderr
    assert PROBLEM not in first.stdout
    second = mlops("data", "push", "--json", cwd=project)
    assert second.exit_code == 0, second.stderr
    assert PROBLEM not in second.stderr
    assert "warnings" not in json.loads(second.stdout)
    told = list((isolated_env / ".local/state/mlops/told").iterdir())
    assert len(told) == 1  # remembered per user (state folder) and remote, not per clone


def test_under_json_the_warning_is_in_the_document_not_beside_it(mlops: Any, project: Path) -> None:
    out = mlops("data", "push", "--json", cwd=project)
    assert out.exit_code == 0, out.stderr
    doc = json.loads(out.stdout)  # the whole of stdout: one document
    assert doc["command"] == "data push" and doc["schema_version"] == 1
    assert len(doc["warnings"]) == 1 and PROBLEM in doc["warnings"][0]
    assert FIX in doc["warnings"][0]
    assert PROBLEM in out.stderr  # and said on stderr as well


def test_the_suggested_fix_clears_it(mlops: Any, project: Path, tmp_path: Path) -> None:
    shared = tmp_path / "team-share"
    shared.mkdir()
    # The fix as the warning words it: a shared remote, made DVC's default and mlops'.
    assert dvc(project, "remote", "add", "-d", "--force", "shared", str(shared)).returncode == 0
    config = project / "mlops.yaml"
    config.write_text(config.read_text().replace("remote: local", "remote: shared"))
    check = _remote_check(mlops("doctor", "--json", cwd=project))
    assert check["status"] == "ok", check
    out = mlops("data", "push", cwd=project)
    assert out.exit_code == 0, out.stderr
    assert PROBLEM not in out.stderr
    assert any(shared.rglob("*")), "nothing reached the shared remote"


def test_a_state_folder_that_cannot_be_written_means_told_again(
    mlops: Any, project: Path, tmp_path: Path
) -> None:
    blocked = tmp_path / "state-is-a-file"
    blocked.write_text("")
    env = {**os.environ, "XDG_STATE_HOME": str(blocked)}
    for _ in range(2):
        out = mlops("data", "push", cwd=project, env=env)
        assert out.exit_code == 0, out.stderr  # a reminder never fails a push
        assert out.stderr.count(PROBLEM) == 1


def test_which_local_folders_count_as_private(isolated_env: Path, tmp_path: Path) -> None:
    def info(url: str) -> RemoteInfo:
        return RemoteInfo("local", url, tmp_path)

    assert private_remote(info(str(isolated_env / "dvc-storage"))) is not None
    # A clone of a teammate's project carries their home path: still out of reach.
    theirs = "/home/alice/.local/share/mlops/remotes/churn-1a2b3c4d"
    assert private_remote(info(theirs)) is not None
    assert private_remote(info(str(tmp_path / "shared-mount"))) is None
    assert private_remote(info("s3://bucket/path")) is None
    assert private_remote(info("ssh://host/srv/dvc")) is None


def test_a_remotes_dir_outside_the_home_is_not_private(
    mlops: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """$MLOPS_REMOTES_DIR on a shared mount: the default remote is then a shared one."""
    monkeypatch.setenv("MLOPS_REMOTES_DIR", str(tmp_path / "team-remotes"))
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")
    root = new_project(tmp_path / "proj").root
    folder = remote_info(root, "local").local_folder
    assert folder is not None and folder.is_relative_to(tmp_path / "team-remotes")
    check = _remote_check(mlops("doctor", "--json", cwd=root))
    assert check["status"] in ("ok", "warn") and PROBLEM not in check["detail"]
