"""A fresh `mlops init -t minimal` project with its local default remote, per test."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_cli.project.root import Project
from tests.datarepo import new_project


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    monkeypatch.setenv("MLOPS_REMOTES_DIR", str(tmp_path / "remotes"))
    return new_project(tmp_path / "proj")
