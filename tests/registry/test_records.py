"""The registry on real git + DVC repositories with a really trained model."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from mlops_cli.common.errors import CheckFailed, InputError, UsageError
from mlops_cli.project.root import Project, open_project
from mlops_cli.registry import records as registry
from mlops_cli.registry import tags as regtags
from mlops_cli.registry.gate import declared_checks
from mlops_cli.registry.lineage import digests
from mlops_cli.registry.register import register
from mlops_cli.registry.stages import deprecate, promote
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


@pytest.fixture
def project(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Path:
    return copy_of(trained(tmp_path_factory), tmp_path)


def lock_entry(project: Path, stage: str, path: str, kind: str = "outs") -> str:
    lock = yaml.safe_load((project / "dvc.lock").read_text())
    return next(e["md5"] for e in lock["stages"][stage][kind] if e["path"] == path)


# -- versions and GTO names -------------------------------------------------------------


@pytest.mark.parametrize(
    ("latest", "part", "expected"),
    [
        (None, "patch", "v0.0.1"),
        (None, "minor", "v0.1.0"),
        (None, "major", "v1.0.0"),
        ("v0.1.9", "patch", "v0.1.10"),
        ("v0.1.9", "minor", "v0.2.0"),
        ("v1.2.3", "major", "v2.0.0"),
    ],
)
def test_bump(latest: str | None, part: str, expected: str) -> None:
    assert regtags.bump(latest, part) == expected


@pytest.mark.parametrize("bad", ["1.2", "v1.2.3.4", "latest", "v01.2.3", "1.2.3 ", "vv1.0.0"])
def test_malformed_versions_are_usage_errors(bad: str) -> None:
    with pytest.raises(UsageError):
        regtags.parse_version(bad)


def test_semver_order_puts_prereleases_first() -> None:
    ordered = ["v1.0.0-alpha", "v1.0.0-alpha.1", "v1.0.0-beta", "v1.0.0", "v1.0.1", "v1.10.0"]
    assert sorted(reversed(ordered), key=regtags.semver_key) == ordered


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


# -- promote and deprecate ------------------------------------------------------------


def _passed_tests(p: Project, rec: registry.VersionRecord) -> dict[str, object]:
    """Results that cover the checks mlops.yaml declares (the gate recomputes that)."""
    holdout = rec.data["holdout"]
    declared = declared_checks(p, NAME, p.config.models[NAME])
    return {
        "passed": True,
        "artifact_sha256": rec.artifact["sha256"],
        "data_md5": holdout["md5"],
        "dataset": "holdout",
        "checks": [{"family": c.family, "name": c.label, "passed": True} for c in declared],
    }


def test_promote_is_gated_on_recorded_tests(project: Path) -> None:
    p = open_project(project)
    rec = register(p, NAME).record
    with pytest.raises(CheckFailed, match="has no recorded tests") as err:
        promote(p, NAME, "v0.0.1", "prod")
    assert err.value.exit_code == 1
    failing = {
        **_passed_tests(p, rec),
        "passed": False,
        "checks": [{"name": "f1", "passed": False}],
    }
    registry.record_tests(p, NAME, "v0.0.1", failing)
    with pytest.raises(CheckFailed, match=r"recorded tests failed \(f1\)"):
        promote(p, NAME, "v0.0.1", "prod")
    registry.record_tests(p, NAME, "v0.0.1", {**_passed_tests(p, rec), "artifact_sha256": "0" * 64})
    with pytest.raises(CheckFailed, match="recorded for artifact sha256 000000000000"):
        promote(p, NAME, "v0.0.1", "prod")
    registry.record_tests(p, NAME, "v0.0.1", {**_passed_tests(p, rec), "data_md5": "f" * 32})
    with pytest.raises(CheckFailed, match="ran on test data md5 ffffffffffff"):
        promote(p, NAME, "v0.0.1", "prod")
    assert not [t for t in tags(project) if "#" in t]
    registry.record_tests(p, NAME, "v0.0.1", _passed_tests(p, rec))
    done = promote(p, NAME, "v0.0.1", "prod")
    assert done.tag == "churn#prod#1"
    assert registry.resolve(p, "churn#prod").version == "v0.0.1"
    message = git(project, "tag", "-l", "--format=%(contents)", "churn#prod#1")
    assert (
        message.strip() == "Assigning stage prod to artifact churn version v0.0.1\n\ngate: passed"
    )
    again = promote(p, NAME, "v0.0.1", "prod")
    assert again.tag is None  # already there: nothing new


def test_force_needs_a_reason_which_the_tag_keeps(project: Path) -> None:
    p = open_project(project)
    register(p, NAME)
    with pytest.raises(UsageError, match="--force needs --reason"):
        promote(p, NAME, "v0.0.1", "staging", force=True)
    done = promote(p, NAME, "v0.0.1", "staging", force=True, reason="hotfix INC-42")
    message = git(project, "tag", "-l", "--format=%(contents)", done.tag or "")
    assert "forced: hotfix INC-42" in message and "has no recorded tests" in message


def test_promote_replaces_the_holder_and_stage_names_are_checked(project: Path) -> None:
    p = open_project(project)
    register(p, NAME, version="v1.0.0")
    promote(p, NAME, "v1.0.0", "prod", force=True, reason="first")
    deprecate(p, "churn@v1.0.0")
    register(p, NAME, version="v0.9.0")
    with pytest.raises(InputError, match="is deregistered"):
        promote(p, NAME, "v1.0.0", "prod", force=True, reason="x")
    done = promote(p, NAME, "v0.9.0", "prod", force=True, reason="roll back")
    assert done.tag == "churn#prod#2"
    assert registry.resolve(p, "churn#prod").version == "v0.9.0"
    with pytest.raises(InputError, match="unknown stage 'prd'; did you mean 'prod'"):
        promote(p, NAME, "v0.9.0", "prd")
    emptied = deprecate(p, "churn#prod")
    assert emptied.tags == ["churn#prod!#3"]
    with pytest.raises(InputError, match="no version of churn is in stage 'prod'"):
        registry.resolve(p, "churn#prod")
    whole = deprecate(p, NAME)
    assert whole.tags == ["churn@deprecated"]


def test_gto_reads_our_versions_and_stages(project: Path) -> None:
    gto_api = pytest.importorskip("gto.api", reason="gto is not installed")
    import time

    p = open_project(project)
    register(p, NAME, version="v0.1.0")
    promote(p, NAME, "v0.1.0", "staging", force=True, reason="test")
    deprecate(p, "churn@v0.1.0")
    register(p, NAME, version="v0.2.0")
    time.sleep(1.1)  # GTO orders events by the second
    promote(p, NAME, "v0.2.0", "prod", force=True, reason="test")
    time.sleep(1.1)
    promote(p, NAME, "v0.2.0", "staging", force=True, reason="test")

    shown = gto_api.show(str(project))  # what `gto show` prints, as data
    assert shown[NAME]["version"] == "v0.2.0"
    assert shown[NAME]["stage"] == {"prod": "v0.2.0", "staging": "v0.2.0"}
    for stage in ("prod", "staging"):
        assert registry.resolve(p, f"churn#{stage}").version == "v0.2.0"
    ours = {r.version: r.stages for r in registry.list_versions(p, NAME)}
    assert ours == {"v0.2.0": ["prod", "staging"], "v0.1.0": []}


def test_tag_names_match_gtos_documented_format(project: Path) -> None:
    p = open_project(project)
    register(p, NAME)
    promote(p, NAME, "v0.0.1", "dev", force=True, reason="x")
    deprecate(p, "churn#dev")
    deprecate(p, "churn@v0.0.1")
    deprecate(p, NAME)
    assert tags(project) == sorted(
        ["churn@v0.0.1", "churn#dev#1", "churn#dev!#2", "churn@v0.0.1!", "churn@deprecated"]
    )
    messages = {
        t: git(project, "tag", "-l", "--format=%(contents:subject)", t) for t in tags(project)
    }
    assert messages["churn@v0.0.1"] == "Registering artifact churn version v0.0.1"
    assert messages["churn#dev#1"] == "Assigning stage dev to artifact churn version v0.0.1"
    assert (
        messages["churn#dev!#2"] == "Unassigning stage 'dev' to artifact 'churn' version 'v0.0.1'"
    )
    assert messages["churn@v0.0.1!"] == "Deregistering artifact churn version v0.0.1"
    assert messages["churn@deprecated"] == "Deprecating artifact 'churn'"


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
