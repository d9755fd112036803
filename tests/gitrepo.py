"""Real git for the tests, independent of the runner under test (mlops_cli/gitio/run.py)."""

from __future__ import annotations

import subprocess
from pathlib import Path


def run_git(root: Path, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    """Run git in `root`; with `ok`, fail the test unless it succeeds."""
    proc = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)
    if ok:
        assert proc.returncode == 0, proc.stderr
    return proc


def g(root: Path, *args: str, ok: bool = True) -> str:
    """Run git in `root` and return its stripped stdout."""
    return run_git(root, *args, ok=ok).stdout.strip()


def new_repo(root: Path) -> Path:
    """A repository at `root` on branch main with one commit of a.txt."""
    root.mkdir(parents=True)
    g(root, "init", "-q", "-b", "main")
    (root / "a.txt").write_text("a\n")
    g(root, "add", "a.txt")
    g(root, "commit", "-q", "-m", "first")
    return root
