"""Committing commands refuse mid-rebase/merge/cherry-pick/revert/bisect and on a detached
HEAD (exit 3, nothing committed or tagged), with real git in real conflicting states."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mlops_cli.common.errors import EXIT_INPUT
from mlops_cli.gitio.state import RepositoryBusy, refuse_unsafe_state
from tests.gitrepo import run_git
from tests.modelproject import NAME, copy_of, git, trained


def _diverge(root: Path) -> None:
    """Branch `side` and the current branch both change conflict.txt differently."""
    main = run_git(root, "symbolic-ref", "--short", "HEAD").stdout.strip()
    (root / "conflict.txt").write_text("base\n")
    run_git(root, "add", "conflict.txt")
    run_git(root, "commit", "-q", "-m", "base")
    run_git(root, "switch", "-q", "-c", "side")
    (root / "conflict.txt").write_text("side\n")
    run_git(root, "commit", "-q", "-am", "side")
    run_git(root, "switch", "-q", main)
    (root / "conflict.txt").write_text("main\n")
    run_git(root, "commit", "-q", "-am", "main")


def _stopped_by_a_conflict(command: str) -> Callable[[Path], str]:
    """A repository where `git COMMAND side` stopped on a conflict; the state says "a
    COMMAND", as the refusal names it."""

    def state(root: Path) -> str:
        _diverge(root)
        assert run_git(root, command, "side", ok=False).returncode != 0
        return f"a {command}"

    state.__name__ = command.replace("-", "_")
    return state


rebase = _stopped_by_a_conflict("rebase")
merge = _stopped_by_a_conflict("merge")
cherry_pick = _stopped_by_a_conflict("cherry-pick")


def revert(root: Path) -> str:
    _diverge(root)
    (root / "conflict.txt").write_text("main again\n")
    run_git(root, "commit", "-q", "-am", "later")
    assert run_git(root, "revert", "--no-edit", "HEAD~1", ok=False).returncode != 0
    return "a revert"


def bisect(root: Path) -> str:
    run_git(root, "bisect", "start")
    return "a bisect"


def detached(root: Path) -> str:
    run_git(root, "switch", "-q", "--detach", "HEAD")
    return "HEAD is detached"


STATES: list[Callable[[Path], str]] = [rebase, merge, cherry_pick, revert, bisect, detached]


def test_a_clean_branch_is_allowed(repo: Path) -> None:
    refuse_unsafe_state(repo, "commit")


@pytest.mark.parametrize("state", STATES, ids=lambda f: f.__name__)
def test_each_state_is_refused(repo: Path, state: Callable[[Path], str]) -> None:
    doing = state(repo)
    with pytest.raises(RepositoryBusy) as err:
        refuse_unsafe_state(repo, "commit the record")
    assert doing in err.value.message and "commit the record" in err.value.message
    assert err.value.exit_code == EXIT_INPUT and err.value.hint


def test_a_linked_worktree_is_checked_where_git_keeps_its_state(repo: Path) -> None:
    run_git(repo, "switch", "-q", "-c", "other")
    run_git(repo, "switch", "-q", "main")
    linked = repo.parent / "linked"
    run_git(repo, "worktree", "add", "-q", str(linked), "other")
    refuse_unsafe_state(linked, "commit")
    (linked / "a.txt").write_text("linked\n")
    run_git(linked, "commit", "-q", "-am", "linked")
    (repo / "a.txt").write_text("main\n")
    run_git(repo, "commit", "-q", "-am", "main")
    assert run_git(linked, "rebase", "main", ok=False).returncode != 0
    with pytest.raises(RepositoryBusy, match="a rebase"):
        refuse_unsafe_state(linked, "commit")
    refuse_unsafe_state(repo, "commit")  # the main worktree is not rebasing


def _refs(project: Path) -> str:
    return git(project, "for-each-ref", "--format=%(refname) %(objectname)")


@pytest.fixture
def project(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Path:
    return copy_of(trained(tmp_path_factory), tmp_path)


def _head(project: Path) -> str:
    return git(project, "rev-parse", "HEAD")


@pytest.mark.parametrize("state", [rebase, merge, cherry_pick, detached], ids=lambda f: f.__name__)
def test_register_is_refused_and_writes_nothing(
    cli: Any, project: Path, state: Callable[[Path], str]
) -> None:
    doing = state(project)
    before, head = _refs(project), _head(project)
    done = cli("-C", str(project), "model", "register", NAME)
    assert done.exit_code == EXIT_INPUT, done.stderr
    assert doing in done.stderr and "mlops will not commit a version record" in done.stderr
    assert done.stderr.startswith("error: ") and done.stderr.count("error") == 1
    assert _refs(project) == before and _head(project) == head
    assert not (project / ".mlops" / "models" / NAME).exists()


def test_test_record_promote_and_deprecate_are_refused(cli: Any, project: Path) -> None:
    m: Callable[..., Any] = lambda *a: cli("-C", str(project), *a)  # noqa: E731
    assert m("model", "register", NAME).exit_code == 0
    rebase(project)
    before, head = _refs(project), _head(project)
    for args in (
        ("test", f"{NAME}@v0.0.1", "--record"),
        ("model", "promote", NAME, "v0.0.1", "prod", "--force", "--reason", "x"),
        ("model", "deprecate", f"{NAME}@v0.0.1"),
    ):
        done = m(*args)
        assert done.exit_code == EXIT_INPUT, (args, done.stderr)
        assert "in the middle of a rebase" in done.stderr, (args, done.stderr)
    assert _refs(project) == before and _head(project) == head
    # after the abort, everything works and nothing was lost
    run_git(project, "rebase", "--abort")
    tested = m("test", f"{NAME}@v0.0.1", "--record")
    assert tested.exit_code == 0, tested.stderr
    assert m("model", "promote", NAME, "v0.0.1", "prod").exit_code == 0
