"""`gitio/data.py` on real git: staging, each path's state, ignore rules and the index, the
commits a push sends, and the files of a tree, of a range of commits and of the work tree."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_cli.common.errors import InputError
from mlops_cli.gitio import data as datagit
from tests.gitio.conftest import g


def test_stage_status_and_is_clean(repo: Path) -> None:
    for name in ("data/a b.csv.dvc", "staged.dvc", "new.dvc"):
        (repo / name).parent.mkdir(exist_ok=True)
        (repo / name).write_text(name)
    g(repo, "add", "staged.dvc")
    g(repo, "commit", "-q", "-m", "x")
    (repo / "staged.dvc").write_text("changed")
    datagit.stage(repo, ["staged.dvc", "data/a b.csv.dvc"])
    datagit.stage(repo, [])
    (repo / "a.txt").write_text("unstaged")
    paths = ["a.txt", "staged.dvc", "data/a b.csv.dvc", "new.dvc", "absent.dvc"]
    assert datagit.status(repo, paths) == {
        "a.txt": "modified",
        "staged.dvc": "staged",
        "data/a b.csv.dvc": "staged",
        "new.dvc": "untracked",
        "absent.dvc": "committed",
    }
    assert datagit.status(repo, []) == {}
    assert not datagit.is_clean(repo, "a.txt") and datagit.is_clean(repo, "absent.dvc")
    g(repo, "commit", "-qam", "all")
    assert datagit.is_clean(repo, "staged.dvc")


def test_resolve_and_commit_ranges(repo: Path) -> None:
    first = g(repo, "rev-parse", "HEAD")
    (repo / "b.txt").write_text("b")
    g(repo, "add", "b.txt")
    g(repo, "commit", "-q", "-m", "second")
    second = g(repo, "rev-parse", "HEAD")
    assert datagit.resolve(repo, "HEAD") == second and datagit.resolve(repo, "0" * 40) is None
    with pytest.raises(InputError, match="is not a commit"):
        datagit.resolve(repo, "no-such-branch")
    assert datagit.commits_in_range(repo, first, second) == [second]
    assert datagit.commits_in_range(repo, None, second) == [second, first]  # no remote yet
    assert datagit.unpushed_commits(repo, second) == [second, first]
    g(repo, "update-ref", "refs/remotes/origin/main", first)
    assert datagit.commits_in_range(repo, None, second) == [second]
    assert datagit.unpushed_commits(repo, second) == [second]


def test_tree_and_changed_blobs(repo: Path) -> None:
    first = g(repo, "rev-parse", "HEAD")
    (repo / "d").mkdir()
    (repo / "d" / "x y.dvc").write_text("x")
    (repo / "dvc.lock").write_text("l")
    g(repo, "add", "-A")
    g(repo, "rm", "-q", "a.txt")
    g(repo, "commit", "-q", "-m", "dvc files")
    second = g(repo, "rev-parse", "HEAD")
    sha = {p: g(repo, "rev-parse", f"HEAD:{p}") for p in ("d/x y.dvc", "dvc.lock")}
    assert datagit.tree_blobs(repo, second) == sha
    assert datagit.tree_blobs(repo, first) == {"a.txt": g(repo, "rev-parse", f"{first}:a.txt")}
    assert datagit.tree_blobs(repo, second, keep=lambda p: p.endswith(".dvc")) == {
        "d/x y.dvc": sha["d/x y.dvc"]
    }
    changed = datagit.changed_blobs(repo, [second, first])
    assert changed == {second: sha, first: {"a.txt": g(repo, "rev-parse", f"{first}:a.txt")}}
    # the deletion of a.txt is not a change with content
    assert datagit.changed_blobs(repo, [second], keep=lambda p: p == "dvc.lock") == {
        second: {"dvc.lock": sha["dvc.lock"]}
    }
    assert datagit.changed_blobs(repo, []) == {}


def test_worktree_files(repo: Path) -> None:
    (repo / ".gitignore").write_text("ignored.dvc\n")
    for name in ("tracked.dvc", "untracked.dvc", "ignored.dvc", "sub/dvc.lock", "other.txt"):
        (repo / name).parent.mkdir(exist_ok=True)
        (repo / name).write_text(name)
    g(repo, "add", "tracked.dvc")
    assert datagit.worktree_files(repo, ["*.dvc", "*dvc.lock"]) == [
        "sub/dvc.lock",
        "tracked.dvc",
        "untracked.dvc",
    ]


def test_ignore_rule_and_in_index(repo: Path) -> None:
    (repo / ".gitignore").write_text("/data/\n!/data/*.dvc\n*.tmp\n")
    assert datagit.ignore_rule(repo, "data/x.csv") == ".gitignore:1:/data/"
    assert datagit.ignore_rule(repo, "data/x.csv.dvc") == ".gitignore:1:/data/"  # dir rule wins
    assert datagit.ignore_rule(repo, "a.txt.tmp") == ".gitignore:3:*.tmp"
    assert datagit.ignore_rule(repo, "a.txt") is None
    assert datagit.in_index(repo, "a.txt") and not datagit.in_index(repo, "b.txt")
    (repo / "b.txt").write_text("b")
    g(repo, "add", "b.txt")
    assert datagit.in_index(repo, "b.txt")


def test_is_dvc_file() -> None:
    assert datagit.is_dvc_file("a/b.csv.dvc") and datagit.is_dvc_file("sub/dvc.lock")
    assert not datagit.is_dvc_file(".dvc") and not datagit.is_dvc_file("dvc.yaml")
