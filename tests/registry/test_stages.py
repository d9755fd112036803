"""registry/stages.py: the promotion gate (recorded tests that passed, on exactly this
artifact and this test data), the stage counter, and promote and deprecate with real git
tags on a really trained project."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_cli.common.errors import CheckFailed, InputError, UsageError
from mlops_cli.gitio.refs import TagInfo
from mlops_cli.project.root import Project, open_project
from mlops_cli.registry import records as registry
from mlops_cli.registry.gate import declared_checks
from mlops_cli.registry.register import register
from mlops_cli.registry.stages import _next_counter, deprecate, promote
from tests.modelproject import (
    NAME,
    git,
    tags,
)


def test_the_next_counter_is_one_above_the_models_largest() -> None:
    def tag(name: str) -> TagInfo:
        return TagInfo(name, True, "c", 1, "t", "m")

    tags = [tag("churn#prod#3"), tag("churn#staging!#7"), tag("other#prod#40"), tag("churn@v1.0.0")]
    assert _next_counter(tags, "churn") == 8
    assert _next_counter(tags, "other") == 41
    assert _next_counter(tags, "new") == 1


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
