"""A Ctrl-C or SIGTERM that lands between moving HEAD and updating the user's index (seen in
CI: `image push` interrupted there left the record `MM` for good) is held until both are
done: the commit is whole and `git status` is clean, and the signal still acts after."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from mlops_cli.gitio import refs


def _g(root: Path, *args: str) -> str:
    proc = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    _g(tmp_path, "init", "-q", "-b", "main")
    _g(tmp_path, "config", "user.email", "t@example.com")
    _g(tmp_path, "config", "user.name", "t")
    (tmp_path / "record.yaml").write_text("version: 1\n")
    _g(tmp_path, "add", "record.yaml")
    _g(tmp_path, "commit", "-q", "-m", "first")
    return tmp_path


@pytest.mark.parametrize("after", ["_transaction", "atomic_write_bytes"])
def test_ctrl_c_right_after_a_step_of_commit_file(
    repo: Path, monkeypatch: pytest.MonkeyPatch, after: str
) -> None:
    """The signal arrives the instant a step returns, in the span that must not split."""
    real = getattr(refs, after)
    fired = []

    def step_then_signal(*args: object, **kwargs: object) -> object:
        result = real(*args, **kwargs)
        if not fired:
            fired.append(after)
            os.kill(os.getpid(), signal.SIGINT)
        return result

    monkeypatch.setattr(refs, after, step_then_signal)
    head = _g(repo, "rev-parse", "HEAD").strip()
    with pytest.raises(KeyboardInterrupt):
        refs.commit_file(repo, "record.yaml", b"version: 2\n", "record v2", expect_head=head)
    assert fired
    assert _g(repo, "status", "--porcelain") == ""
    assert _g(repo, "show", "HEAD:record.yaml") == "version: 2\n"
    assert (repo / "record.yaml").read_text() == "version: 2\n"


def test_a_failed_transaction_still_restores_everything(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """HEAD moved meanwhile (another process committed): nothing of ours is left."""
    old = _g(repo, "rev-parse", "HEAD").strip()
    (repo / "other.txt").write_text("x\n")
    _g(repo, "add", "other.txt")
    _g(repo, "commit", "-q", "-m", "someone else")
    head = _g(repo, "rev-parse", "HEAD").strip()
    with pytest.raises(refs.ConflictWithGit):
        refs.commit_file(repo, "record.yaml", b"version: 2\n", "v2", expect_head=old)
    assert _g(repo, "rev-parse", "HEAD").strip() == head
    assert _g(repo, "status", "--porcelain") == ""
    assert (repo / "record.yaml").read_text() == "version: 1\n"
