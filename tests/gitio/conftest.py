"""A small real repository for the tests of `gitio/`."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest


def g(root: Path, *args: str, ok: bool = True) -> str:
    """Run real git in `root` (the test's own runner, independent of the one under test)."""
    proc = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)
    if ok:
        assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository on branch main with one commit of a.txt."""
    root = tmp_path / "r"
    root.mkdir()
    g(root, "init", "-q", "-b", "main")
    (root / "a.txt").write_text("a\n")
    g(root, "add", "a.txt")
    g(root, "commit", "-q", "-m", "first")
    return root
