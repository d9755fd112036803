"""A real trained project for the model tests, built once per session and copied per test.

`mlops init` + `dvc repro` + a commit take ~15 s, so the result is cached for the whole
session; every test gets its own copy (`copy_of`), git and DVC cache included.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import mlops_bin

NAME = "churn"
_built: dict[str, Path] = {}


def tool(name: str) -> str:
    beside = Path(sys.executable).with_name(name)
    return str(beside) if beside.exists() else name


def build_env(home: Path) -> dict[str, str]:
    """What the isolation fixture sets, for fixtures that run before it (module scope)."""
    gitconfig = home / ".gitconfig"
    home.mkdir(parents=True, exist_ok=True)
    gitconfig.write_text("[init]\n\tdefaultBranch = main\n")
    return {
        **os.environ,
        "HOME": str(home),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "GIT_AUTHOR_NAME": "Test Author",
        "GIT_AUTHOR_EMAIL": "author@example.com",
        "GIT_COMMITTER_NAME": "Test Author",
        "GIT_COMMITTER_EMAIL": "author@example.com",
        "GIT_CONFIG_GLOBAL": str(gitconfig),
        "GIT_CONFIG_NOSYSTEM": "1",
        "DVC_NO_ANALYTICS": "1",
        "NO_COLOR": "1",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }


def run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=900, check=False
    )
    assert proc.returncode == 0, f"{cmd} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def git(project: Path, *args: str, env: dict[str, str] | None = None) -> str:
    return run(["git", *args], project, env).strip()


def commit_all(project: Path, message: str, env: dict[str, str] | None = None) -> str:
    git(project, "add", "-A", env=env)
    git(project, "commit", "-q", "-m", message, env=env)
    return git(project, "rev-parse", "HEAD", env=env)


def trained(factory: pytest.TempPathFactory) -> Path:
    """`mlops init churn` + `dvc repro` + commit, once per session."""
    if "v1" not in _built:
        base = factory.mktemp("trained")
        env = build_env(base / "home")
        # git and DVC are set up here rather than by `init` itself, so these tests depend
        # on the template, not on init's own git steps (tested in tests/test_e2e.py).
        run([*mlops_bin(), "init", NAME, "--no-git"], base, env)
        project = base / NAME
        git(project, "init", "-q", env=env)
        run([tool("dvc"), "init", "-q"], project, env)
        run([tool("dvc"), "add", "-q", "data/raw/data.csv"], project, env)
        commit_all(project, "scaffold", env)
        run([tool("dvc"), "repro", "-q"], project, env)
        commit_all(project, "train the first model", env)
        _built["v1"] = project
    return _built["v1"]


def retrain(project: Path, c: float, env: dict[str, str] | None = None) -> None:
    """Train another model (params.yaml train.C) and commit it."""
    params = project / "params.yaml"
    text = params.read_text()
    params.write_text(text.replace("  C: 1.0 ", f"  C: {c} ", 1))
    assert f"C: {c}" in params.read_text()
    run([tool("dvc"), "repro", "-q"], project, env)
    commit_all(project, f"retrain with C={c}", env)


def weak(factory: pytest.TempPathFactory) -> Path:
    """v1.0.0 registered, tested (recorded) and in prod; then a much worse model (C=1e-4)
    trained and committed on top, in the work tree."""
    if "weak" not in _built:
        base = factory.mktemp("weak")
        env = build_env(base / "home")
        project = Path(shutil.copytree(trained(factory), base / NAME, symlinks=True))
        for args in (
            ["model", "register", NAME, "--version", "v1.0.0"],
            ["test", f"{NAME}@v1.0.0", "--record"],
            ["model", "promote", NAME, "v1.0.0", "prod"],
        ):
            run([*mlops_bin(), *args], project, env)
        retrain(project, 0.0001, env)
        _built["weak"] = project
    return _built["weak"]


def run_in(cli: Any, project: Path) -> Any:
    """`mlops -C PROJECT ...` through the in-process `cli` fixture."""

    def call(*args: str) -> Any:
        return cli("-C", str(project), *args)

    return call


def copy_of(src: Path, dest_parent: Path) -> Path:
    return Path(shutil.copytree(src, dest_parent / NAME, symlinks=True))


def edit_config(project: Path, old: str, new: str) -> None:
    path = project / "mlops.yaml"
    text = path.read_text()
    assert old in text, f"{old!r} not in mlops.yaml"
    path.write_text(text.replace(old, new, 1))


def tags(project: Path) -> list[str]:
    return sorted(git(project, "tag", "--list").split())


def state_of(project: Path) -> dict[str, Any]:
    """HEAD, tags and the records folder: what a refused command must leave unchanged."""
    records = project / ".mlops" / "models"
    return {
        "head": git(project, "rev-parse", "HEAD"),
        "tags": tags(project),
        "records": sorted(str(p) for p in records.rglob("*")) if records.exists() else [],
        "status": git(project, "status", "--porcelain"),
    }
