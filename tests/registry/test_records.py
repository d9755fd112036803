"""registry/records.py on real git + DVC repositories with a really trained model: resolving
versions and stages to artifacts, records read from git, images recorded."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mlops_cli.common.errors import InputError
from mlops_cli.project.root import open_project
from mlops_cli.registry import records as registry
from mlops_cli.registry.lineage import digests
from mlops_cli.registry.register import register
from tests.modelproject import (
    NAME,
    commit_all,
    git,
)

# -- resolve, records, images ---------------------------------------------------------


def test_resolve_the_workspace_versions_and_stages(project: Path) -> None:
    p = open_project(project)
    ws = registry.resolve(p, NAME)
    assert (ws.version, ws.record, ws.artifact) == (None, None, project / "models/model.skops")
    register(p, NAME)
    latest = registry.resolve(p, NAME)
    assert latest.version == "v0.0.1" and latest.record is not None
    assert registry.resolve(p, "churn@0.0.1").version == "v0.0.1"
    assert registry.resolve(p, "churn@workspace").version is None
    with pytest.raises(InputError, match="no version of churn is in stage 'prod'"):
        registry.resolve(p, "churn#prod")
    with pytest.raises(InputError, match=r"churn@v9.9.9 is not registered"):
        registry.resolve(p, "churn@v9.9.9")
    with pytest.raises(InputError, match="no model 'nope'"):
        registry.resolve(p, "nope")


def test_resolve_finds_the_artifact_in_the_dvc_cache(project: Path) -> None:
    p = open_project(project)
    done = register(p, NAME)
    (project / "models/model.skops").write_bytes(b"another model")
    resolved = registry.resolve(p, NAME)
    assert ".dvc/cache" in str(resolved.artifact)
    assert digests(resolved.artifact).sha256 == done.record.artifact["sha256"]
    shutil.rmtree(project / ".dvc/cache")
    with pytest.raises(InputError, match="neither in the work tree nor in the DVC cache") as err:
        registry.resolve(p, NAME)
    assert "dvc fetch" in (err.value.hint or "")


def test_records_are_read_from_git_not_the_work_tree(project: Path) -> None:
    p = open_project(project)
    done = register(p, NAME)
    path = project / done.record_path
    path.write_text(path.read_text().replace("tests: null", "tests: {passed: true}"))
    assert registry.load_record(p, NAME, "v0.0.1").tests is None
    with pytest.raises(InputError, match="has changes that are not committed"):
        registry.add_image(p, NAME, "v0.0.1", {"ref": "x:1"})
    # A branch without the record still finds it at the version's tag.
    git(project, "checkout", "-q", "--", done.record_path)
    git(project, "rm", "-q", done.record_path)
    commit_all(project, "drop the record")
    assert registry.load_record(p, NAME, "v0.0.1").version == "v0.0.1"


def test_add_image_replaces_by_ref_and_commits_only_the_record(project: Path) -> None:
    p = open_project(project)
    register(p, NAME)
    registry.add_image(
        p, NAME, "v0.0.1", {"ref": "r/churn:v0.0.1", "digest": None, "pushed": False}
    )
    rec = registry.add_image(
        p, NAME, "v0.0.1", {"ref": "r/churn:v0.0.1", "digest": "sha256:ab", "pushed": True}
    )
    assert rec.images == [{"ref": "r/churn:v0.0.1", "digest": "sha256:ab", "pushed": True}]
    assert registry.load_record(p, NAME, "v0.0.1").images == rec.images
    assert (
        git(project, "show", "--name-only", "--format=", "HEAD")
        == ".mlops/models/churn/v0.0.1.yaml"
    )
    assert git(project, "status", "--porcelain") == ""


def test_re_recording_the_same_images_commits_nothing_and_keeps_the_order(project: Path) -> None:
    """Issue 10, item 7: a re-push of an unchanged image made two commits that only
    reordered `images:`. The list is sorted by ref, written in one commit per push, and a
    push that changes nothing changes nothing."""
    p = open_project(project)
    register(p, NAME)
    tagged = {"ref": "r/churn:v0.0.1", "digest": "sha256:aa", "pushed": True}
    by_commit = {"ref": "r/churn:3f2c1d0", "digest": "sha256:aa", "pushed": True}
    before = git(project, "rev-parse", "HEAD")
    rec = registry.add_images(p, NAME, "v0.0.1", [tagged, by_commit])
    assert rec.images == [by_commit, tagged]  # sorted by ref, whatever the push order
    first = git(project, "rev-parse", "HEAD")
    assert git(project, "rev-list", "--count", f"{before}..{first}") == "1"
    text = (project / ".mlops/models/churn/v0.0.1.yaml").read_bytes()
    for again in ([tagged, by_commit], [by_commit, tagged], [tagged]):
        assert registry.add_images(p, NAME, "v0.0.1", again).images == [by_commit, tagged]
        assert git(project, "rev-parse", "HEAD") == first
    assert (project / ".mlops/models/churn/v0.0.1.yaml").read_bytes() == text
    # A new digest for one ref is a change: one commit, the order still by ref.
    moved = {**tagged, "digest": "sha256:bb"}
    assert registry.add_image(p, NAME, "v0.0.1", moved).images == [by_commit, moved]
    assert git(project, "rev-list", "--count", f"{first}..HEAD") == "1"
    assert git(project, "status", "--porcelain") == ""
