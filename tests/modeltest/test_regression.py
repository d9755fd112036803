"""modeltest/regression.py: `no_regression` scores the version in the stage on the very
rows under test, through the safe loader, and compares metric by metric."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from mlops_cli.modeltest.checks import CheckResult
from mlops_cli.modeltest.regression import regression_checks
from mlops_cli.project.root import Project, open_project
from tests.modelproject import NAME, copy_of, trained, weak


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
