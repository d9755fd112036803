"""`gitio/refs.py` on real git: HEAD, tags, committed files, what differs from HEAD, remotes,
and the one-file commit with its tag (the registry's plumbing)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_cli.common.errors import EXIT_INPUT, InputError
from mlops_cli.gitio import refs as gitrefs
from tests.gitio.conftest import g


def test_head_and_head_or_none(repo: Path, tmp_path: Path) -> None:
    assert gitrefs.head(repo) == gitrefs.head_or_none(repo) == g(repo, "rev-parse", "HEAD")
    empty = tmp_path / "empty"
    empty.mkdir()
    g(empty, "init", "-q")
    assert gitrefs.head_or_none(empty) is None
    with pytest.raises(InputError, match="no commit yet"):
        gitrefs.head(empty)
    outside = tmp_path / "outside"
    outside.mkdir()
    assert gitrefs.head_or_none(outside) is None


def test_dirty_paths_says_what_differs(repo: Path) -> None:
    for name in ("mod.txt", "gone.txt", "staged.txt", "old.txt"):
        (repo / name).write_text(name)
    g(repo, "add", "-A")
    g(repo, "commit", "-q", "-m", "more")
    (repo / "mod.txt").write_text("changed")
    (repo / "gone.txt").unlink()
    (repo / "staged.txt").write_text("changed")
    g(repo, "add", "staged.txt")
    g(repo, "mv", "old.txt", "new name.txt")
    (repo / "untracked.txt").write_text("x")
    assert gitrefs.dirty_paths(repo, ["."]) == {
        "mod.txt": "modified, not committed",
        "gone.txt": "deleted, not committed",
        "staged.txt": "modified, not committed",
        "new name.txt": "modified, not committed",
        "untracked.txt": "not committed (untracked)",
    }
    assert gitrefs.dirty_paths(repo, ["a.txt"]) == {}
    assert gitrefs.dirty_paths(repo, []) == {}


def test_committed_files(repo: Path) -> None:
    (repo / "models" / "m").mkdir(parents=True)
    (repo / "models" / "m" / "v 1.yaml").write_text("version: 1\n")
    g(repo, "add", "-A")
    g(repo, "commit", "-q", "-m", "record")
    assert gitrefs.read_blob(repo, "HEAD", "models/m/v 1.yaml") == b"version: 1\n"
    assert gitrefs.read_blob(repo, "HEAD~1", "models/m/v 1.yaml") is None
    assert gitrefs.read_blob(repo, "no-such-rev", "a.txt") is None
    assert gitrefs.ls_tree(repo, "HEAD", "models") == ["models/m/v 1.yaml"]
    assert gitrefs.ls_tree(repo, "no-such-rev", "models") == []
    assert gitrefs.is_tracked(repo, "a.txt") and not gitrefs.is_tracked(repo, "b.txt")


def test_list_tags_annotated_and_lightweight(repo: Path) -> None:
    head = g(repo, "rev-parse", "HEAD")
    g(repo, "tag", "-a", "churn@v0.0.1", "-m", "Registering\n\nwith a body")
    g(repo, "tag", "light")
    tags = {t.name: t for t in gitrefs.list_tags(repo)}
    assert set(tags) == {"churn@v0.0.1", "light"}
    ann, light = tags["churn@v0.0.1"], tags["light"]
    assert ann.annotated and ann.target == head and ann.time > 0
    assert ann.message == "Registering\n\nwith a body" and "author@example.com" in ann.tagger
    assert not light.annotated and light.target == head and light.time == 0


def test_commit_file_with_a_tag_leaves_the_rest_alone(repo: Path) -> None:
    (repo / "theirs.txt").write_text("staged\n")
    g(repo, "add", "theirs.txt")
    head = gitrefs.head(repo)
    commit = gitrefs.commit_file(
        repo,
        "rec/m.yaml",
        b"m: 1\n",
        "mlops: register m\n\nbody",
        expect_head=head,
        tags=[gitrefs.NewTag("m@v1", "Registering m v1")],
    )
    assert g(repo, "rev-parse", "HEAD") == commit and g(repo, "rev-parse", "m@v1^{}") == commit
    assert g(repo, "show", "--name-only", "--format=", "HEAD") == "rec/m.yaml"
    assert (repo / "rec" / "m.yaml").read_bytes() == b"m: 1\n"
    assert sorted(g(repo, "diff", "--cached", "--name-only").split()) == ["theirs.txt"]
    with pytest.raises(gitrefs.ConflictWithGit):  # HEAD moved since `head` was read
        gitrefs.commit_file(repo, "rec/m.yaml", b"m: 2\n", "again", expect_head=head)
    assert (repo / "rec" / "m.yaml").read_bytes() == b"m: 1\n"


def test_commit_file_without_identity_is_exit_3(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in ("NAME", "EMAIL"):
        monkeypatch.delenv(f"GIT_AUTHOR_{key}")
        monkeypatch.delenv(f"GIT_COMMITTER_{key}")
    g(repo, "config", "user.useConfigOnly", "true")
    head = gitrefs.head(repo)
    with pytest.raises(InputError, match="no identity") as err:
        gitrefs.commit_file(repo, "rec.yaml", b"x\n", "m", expect_head=head)
    assert err.value.exit_code == EXIT_INPUT
    assert gitrefs.head(repo) == head and not (repo / "rec.yaml").exists()


def test_create_tags_all_or_none(repo: Path) -> None:
    head = gitrefs.head(repo)
    g(repo, "tag", "taken")
    with pytest.raises(gitrefs.ConflictWithGit):
        gitrefs.create_tags(
            repo, [gitrefs.NewTag("new", "n", head), gitrefs.NewTag("taken", "t", head)], "r"
        )
    assert g(repo, "tag").split() == ["taken"]
    gitrefs.create_tags(repo, [gitrefs.NewTag("new", "n", head)], "r")
    assert g(repo, "tag").split() == ["new", "taken"]


def test_remotes_urls_tags_and_push(repo: Path, tmp_path: Path) -> None:
    assert gitrefs.remotes(repo) == [] and gitrefs.remote_url(repo, "origin") is None
    with pytest.raises(InputError, match="no remote 'origin'"):
        gitrefs.push(repo, ["HEAD"])
    bare = tmp_path / "bare.git"
    g(tmp_path, "init", "-q", "--bare", str(bare))
    g(repo, "remote", "add", "origin", str(bare))
    g(repo, "remote", "add", "other", str(tmp_path / "nowhere"))
    assert gitrefs.remotes(repo) == ["origin", "other"]
    assert gitrefs.remote_url(repo, "origin") == str(bare)
    assert gitrefs.remote_tags(repo, "origin") == set()
    assert gitrefs.remote_tags(repo, "other") is None  # cannot be asked
    g(repo, "tag", "-a", "m@v1", "-m", "m")
    g(repo, "tag", "light")
    assert gitrefs.push(repo, ["HEAD:refs/heads/main", "refs/tags/m@v1", "refs/tags/light"]) == (
        "origin"
    )
    assert gitrefs.remote_tags(repo, "origin") == {"m@v1", "light"}
    g(repo, "remote", "set-url", "origin", str(tmp_path / "gone.git"))
    with pytest.raises(InputError, match="git push to origin failed") as err:
        gitrefs.push(repo, ["HEAD"])
    assert "git push origin HEAD" in (err.value.hint or "")
