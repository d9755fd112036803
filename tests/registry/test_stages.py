"""registry/stages.py: the promotion gate (recorded tests that passed, on exactly this
artifact and this test data) and the stage counter. Promote and deprecate with real git
tags are in tests/registry/test_records.py."""

from __future__ import annotations

from typing import Any

import pytest

from mlops_cli.gitio.refs import TagInfo
from mlops_cli.registry.records import VersionRecord
from mlops_cli.registry.stages import _next_counter, gate_problem

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
