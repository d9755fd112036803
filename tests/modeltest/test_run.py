"""Model tests on a really trained model and its real holdout data."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mlops_cli.common.errors import ConfigError, InputError
from mlops_cli.modeltest import run as modeltests
from mlops_cli.modeltest.checks import CheckResult
from mlops_cli.project.root import open_project
from tests.modelproject import NAME, copy_of, edit_config, trained, weak

FAMILIES = ["schema", "metrics", "output", "no_regression", "invariance", "latency", "size"]


@pytest.fixture
def project(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Path:
    return copy_of(trained(tmp_path_factory), tmp_path)


def by_name(checks: list[CheckResult]) -> dict[str, CheckResult]:
    return {f"{c.family}: {c.name}": c for c in checks}


def test_the_scaffolded_model_passes_its_declared_tests(project: Path) -> None:
    report = modeltests.test_model(open_project(project), NAME)
    assert report.passed, [c for c in report.checks if c.passed is False]
    assert [f for f in FAMILIES if f in {c.family for c in report.checks}] == FAMILIES
    assert report.checks[0].family == "schema"  # validated first
    checks = by_name(report.checks)
    assert checks["metrics: accuracy"].value > 0.9  # type: ignore[operator]
    assert checks["no_regression: vs prod"].passed is None  # nothing in prod yet
    assert {"latency: p50 batch 1", "latency: p95 batch 100"} <= set(checks)
    assert report.version is None and report.target == "churn (workspace)"
    assert report.data["rows"] == 143 and report.data["dataset"] == "holdout"
    record = report.to_record()
    assert record["artifact_sha256"] == report.artifact["sha256"]
    assert record["data_md5"] == report.data["md5"]


@pytest.mark.parametrize(
    ("old", "new", "failing"),
    [
        ("accuracy: {min: 0.85}", "accuracy: {min: 0.9999}", ["metrics: accuracy"]),
        ("max_size_mb: 5", "max_size_mb: 0.001", ["size: artifact size MB"]),
        ("output: {classes: [0, 1]", "output: {classes: [0]", ["output: classes"]),
        (
            "p50_ms: 50",
            "p50_ms: 0.000001",
            ["latency: p50 batch 1", "latency: p50 batch 100"],
        ),
        ("scale: 0.01 ", "scale: 50 ", ["invariance: mean_radius noise x50"]),
    ],
)
def test_each_family_can_fail(project: Path, old: str, new: str, failing: list[str]) -> None:
    edit_config(project, old, new)
    report = modeltests.test_model(open_project(project), NAME)
    assert not report.passed
    assert [f"{c.family}: {c.name}" for c in report.failed] == failing


def test_invariance_perturbations(project: Path) -> None:
    edit_config(
        project,
        "perturbation: noise",
        "perturbation: shuffle",
    )
    edit_config(project, "max_changed: 0.05", "max_changed: 0.0")
    report = modeltests.test_model(open_project(project), NAME)
    shuffled = by_name(report.checks)["invariance: mean_radius shuffle"]
    assert shuffled.passed is False and shuffled.value > 0  # type: ignore[operator]


def test_slices_are_judged_per_value_and_small_ones_only_reported(project: Path) -> None:
    edit_config(
        project,
        "      max_size_mb: 5\n",
        "      max_size_mb: 5\n"
        "      slices:\n"
        "        - {column: target, metrics: {recall: {min: 0.2}}, min_rows: 60}\n",
    )
    report = modeltests.test_model(open_project(project), NAME)
    slices = {c.name: c for c in report.checks if c.family == "slices"}
    assert set(slices) == {"target=0 recall", "target=1 recall"}
    small, large = slices["target=0 recall"], slices["target=1 recall"]  # 53 and 90 rows
    assert small.passed is None and "reported, not judged" in small.detail
    assert large.passed is True and large.detail == "90 rows"


def test_the_schema_runs_first_and_stops_the_run(project: Path) -> None:
    holdout = project / "data/prepared/holdout.csv"
    lines = holdout.read_text().splitlines()
    header = lines[0].split(",")
    lines[1] = ",".join(["not-a-number", *lines[1].split(",")[1:]])
    holdout.write_text("\n".join(lines) + "\n")
    report = modeltests.test_model(open_project(project), NAME)
    assert [c.family for c in report.checks] == ["schema"]
    assert report.checks[0].passed is False and header[0] in report.checks[0].detail
    assert not report.passed


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("target: target", "target: label", "target 'label' is not a column"),
        ("column: mean_radius", "column: nope", "invariance.column 'nope'"),
        ("accuracy: {min: 0.85}", "rmse: {max: 0.5}", "rmse do not apply to a classification"),
        ("    test_data: holdout ", "    # test_data: holdout ", "test_data is not set"),
    ],
)
def test_config_problems_are_exit_3(project: Path, old: str, new: str, message: str) -> None:
    edit_config(project, old, new)
    with pytest.raises(ConfigError, match=message) as err:
        modeltests.test_model(open_project(project), NAME)
    assert err.value.exit_code == 3


def test_missing_test_data_is_exit_3(project: Path) -> None:
    (project / "data/prepared/holdout.csv").unlink()
    with pytest.raises(InputError, match=r"holdout\.csv: no such file"):
        modeltests.test_model(open_project(project), NAME)


class ConstantPredictor:
    """A stand-in for a served model: anything with predict and predict_proba will do."""

    classes = (0, 1)

    def predict(self, frame: Any) -> Any:
        return np.zeros(len(frame), dtype=int)

    def predict_proba(self, frame: Any) -> Any:
        return np.tile([0.9, 0.1], (len(frame), 1))


def test_checks_run_against_any_predictor(project: Path) -> None:
    p = open_project(project)
    artifact = {"path": "served", "sha256": "x", "bytes": 10}
    report = modeltests.run_checks(
        p, NAME, ConstantPredictor(), artifact=artifact, target="image churn:test"
    )
    assert report.target == "image churn:test"
    failed = {f"{c.family}: {c.name}" for c in report.failed}
    assert {"metrics: accuracy", "metrics: balanced_accuracy", "metrics: f1"} <= failed
    assert "output: classes" not in failed


@pytest.fixture
def weak_project(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Path:
    return copy_of(weak(tmp_path_factory), tmp_path)


def test_no_regression_compares_with_the_version_in_the_stage(weak_project: Path) -> None:
    p = open_project(weak_project)
    report = modeltests.test_model(p, NAME)
    checks = by_name(report.checks)
    accuracy = checks["no_regression: accuracy vs churn@v1.0.0 (prod)"]
    assert accuracy.passed is False
    assert accuracy.detail.startswith("churn@v1.0.0: 0.98")
    assert "no_regression: f1 vs churn@v1.0.0 (prod)" in checks
    # The version in prod compared with itself passes.
    again = modeltests.test_model(p, "churn#prod")
    assert by_name(again.checks)["no_regression: vs prod"].passed is True


def test_junit_report(project: Path, tmp_path: Path) -> None:
    edit_config(project, "accuracy: {min: 0.85}", "accuracy: {min: 0.9999}")
    report = modeltests.test_model(open_project(project), NAME)
    out = tmp_path / "reports" / "model-tests.xml"
    modeltests.write_junit(report, out)
    suite = ET.parse(out).getroot().find("testsuite")
    assert suite is not None
    assert suite.get("tests") == str(len(report.checks))
    assert (suite.get("failures"), suite.get("skipped")) == ("1", "1")
    failure = suite.find("testcase[@name='accuracy']/failure")
    assert failure is not None and "want >= 0.9999" in (failure.get("message") or "")
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["artifact_sha256"] == report.artifact["sha256"]
