"""`gitio/run.py`, the one git runner: its error mapping (no git, no identity, a failing
command), check=False, stdin and env, and an interrupt that kills and reaps the child."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

from mlops_cli.common.errors import EXIT_INPUT, ExternalToolError, InputError
from mlops_cli.gitio.run import git, out
from tests.gitio.conftest import g


def test_git_not_installed_is_exit_3(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    for check in (True, False):
        with pytest.raises(InputError) as err:
            git(repo, "status", check=check)
        assert err.value.message == "git is not installed"
        assert err.value.exit_code == EXIT_INPUT and err.value.hint
        assert not isinstance(err.value, ExternalToolError)


def test_no_identity_is_exit_3_with_the_fix(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("NAME", "EMAIL"):
        monkeypatch.delenv(f"GIT_AUTHOR_{key}")
        monkeypatch.delenv(f"GIT_COMMITTER_{key}")
    g(repo, "config", "user.useConfigOnly", "true")
    (repo / "a.txt").write_text("changed\n")
    with pytest.raises(InputError) as err:
        git(repo, "commit", "-q", "-am", "no one")
    assert err.value.message == "git has no identity to write the commit or tag with"
    assert err.value.exit_code == EXIT_INPUT and "git config --global user.name" in (
        err.value.hint or ""
    )
    with pytest.raises(InputError, match="no identity"):
        git(repo, "var", "GIT_COMMITTER_IDENT")
    assert g(repo, "rev-list", "--count", "HEAD") == "1"


def test_a_failing_command_names_itself(repo: Path) -> None:
    with pytest.raises(ExternalToolError) as err:
        git(repo, "rev-parse", "--verify", "no-such-ref")
    assert err.value.message.startswith("git rev-parse failed: fatal:")
    assert "\n" not in err.value.message and err.value.exit_code == EXIT_INPUT


def test_a_long_stderr_keeps_its_end(repo: Path) -> None:
    name = "x" * 2000
    with pytest.raises(ExternalToolError) as err:
        git(repo, "cat-file", "-t", f"{name}-end")
    assert len(err.value.message) < 500 and "-end" in err.value.message


def test_check_false_returns_the_failed_process(repo: Path) -> None:
    proc = git(repo, "rev-parse", "--verify", "-q", "no-such-ref", check=False)
    assert proc.returncode != 0 and proc.stdout == b""
    assert proc.args[:3] == ["git", "-C", str(repo)]


def test_stdin_env_and_bytes(repo: Path, tmp_path: Path) -> None:
    content = b"two\nlines\0and a nul\n"
    sha = git(repo, "hash-object", "-w", "--stdin", input=content).stdout.decode().strip()
    assert git(repo, "cat-file", "blob", sha).stdout == content
    index = tmp_path / "other-index"
    git(repo, "read-tree", "HEAD", env={"GIT_INDEX_FILE": str(index)})
    assert index.is_file()
    assert out(repo, "ls-files") == "a.txt"  # the real index is untouched


def test_no_input_means_an_empty_stdin(repo: Path) -> None:
    """A command that reads stdin gets EOF, not the terminal or pytest's stdin."""
    assert git(repo, "hash-object", "--stdin").stdout.strip() == (
        git(repo, "hash-object", "--stdin", input=b"").stdout.strip()
    )


def test_without_root(tmp_path: Path) -> None:
    assert out(None, "--version").startswith("git version ")
    git(None, "init", "-q", str(tmp_path / "new"))
    assert (tmp_path / "new" / ".git").is_dir()


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_an_interrupt_kills_and_reaps_the_child(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C while git runs: the child is killed and waited for (not left running, and not
    left a zombie) before KeyboardInterrupt goes on."""
    pid_file = tmp_path / "pid"
    fake = tmp_path / "bin" / "git"
    fake.parent.mkdir()
    fake.write_text(
        f'#!/bin/sh\necho $$ > "{pid_file}.tmp"\nmv "{pid_file}.tmp" "{pid_file}"\nexec sleep 600\n'
    )
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")

    def interrupt_when_started() -> None:
        while not pid_file.exists():
            time.sleep(0.01)
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=interrupt_when_started, daemon=True).start()
    with pytest.raises(KeyboardInterrupt):
        git(repo, "status")
    pid = int(pid_file.read_text())
    with pytest.raises(ProcessLookupError):  # a zombie would still accept signal 0
        os.kill(pid, 0)
