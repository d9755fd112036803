"""`gitio/repo.py` on real git: the enclosing work tree, config and identity, `git init`, and
the first commit, which is refused mid-rebase/merge/cherry-pick/revert/bisect and on a
detached HEAD (`mlops init --here` in such a repository: exit 3, nothing written)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mlops_cli.common.errors import EXIT_INPUT, InputError
from mlops_cli.gitio import repo as gitrepo
from mlops_cli.gitio.state import RepositoryBusy
from tests.conftest import tree_bytes
from tests.gitio.conftest import g
from tests.gitio.test_state import STATES


def _index(root: Path) -> str:
    return g(root, "ls-files", "-s")


@pytest.mark.parametrize("state", STATES, ids=lambda f: f.__name__)
def test_the_commit_is_refused_in_an_unsafe_state(repo: Path, state: Callable[[Path], str]) -> None:
    doing = state(repo)
    (repo / "mlops.yaml").write_text("project: x\n")
    head, index = g(repo, "rev-parse", "HEAD"), _index(repo)
    for only in (True, False):
        with pytest.raises(RepositoryBusy) as err:
            gitrepo.init_and_commit(repo, "Adopt", ["mlops.yaml"], only=only)
        assert doing in err.value.message and err.value.exit_code == EXIT_INPUT
    with pytest.raises(RepositoryBusy):
        gitrepo.init_and_commit(repo, "Adopt")
    assert g(repo, "rev-parse", "HEAD") == head and _index(repo) == index


def test_init_here_mid_rebase_is_refused_and_writes_nothing(
    cli: Any, mlops: Any, repo: Path
) -> None:
    from tests.gitio.test_state import rebase

    rebase(repo)
    before, head = tree_bytes(repo), g(repo, "rev-parse", "HEAD")
    done = cli("-C", str(repo), "init", "--here", "--template", "minimal", "--defaults")
    assert done.exit_code == EXIT_INPUT, done.stderr
    assert "in the middle of a rebase" in done.stderr and done.stderr.count("error") == 1
    assert tree_bytes(repo) == before and g(repo, "rev-parse", "HEAD") == head
    g(repo, "rebase", "--abort")
    # a subprocess: DVC's in-process logging would keep pytest's closed capture stream
    again = mlops("init", "--here", "--template", "minimal", "--defaults", cwd=repo)
    assert again.exit_code == 0, again.stderr


def test_init_and_commit_only_commits_what_it_made(repo: Path) -> None:
    (repo / "theirs.txt").write_text("staged by the user\n")
    g(repo, "add", "theirs.txt")
    (repo / ".gitignore").write_text("/data/\n")
    (repo / "data").mkdir()
    (repo / "data" / ".gitkeep").write_text("")
    (repo / "mlops.yaml").write_text("project: x\n")
    made = ["mlops.yaml", "data/.gitkeep", ".gitignore", "not-there.txt"]
    sha = gitrepo.init_and_commit(repo, "Adopt with mlops", made, only=True)
    assert sha == g(repo, "rev-parse", "HEAD") and g(repo, "log", "-1", "--format=%s") == (
        "Adopt with mlops"
    )
    assert g(repo, "show", "--name-only", "--format=", "HEAD").split() == [
        ".gitignore",
        "mlops.yaml",
    ]  # the ignored data/.gitkeep is not forced in
    assert g(repo, "diff", "--cached", "--name-only") == "theirs.txt"  # still staged, theirs


def test_init_and_commit_a_new_folder(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "a b.txt").write_text("x\n")
    (root / "c.txt").write_text("y\n")
    sha = gitrepo.init_and_commit(root, "Scaffold", ["a b.txt"])
    assert g(root, "rev-parse", "HEAD") == sha
    assert g(root, "ls-files") == "a b.txt"
    second = gitrepo.init_and_commit(root, "All")
    assert g(root, "ls-files").splitlines() == ["a b.txt", "c.txt"] and second != sha


def test_a_failing_commit_is_exit_3_naming_it(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    root.mkdir()
    with pytest.raises(InputError, match=r"^git commit failed: ") as err:
        gitrepo.init_and_commit(root, "nothing", [])
    assert err.value.exit_code == EXIT_INPUT


def test_init_once(tmp_path: Path) -> None:
    root = tmp_path / "new"
    gitrepo.init(root)
    assert (root / ".git").is_dir()
    (root / ".git" / "marker").write_text("")
    gitrepo.init(root)  # already a repository: left alone
    assert (root / ".git" / "marker").exists()


def test_enclosing_worktree(repo: Path, tmp_path: Path) -> None:
    assert gitrepo.enclosing_worktree(repo / "not" / "yet" / "there") == repo.resolve()
    outside = tmp_path / "outside"
    outside.mkdir()
    assert gitrepo.enclosing_worktree(outside) is None


def test_config_identity_and_version(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert gitrepo.version().startswith("git version ")
    assert gitrepo.config_get(repo, "user.name") is None
    gitrepo.require_identity(repo)  # GIT_AUTHOR_NAME/EMAIL are set by the test environment
    monkeypatch.delenv("GIT_AUTHOR_NAME")
    with pytest.raises(InputError, match=r"user\.name is not set") as err:
        gitrepo.require_identity(repo / "new" / "folder")
    assert err.value.exit_code == EXIT_INPUT
    g(repo, "config", "user.name", "Some One")
    g(repo, "config", "user.email", "one@example.com")
    assert gitrepo.config_get(repo / "sub", "user.name") == "Some One"
    gitrepo.require_identity(repo)


def test_no_git_is_exit_3(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    for call in (
        lambda: gitrepo.enclosing_worktree(repo),
        lambda: gitrepo.init(tmp_path / "new"),
        lambda: gitrepo.init_and_commit(repo, "x"),
    ):
        with pytest.raises(InputError, match=r"^git is not installed"):
            call()
