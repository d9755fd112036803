"""A trained sklearn-classifier project (iris: the smallest data set) for the image tests.

Trained once per session; a test that changes it works on its own copy (`image_project`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

MODEL = "churn"


def _env(home: Path) -> dict[str, str]:
    # Session fixtures run outside the per-test isolation: give them their own home too.
    return {
        **os.environ,
        "HOME": str(home),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "GIT_CONFIG_GLOBAL": str(home / ".gitconfig"),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Test Author",
        "GIT_AUTHOR_EMAIL": "author@example.com",
        "GIT_COMMITTER_NAME": "Test Author",
        "GIT_COMMITTER_EMAIL": "author@example.com",
        "DVC_NO_ANALYTICS": "1",
        "NO_COLOR": "1",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }


def run(cmd: list[str], cwd: Path, env: dict[str, str]) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"{cmd} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


@pytest.fixture(scope="session")
def trained_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A committed, trained project whose image is based on the test base image."""
    from tests.conftest import mlops_bin

    work = tmp_path_factory.mktemp("image-project")
    home = work / "home"
    home.mkdir()
    (home / ".gitconfig").write_text("[init]\n\tdefaultBranch = main\n")
    env = _env(home)
    run([*mlops_bin(), "init", MODEL, "--set", "dataset=iris", "--no-git"], work, env)
    root = work / MODEL
    config = yaml.safe_load((root / "mlops.yaml").read_text())
    config["image"].update(
        {
            "base": os.environ.get("MLOPS_TEST_BASE_IMAGE", "mlops-test/python:3.11-bookworm"),
            "registry": "127.0.0.1:5000",
        }
    )
    (root / "mlops.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    dvc = str(Path(sys.executable).with_name("dvc"))
    for cmd in (
        ["git", "init", "-q"],
        [dvc, "init", "-q"],
        [dvc, "add", "-q", "data/raw/data.csv"],
        [dvc, "repro", "-q"],
        ["git", "add", "-A"],
        ["git", "commit", "-qm", "trained"],
    ):
        run(cmd, root, env)
    return root


@pytest.fixture
def image_project(trained_project: Path, tmp_path: Path) -> Path:
    """This test's own copy of the trained project (git history and DVC cache included)."""
    dest = tmp_path / MODEL
    shutil.copytree(trained_project, dest, symlinks=True)
    return dest
