"""A small real repository for the tests of `gitio/`."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.gitrepo import g, new_repo

__all__ = ["g", "repo"]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository on branch main with one commit of a.txt."""
    return new_repo(tmp_path / "r")
