"""registry/stages.py: the promotion gate (recorded tests that passed, on exactly this
artifact and this test data), the stage counter, and promote and deprecate with real git
tags on a really trained project."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mlops_cli.common.errors import CheckFailed, InputError, UsageError
from mlops_cli.gitio.refs import TagInfo
from mlops_cli.project.root import open_project
from mlops_cli.registry import records as registry
from mlops_cli.registry.records import VersionRecord
from mlops_cli.registry.register import register
from mlops_cli.registry.stages import _next_counter, deprecate, gate_problem, promote
from tests.modelproject import (
    NAME,
    git,
    tags,
)

SHA, MD5 = "a" * 64, "b" * 32


def record(tests: dict[str, Any] | None, *, data_md5: str | None = MD5) -> VersionRecord:
    data = {"holdout": {"path": "data/holdout.csv", "role": "test", "md5": data_md5}}
    return VersionRecord(
        model="churn", version="v1.0.0", created="2026-12-01T00:00:00Z",
        git={"commit": "c" * 40, "tag": "churn@v1.0.0"},
        artifact={"path": "models/m.skops", "sha256": SHA}, data=data, tests=tests,
    )  # fmt: skip


PASSED = {"passed": True, "artifact_sha256": SHA, "data_md5": MD5, "checks": []}


def test_passed_tests_on_this_artifact_and_data_open_the_gate() -> None:
    assert gate_problem(record(PASSED)) is None
    assert gate_problem(record(PASSED, data_md5=None)) is None  # no md5 recorded: not compared


@pytest.mark.parametrize(
    ("tests", "problem"),
    [
        (None, "it has no recorded tests; run `mlops test churn@v1.0.0 --record`"),
        ({}, "it has no recorded tests"),
        (
            {**PASSED, "artifact_sha256": "f" * 64},
            f"its tests were recorded for artifact sha256 ffffffffffff, not for its artifact"
            f" {SHA[:12]}; run `mlops test churn@v1.0.0 --record`",
        ),
        (
            {**PASSED, "data_md5": "e" * 32},
            "its tests ran on test data md5 eeeeeeeeeeee, not on its own (data/holdout.csv, md5"
            " bbbbbbbbbbbb)",
        ),
        (
            {
                **PASSED,
                "passed": False,
                "checks": [{"name": "accuracy", "passed": False}, {"name": "f1", "passed": True}],
            },
            "its recorded tests failed (accuracy)",
        ),
        ({**PASSED, "passed": False}, "its recorded tests failed (see the record)"),
    ],
)
def test_what_keeps_the_gate_shut(tests: dict[str, Any] | None, problem: str) -> None:
    found = gate_problem(record(tests))
    assert found is not None and found.startswith(problem), found


def test_the_next_counter_is_one_above_the_models_largest() -> None:
    def tag(name: str) -> TagInfo:
        return TagInfo(name, True, "c", 1, "t", "m")

    tags = [tag("churn#prod#3"), tag("churn#staging!#7"), tag("other#prod#40"), tag("churn@v1.0.0")]
    assert _next_counter(tags, "churn") == 8
    assert _next_counter(tags, "other") == 41
    assert _next_counter(tags, "new") == 1


# -- promote and deprecate ------------------------------------------------------------


def _passed_tests(rec: registry.VersionRecord) -> dict[str, object]:
    holdout = rec.data["holdout"]
    return {
        "passed": True,
        "artifact_sha256": rec.artifact["sha256"],
        "data_md5": holdout["md5"],
        "checks": [],
    }


def test_promote_is_gated_on_recorded_tests(project: Path) -> None:
    p = open_project(project)
    rec = register(p, NAME).record
    with pytest.raises(CheckFailed, match="has no recorded tests") as err:
        promote(p, NAME, "v0.0.1", "prod")
    assert err.value.exit_code == 1
    failing = {**_passed_tests(rec), "passed": False, "checks": [{"name": "f1", "passed": False}]}
    registry.record_tests(p, NAME, "v0.0.1", failing)
    with pytest.raises(CheckFailed, match=r"recorded tests failed \(f1\)"):
        promote(p, NAME, "v0.0.1", "prod")
    registry.record_tests(p, NAME, "v0.0.1", {**_passed_tests(rec), "artifact_sha256": "0" * 64})
    with pytest.raises(CheckFailed, match="recorded for artifact sha256 000000000000"):
        promote(p, NAME, "v0.0.1", "prod")
    registry.record_tests(p, NAME, "v0.0.1", {**_passed_tests(rec), "data_md5": "f" * 32})
    with pytest.raises(CheckFailed, match="ran on test data md5 ffffffffffff"):
        promote(p, NAME, "v0.0.1", "prod")
    assert not [t for t in tags(project) if "#" in t]
    registry.record_tests(p, NAME, "v0.0.1", _passed_tests(rec))
    done = promote(p, NAME, "v0.0.1", "prod")
    assert done.tag == "churn#prod#1"
    assert registry.resolve(p, "churn#prod").version == "v0.0.1"
    message = git(project, "tag", "-l", "--format=%(contents)", "churn#prod#1")
    assert message.strip() == "Assigning stage prod to artifact churn version v0.0.1"
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
