"""A copy of the really trained project for each registry test (tests/modelproject.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.modelproject import copy_of, trained


@pytest.fixture
def project(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Path:
    return copy_of(trained(tmp_path_factory), tmp_path)
