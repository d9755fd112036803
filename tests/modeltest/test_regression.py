"""modeltest/regression.py: `no_regression` scores the version in the stage on the very
rows under test, through the safe loader, and compares metric by metric.
It loads the baseline with the trust list it was registered with (issue 13 item 4)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from mlops_cli.modeltest.checks import CheckResult
from mlops_cli.modeltest.regression import baseline_trusted_types, regression_checks
from mlops_cli.project.root import Project, open_project
from mlops_cli.registry import records as registry
from tests.modelproject import NAME, commit_all, copy_of, edit_config, run, tool, trained, weak


def holdout(project: Project) -> tuple[pd.DataFrame, pd.Series]:
    model = project.config.models[NAME]
    assert model.test_data is not None
    frame = pd.read_csv(project.root / project.config.datasets[model.test_data].path)
    return frame.drop(columns=[model.target]), frame[model.target]


def checks(project: Project, version: str | None, y_pred: Any) -> dict[str, CheckResult]:
    features, labels = holdout(project)
    classes = sorted(labels.unique().tolist())
    found = regression_checks(project, NAME, version, features, labels, y_pred, None, classes)
    assert all(c.family == "no_regression" for c in found)
    return {c.name: c for c in found}


@pytest.fixture
def in_prod(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Project:
    """v1.0.0 in prod (accuracy ~0.98 on the holdout)."""
    return open_project(copy_of(weak(tmp_path_factory), tmp_path))


def test_better_and_worse_than_the_version_in_prod(in_prod: Project) -> None:
    _, labels = holdout(in_prod)
    perfect = checks(in_prod, None, labels.to_numpy())
    accuracy = perfect["accuracy vs churn@v1.0.0 (prod)"]
    assert accuracy.passed is True and accuracy.value == 1.0
    assert accuracy.detail is not None and accuracy.detail.startswith("churn@v1.0.0: 0.9")
    assert accuracy.bound is not None and accuracy.bound.startswith(">= 0.9")
    assert accuracy.bound.endswith("- 0.02")
    wrong = labels.to_numpy().copy()
    wrong[: len(wrong) // 3] = 1 - wrong[: len(wrong) // 3]  # a third flipped
    worse = checks(in_prod, None, wrong)
    assert worse["accuracy vs churn@v1.0.0 (prod)"].passed is False
    assert set(worse) == {"accuracy vs churn@v1.0.0 (prod)", "f1 vs churn@v1.0.0 (prod)"}


def test_the_version_in_the_stage_is_not_compared_with_itself(in_prod: Project) -> None:
    _, labels = holdout(in_prod)
    same = checks(in_prod, "v1.0.0", labels.to_numpy())
    assert list(same) == ["vs prod"]
    assert same["vs prod"].passed is True
    assert same["vs prod"].detail == "churn@v1.0.0 is the version in prod"


def test_nothing_in_the_stage_yet(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> None:
    project = open_project(copy_of(trained(tmp_path_factory), tmp_path))
    _, labels = holdout(project)
    found = checks(project, None, labels.to_numpy())
    assert found["vs prod"].passed is None  # not judged: nothing to compare with
    assert found["vs prod"].detail == "no version of churn is in prod yet: nothing to compare with"


def test_a_baseline_that_cannot_be_loaded_fails_the_check(in_prod: Project) -> None:
    """No baseline to score (its artifact is in neither the work tree, which holds a newer
    model, nor the DVC cache): the check fails, it is not skipped."""
    import shutil

    from mlops_cli.registry.records import ARTIFACT_CACHE

    shutil.rmtree(in_prod.root / ".dvc" / "cache")
    shutil.rmtree(in_prod.root / ARTIFACT_CACHE, ignore_errors=True)
    _, labels = holdout(in_prod)
    found = checks(in_prod, None, labels.to_numpy())
    assert list(found) == ["vs churn@v1.0.0"]
    assert found["vs churn@v1.0.0"].passed is False
    assert (found["vs churn@v1.0.0"].detail or "").startswith(
        "cannot load churn@v1.0.0 to compare with: the artifact of churn@v1.0.0"
    )


# -- the baseline's trust list ------------------------------------------------------


FIT = "    model = build_model(params).fit(features, labels)\n"


def with_a_dtype_in_the_model(project: Path) -> None:
    """Retrain so the fitted model carries a `numpy.dtype` (skops: not trusted by default)."""
    train = project / "src/train.py"
    text = train.read_text()
    assert FIT in text
    extra = '    import numpy\n    model.steps[-1][1].dtype_hint_ = numpy.dtype("float64")\n'
    train.write_text(text.replace(FIT, FIT + extra, 1))
    evaluate = project / "src/evaluate.py"
    text = evaluate.read_text()
    marker = '        "sklearn.pipeline.Pipeline",\n'
    assert marker in text
    evaluate.write_text(text.replace(marker, marker + '        "numpy.dtype",\n', 1))
    run([tool("dvc"), "repro", "-q"], project)
    commit_all(project, "a model holding a numpy.dtype")


@pytest.fixture
def project(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Path:
    return copy_of(trained(tmp_path_factory), tmp_path)


def test_widening_trusted_types_today_does_not_widen_the_baseline(cli: Any, project: Path) -> None:
    m = lambda *a: cli("-C", str(project), *a)  # noqa: E731
    with_a_dtype_in_the_model(project)
    # v1.0.0 registered while mlops.yaml trusted nothing extra: it never could be loaded
    # then, so it reached prod only by force.
    assert m("model", "register", NAME, "--version", "v1.0.0").exit_code == 0
    refused = m("test", f"{NAME}@v1.0.0")
    assert refused.exit_code == 4 and "numpy.dtype" in refused.stderr
    forced = m("model", "promote", NAME, "v1.0.0", "prod", "--force", "--reason", "INC-1")
    assert forced.exit_code == 0, forced.stderr
    record = registry.load_record(open_project(project), NAME, "v1.0.0")
    assert record.artifact["trusted_types"] == []

    # Today's mlops.yaml trusts numpy.dtype: the workspace model loads, the baseline not.
    edit_config(project, "    format: skops", "    trusted_types: [numpy.dtype]\n    format: skops")
    commit_all(project, "trust numpy.dtype")
    opened = open_project(project)
    assert baseline_trusted_types(opened, record) == []
    doc = m("test", NAME, "--json").json()
    regression = [c for c in doc["checks"] if c["family"] == "no_regression"]
    assert [c["passed"] for c in regression] == [False]
    assert f"cannot load {NAME}@v1.0.0 to compare with" in regression[0]["detail"]
    assert "numpy.dtype" in regression[0]["detail"]
    others = [c for c in doc["checks"] if c["family"] != "no_regression"]
    assert all(c["passed"] is not False for c in others), others
