"""`mlops status` on real registered projects: every stale layer named with its fix."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from mlops_cli.project.root import open_project
from mlops_cli.registry import records as registry
from mlops_cli.status.status import project_status
from tests.conftest import mlops_bin
from tests.modelproject import NAME, commit_all, copy_of, git, trained, weak


def mlops(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*mlops_bin(), *args], cwd=project, capture_output=True, text=True, timeout=600, check=False
    )


def findings(project: Path) -> list[tuple[str, str]]:
    report = project_status(open_project(project))
    return [(f.subject, f.problem) for f in report.stale]


@pytest.fixture
def released(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Path:
    """v0.0.1 registered, tested (recorded), promoted to prod; its image not yet pushed."""
    project = copy_of(trained(tmp_path_factory), tmp_path)
    for args in (
        ["model", "register", NAME],
        ["test", f"{NAME}@v0.0.1", "--record"],
        ["model", "promote", NAME, "v0.0.1", "prod"],
    ):
        out = mlops(project, *args)
        assert out.returncode == 0, out.stderr
    return project


def test_a_fresh_trained_project_only_notes_the_missing_version(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    project = copy_of(trained(tmp_path_factory), tmp_path)
    report = project_status(open_project(project))
    assert report.stale == []
    assert [f.problem for f in report.findings] == ["no registered version"]
    assert mlops(project, "status", "--check").returncode == 0


def test_stage_without_a_pushed_image_then_clean(released: Path) -> None:
    assert findings(released) == [(f"{NAME}#prod", "v0.0.1 has no pushed image")]
    out = mlops(released, "status", "--check")
    assert out.returncode == 1
    assert f"{NAME}#prod: v0.0.1 has no pushed image -> mlops image build" in out.stderr
    registry.add_image(
        open_project(released),
        NAME,
        "v0.0.1",
        {"ref": "127.0.0.1:5000/churn:v0.0.1", "digest": "sha256:" + "0" * 64, "pushed": True},
    )
    assert findings(released) == []
    doc = json.loads(mlops(released, "status", "--check", "--json").stdout)
    assert doc["clean"] is True
    assert doc["models"][0]["stages"] == {"prod": "v0.0.1"}
    assert doc["models"][0]["tests"] == "passed"


def test_retrained_model_and_a_newer_passing_version(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    project = copy_of(weak(tmp_path_factory), tmp_path)
    got = findings(project)
    assert (NAME, "workspace model differs from churn@v1.0.0") in got


def test_new_raw_data_makes_the_model_stale(released: Path) -> None:
    raw = released / "data/raw/data.csv"
    lines = raw.read_text().splitlines(keepends=True)
    raw.write_text("".join(lines + lines[1:11]))
    got = findings(released)
    assert ("raw", "workspace differs from the committed version") in got
    out = mlops(released, "data", "add", "data/raw/data.csv", "--dataset", "raw")
    assert out.returncode == 0, out.stderr
    commit_all(released, "more raw data")
    subjects = [problem for subject, problem in findings(released) if subject == f"{NAME}@v0.0.1"]
    assert any(p.startswith("data set raw changed since it was trained") for p in subjects)
    stale = [
        line
        for line in mlops(released, "status", "--check").stderr.splitlines()
        if "changed since it was trained" in line
    ]
    assert stale and "dvc repro, then mlops model register churn" in stale[0]


def test_broken_registry_state_is_reported_not_a_crash(released: Path) -> None:
    rel = registry.record_path(NAME, "v0.0.1")
    (released / rel).write_text("model: churn\nversion: [truncated\n")
    commit_all(released, "oops: a truncated record")
    # a tag without a record, and a record without a tag
    git(
        released,
        "tag",
        "-a",
        f"{NAME}@v9.9.9",
        "-m",
        f"Registering artifact={NAME} version=v9.9.9",
        "HEAD~1",
    )
    orphan = released / registry.record_path(NAME, "v5.0.0")
    orphan.write_text((released / rel).read_text())
    commit_all(released, "a record nobody tagged")
    got = dict(findings(released))
    assert got[f"{NAME}@v0.0.1"].startswith("record unreadable")
    assert got[f"{NAME}@v9.9.9"].startswith("tag churn@v9.9.9 has no record")
    assert got[f"{NAME}@v5.0.0"].startswith(
        f"record {registry.record_path(NAME, 'v5.0.0')} has no tag"
    )
    out = mlops(released, "status")
    assert out.returncode == 0 and "Traceback" not in out.stderr
    assert mlops(released, "status", "--check").returncode == 1


def test_uncommitted_metadata_and_unpushed_tags(released: Path, tmp_path: Path) -> None:
    params = released / "params.yaml"
    params.write_text(params.read_text() + "\n# tweak\n")
    assert ("params.yaml", "modified, not committed") in findings(released)
    git(released, "checkout", "--", "params.yaml")
    bare = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(released, "remote", "add", "origin", str(bare))
    git(released, "push", "-q", "origin", "HEAD")
    report: Any = project_status(open_project(released), remote=True)
    unpushed = [f for f in report.stale if f.subject == "tags"]
    assert unpushed and "not on origin" in unpushed[0].problem
    assert unpushed[0].fix == "git push origin --tags"


def test_uncommitted_metadata_in_a_project_inside_a_larger_repo(tmp_path: Path) -> None:
    """git prints paths from the top of the work tree, not from the project's folder: an
    uncommitted mlops.yaml of a project in a monorepo's subfolder is still reported."""
    mono = tmp_path / "mono"
    mono.mkdir()
    git(mono, "init", "-q")
    made = mlops(mono, "init", "proj", "--template", "minimal", "--no-git")
    assert made.returncode == 0, made.stderr
    git(mono, "add", "-A")
    git(mono, "commit", "-qm", "project in a subfolder")
    config = mono / "proj" / "mlops.yaml"
    config.write_text(config.read_text() + "\n# tweak\n")
    stale = findings(mono / "proj")
    assert any(s.endswith("mlops.yaml") and p == "modified, not committed" for s, p in stale), stale
