"""registry/register.py on real git + DVC repositories with a really trained model: the
committed record and its tag, the lineage it holds, what is refused, push."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from mlops_cli.common.errors import InputError, UsageError
from mlops_cli.project.root import open_project
from mlops_cli.registry.lineage import digests
from mlops_cli.registry.register import register
from mlops_cli.registry.stages import deprecate
from tests.modelproject import (
    NAME,
    commit_all,
    copy_of,
    edit_config,
    git,
    run,
    state_of,
    tags,
    trained,
)


def lock_entry(project: Path, stage: str, path: str, kind: str = "outs") -> str:
    lock = yaml.safe_load((project / "dvc.lock").read_text())
    return next(e["md5"] for e in lock["stages"][stage][kind] if e["path"] == path)


# -- register -------------------------------------------------------------------------


def test_register_commits_only_the_record_and_tags_it(project: Path) -> None:
    before = git(project, "rev-parse", "HEAD")
    # The user's own work in progress must survive untouched: staged and unstaged.
    (project / "notes.txt").write_text("staged\n")
    git(project, "add", "notes.txt")
    (project / "README.md").write_text("edited, not staged\n")
    done = register(open_project(project), NAME, bump="minor", message="first model")

    assert done.tag == "churn@v0.1.0"
    assert git(project, "rev-parse", "HEAD~1") == before
    changed = git(project, "show", "--name-only", "--format=", "HEAD").split()
    assert changed == [".mlops/models/churn/v0.1.0.yaml"]
    assert git(project, "rev-parse", "churn@v0.1.0^{commit}") == done.commit
    assert git(project, "cat-file", "-t", "churn@v0.1.0") == "tag"  # annotated
    message = git(project, "tag", "-l", "--format=%(contents)", "churn@v0.1.0")
    assert message.startswith("first model\n")
    status = run(["git", "status", "--porcelain"], project).splitlines()
    assert sorted(status) == [" M README.md", "A  notes.txt"]
    assert git(project, "log", "-1", "--format=%s") == "mlops: register churn@v0.1.0"


def test_record_holds_the_lineage(project: Path) -> None:
    source = git(project, "rev-parse", "HEAD")
    done = register(open_project(project), NAME)
    on_disk = yaml.safe_load((project / done.record_path).read_text())
    assert on_disk == done.record.to_dict()
    rec = done.record
    assert rec.version == "v0.0.1"  # GTO's first version
    assert rec.git == {"commit": source, "tag": "churn@v0.0.1"}
    model = project / "models/model.skops"
    assert rec.artifact == {
        "path": "models/model.skops",
        "format": "skops",
        "sha256": digests(model).sha256,
        "bytes": model.stat().st_size,
        "dvc_md5": lock_entry(project, "train", "models/model.skops"),
        "trusted_types": [],  # the list it is registered with (a later baseline load)
    }
    train = rec.data["train"]
    assert train["md5"] == lock_entry(project, "train", "data/prepared/train.csv", "deps")
    assert train["rows"] == len((project / "data/prepared/train.csv").read_text().splitlines()) - 1
    assert train["schema"] == "schemas/train.yaml" and train["role"] == "train"
    assert (
        rec.data["raw"]["md5"]
        == yaml.safe_load((project / "data/raw/data.csv.dvc").read_text())["outs"][0]["md5"]
    )
    assert rec.data["holdout"]["role"] == "test"
    assert rec.params == {"train": {"C": 1.0, "max_iter": 1000, "cv_folds": 5, "seed": 42}}
    assert rec.metrics == json.loads((project / "metrics/train.json").read_text())
    env = json.loads((project / "models/environment.json").read_text())
    assert rec.environment == {**env, "source": "models/environment.json"}
    assert rec.tests is None and rec.images == []


def test_environment_falls_back_to_the_current_one_with_a_warning(project: Path) -> None:
    edit_config(project, "    environment: models/environment.json\n", "")
    git(project, "rm", "-q", "models/environment.json")
    commit_all(project, "no environment file")
    done = register(open_project(project), NAME)
    assert done.record.environment["source"] == "current"
    assert "scikit-learn" in done.record.environment["packages"]
    assert any("not found" in w and "current environment" in w for w in done.warnings)


@pytest.mark.parametrize(
    ("path", "change"),
    [
        ("models/model.skops", b"tampered"),
        ("data/prepared/train.csv", b"1,2,3\n"),
        ("data/raw/data.csv", b"1,2,3\n"),
        ("src/train.py", b"# changed after training\n"),
        ("dvc.lock", b"# edited\n"),
        ("metrics/train.json", b"\n"),
    ],
)
def test_register_refuses_what_differs_from_the_commit(
    project: Path, path: str, change: bytes
) -> None:
    target = project / path
    target.write_bytes(target.read_bytes() + change)
    before = state_of(project)
    with pytest.raises(InputError) as err:
        register(open_project(project), NAME)
    assert err.value.exit_code == 3
    assert path in err.value.message
    assert state_of(project) == before  # no commit, no tag, no record


def test_register_refuses_a_stale_pipeline(project: Path) -> None:
    # Re-run only `prepare` with another split: train.csv changes, the model does not.
    params = project / "params.yaml"
    params.write_text(params.read_text().replace("test_size: 0.25", "test_size: 0.3"))
    subprocess.run(["dvc", "repro", "-q", "prepare"], cwd=project, check=True)
    commit_all(project, "new split, model not retrained")
    with pytest.raises(InputError) as err:
        register(open_project(project), NAME)
    assert "data/prepared/train.csv" in err.value.message
    assert any("stale" in p for p in err.value.problems)  # type: ignore[attr-defined]


def test_register_refuses_an_unversioned_or_missing_model(project: Path) -> None:
    (project / "models/model.skops").unlink()
    with pytest.raises(InputError, match="no such file"):
        register(open_project(project), NAME)


def test_existing_and_malformed_versions(project: Path) -> None:
    p = open_project(project)
    register(p, NAME, version="1.0.0")
    deprecate(p, "churn@v1.0.0")  # frees the artifact, not the version number
    with pytest.raises(InputError, match=r"churn@v1\.0\.0 exists already") as err:
        register(p, NAME, version="v1.0.0")
    assert err.value.exit_code == 3
    with pytest.raises(UsageError):
        register(p, NAME, version="1.0")
    with pytest.raises(UsageError):
        register(p, NAME, version="2.0.0", bump="minor")


def test_the_same_artifact_is_not_registered_twice(project: Path) -> None:
    p = open_project(project)
    register(p, NAME)
    before = state_of(project)
    with pytest.raises(InputError, match=r"churn@v0.0.1 registers this very artifact"):
        register(p, NAME, bump="minor")
    assert state_of(project) == before


def test_bumps_follow_the_highest_version_ever_tagged(project: Path) -> None:
    p = open_project(project)
    seen = []
    for bump in ("patch", "minor", "patch", "major"):
        done = register(p, NAME, bump=bump)  # type: ignore[arg-type]
        seen.append(done.tag)
        deprecate(p, done.tag)  # so the same artifact may be registered again
    assert seen == ["churn@v0.0.1", "churn@v0.1.0", "churn@v0.1.1", "churn@v1.0.0"]
    assert "churn@v0.0.1!" in tags(project)


def test_register_push_sends_commit_and_tag(project: Path, tmp_path: Path) -> None:
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    git(project, "remote", "add", "origin", str(remote))
    git(project, "push", "-q", "origin", "main")
    done = register(open_project(project), NAME, push=True)
    assert done.pushed_to == "origin"
    remote_tags = git(remote, "tag", "--list").split()
    assert remote_tags == ["churn@v0.0.1"]
    assert git(remote, "rev-parse", "main") == done.commit


def test_a_moved_branch_leaves_neither_commit_nor_tag(project: Path) -> None:
    """The ref transaction itself, without the lock: HEAD moved since it was read."""
    from mlops_cli.gitio import refs as gitrefs

    stale = git(project, "rev-parse", "HEAD")
    (project / "other.txt").write_text("someone else's commit\n")
    moved = commit_all(project, "meanwhile")
    rel = ".mlops/models/churn/v0.0.1.yaml"
    with pytest.raises(gitrefs.ConflictWithGit):
        gitrefs.commit_file(
            project,
            rel,
            b"model: churn\n",
            "mlops: register churn@v0.0.1",
            expect_head=stale,
            tags=[gitrefs.NewTag("churn@v0.0.1", "Registering artifact churn version v0.0.1")],
        )
    assert git(project, "rev-parse", "HEAD") == moved
    assert tags(project) == []
    assert not (project / rel).exists()
    assert git(project, "status", "--porcelain") == ""


def test_register_right_after_dvc_repro_names_the_uncommitted_lock(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    project = copy_of(trained(tmp_path_factory), tmp_path)
    git(project, "rm", "-q", "--cached", "dvc.lock")  # still on disk, no longer in git
    git(project, "commit", "-q", "-m", "as if dvc.lock had never been committed")
    with pytest.raises(InputError, match=r"differ from what is committed: dvc\.lock") as err:
        register(open_project(project), NAME)
    assert "dvc.lock: not committed" in err.value.problems[1]  # type: ignore[attr-defined]
