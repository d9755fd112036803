"""The promotion gate recomputes what a record claims (issue 13, part 4 and item 5), on a
real trained, registered and tested project: a record's `passed: true` alone is refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from mlops_cli.project.root import open_project
from mlops_cli.registry import gate
from mlops_cli.registry import records as registry
from mlops_cli.status.status import project_status
from tests.modelproject import NAME, commit_all, edit_config, git, run_in, tags

RECORD = f".mlops/models/{NAME}/v0.0.1.yaml"


def rewrite_record(project: Path, change: Any, message: str = "edit the record") -> None:
    path = project / RECORD
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    commit_all(project, message)


def test_a_hand_written_passing_record_with_no_checks_is_refused(cli: Any, project: Path) -> None:
    m = run_in(cli, project)
    assert m("model", "register", NAME).exit_code == 0
    record = registry.load_record(open_project(project), NAME, "v0.0.1")
    test_data = next(d for d in record.data.values() if d["role"] == "test")

    def forge(data: dict[str, Any]) -> None:
        data["tests"] = {
            "passed": True,
            "artifact_sha256": record.artifact["sha256"],
            "data_md5": test_data["md5"],
            "dataset": "holdout",
            "checks": [],
        }

    rewrite_record(project, forge, "tests passed, trust me")
    out = m("model", "promote", NAME, "v0.0.1", "prod")
    assert out.exit_code == 1
    [line] = [ln for ln in out.stderr.splitlines() if ln.startswith("error:")]
    assert "do not cover 15 check(s) mlops.yaml declares: schema: schemas/holdout.yaml" in line
    assert "metrics: accuracy" in line
    assert tags(project) == [f"{NAME}@v0.0.1"]


def test_a_failed_check_under_passed_true_is_refused(cli: Any, project: Path) -> None:
    m = run_in(cli, project)
    m("model", "register", NAME)
    assert m("test", f"{NAME}@v0.0.1", "--record").exit_code == 0

    def fail_one(data: dict[str, Any]) -> None:
        check = next(c for c in data["tests"]["checks"] if c["name"] == "f1")
        check["passed"] = False

    rewrite_record(project, fail_one)
    out = m("model", "promote", NAME, "v0.0.1", "prod")
    assert out.exit_code == 1 and "its recorded tests failed (f1)" in out.stderr


def test_a_judged_check_left_unjudged_is_refused(cli: Any, project: Path) -> None:
    m = run_in(cli, project)
    m("model", "register", NAME)
    m("test", f"{NAME}@v0.0.1", "--record")

    def unjudge(data: dict[str, Any]) -> None:
        next(c for c in data["tests"]["checks"] if c["name"] == "accuracy")["passed"] = None

    rewrite_record(project, unjudge)
    out = m("model", "promote", NAME, "v0.0.1", "prod")
    assert out.exit_code == 1 and "did not judge metrics: accuracy" in out.stderr


def test_a_record_rebound_to_another_artifact_is_refused(cli: Any, project: Path) -> None:
    """Artifact sha256 changed consistently in the record and its tests: the registered
    record (at the version's tag) still says which artifact the version is."""
    m = run_in(cli, project)
    m("model", "register", NAME)
    m("test", f"{NAME}@v0.0.1", "--record")

    def rebind(data: dict[str, Any]) -> None:
        data["artifact"]["sha256"] = data["tests"]["artifact_sha256"] = "f" * 64

    rewrite_record(project, rebind)
    out = m("model", "promote", NAME, "v0.0.1", "prod")
    assert out.exit_code == 1
    assert "its record names artifact sha256 ffffffffffff, but churn@v0.0.1 was registered" in (
        out.stderr
    )


def test_a_record_with_other_data_hashes_is_refused(cli: Any, project: Path) -> None:
    m = run_in(cli, project)
    m("model", "register", NAME)
    m("test", f"{NAME}@v0.0.1", "--record")

    def other_data(data: dict[str, Any]) -> None:
        data["data"]["train"]["md5"] = "0" * 32

    rewrite_record(project, other_data)
    out = m("model", "promote", NAME, "v0.0.1", "prod")
    assert out.exit_code == 1 and "data hashes differ from those churn@v0.0.1" in out.stderr


def test_what_mlops_test_records_covers_the_declared_checks(project: Path, cli: Any) -> None:
    """modeltest/ names the checks, gate.py recomputes them: they must agree."""
    m = run_in(cli, project)
    m("model", "register", NAME)
    assert m("test", f"{NAME}@v0.0.1", "--record").exit_code == 0
    opened = open_project(project)
    record = registry.load_record(opened, NAME, "v0.0.1")
    assert record.tests is not None
    declared = gate.declared_checks(opened, NAME, opened.config.models[NAME])
    assert len(declared) == 15  # the 16 checks but "probabilities sum to 1" (data-dependent)
    for want in declared:
        assert any(
            c["family"] == want.family and want.matches(c["name"]) for c in record.tests["checks"]
        ), str(want)
    assert gate.gate_problem(opened, record) is None
    promoted = m("model", "promote", NAME, "v0.0.1", "prod")
    assert promoted.exit_code == 0, promoted.stderr
    message = git(project, "tag", "-l", "--format=%(contents)", f"{NAME}#prod#1")
    assert message.endswith("gate: passed")


def test_a_stage_whose_record_no_longer_covers_the_declared_checks_is_stale(
    cli: Any, project: Path
) -> None:
    m = run_in(cli, project)
    m("model", "register", NAME)
    m("test", f"{NAME}@v0.0.1", "--record")
    assert m("model", "promote", NAME, "v0.0.1", "prod").exit_code == 0
    floor = "accuracy: {min: 0.85}"
    edit_config(project, floor, f"{floor}\n        precision: {{min: 0.5}}")
    commit_all(project, "a new metric floor")
    stale = [(f.subject, f.problem) for f in project_status(open_project(project)).stale]
    assert (
        f"{NAME}#prod",
        "v0.0.1: its recorded tests do not cover 1 check(s) mlops.yaml declares: metrics:"
        f" precision; run `mlops test {NAME}@v0.0.1 --record`",
    ) in stale
    out = m("status", "--check")
    assert out.exit_code == 1 and f"{NAME}#prod: v0.0.1: its recorded tests do not cover" in (
        out.stderr
    )


def test_no_regression_must_have_compared_with_the_version_in_the_stage_now(
    cli: Any, project: Path
) -> None:
    """v0.0.2 was tested while prod was empty; v0.0.1 went to prod since: v0.0.2's results
    say nothing about a regression against v0.0.1."""
    from tests.modelproject import retrain

    m = run_in(cli, project)
    m("model", "register", NAME)
    m("test", f"{NAME}@v0.0.1", "--record")
    retrain(project, 0.5)
    assert m("model", "register", NAME).exit_code == 0
    assert m("test", f"{NAME}@v0.0.2", "--record").exit_code == 0
    assert m("model", "promote", NAME, "v0.0.1", "prod").exit_code == 0
    out = m("model", "promote", NAME, "v0.0.2", "prod")
    assert out.exit_code == 1
    assert "no_regression: accuracy vs churn@v0.0.1 (prod)" in out.stderr
    assert m("test", f"{NAME}@v0.0.2", "--record").exit_code == 0
    assert m("model", "promote", NAME, "v0.0.2", "prod").exit_code == 0
