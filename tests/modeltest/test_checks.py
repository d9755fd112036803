"""modeltest/checks.py: the check families as pure functions: metrics against sklearn's,
bounds, the output contract, invariance, latency (structure only: no timed assertions) and
size."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier

from mlops_cli.modeltest import checks as mc
from mlops_cli.modeltest.predictor import LocalPredictor
from mlops_cli.project.config import Bound, InvarianceTest, LatencyTest, OutputContract

Y_TRUE = np.array([0, 0, 1, 1, 1, 0])
Y_PRED = np.array([0, 1, 1, 1, 0, 0])
PROBA = np.array([[0.9, 0.1], [0.4, 0.6], [0.2, 0.8], [0.3, 0.7], [0.6, 0.4], [0.8, 0.2]])


@pytest.mark.parametrize(
    ("metric", "expected"),
    [
        ("accuracy", 4 / 6),
        ("balanced_accuracy", 4 / 6),
        ("f1", 4 / 6),  # macro average: both classes 2/3
        ("precision", 4 / 6),
        ("recall", 4 / 6),
        ("roc_auc", 8 / 9),
    ],
)
def test_classification_scores(metric: str, expected: float) -> None:
    assert mc.score(metric, Y_TRUE, Y_PRED, PROBA, [0, 1]) == pytest.approx(expected)


def test_regression_scores_and_what_cannot_be_computed() -> None:
    y, p = np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 5.0])
    assert mc.score("mae", y, p, None, []) == pytest.approx(2 / 3)
    assert mc.score("rmse", y, p, None, []) == pytest.approx(math.sqrt(4 / 3))
    assert mc.score("r2", y, p, None, []) == pytest.approx(1 - 4 / 2)
    assert mc.score("roc_auc", Y_TRUE, Y_PRED, None, [0, 1]) is None  # no probabilities
    assert mc.score("roc_auc", np.zeros(3), np.zeros(3), PROBA[:3], [0, 1]) is None  # one class
    with pytest.raises(ValueError, match="unknown metric"):
        mc.score("logloss", Y_TRUE, Y_PRED, None, [0, 1])


def test_judging_a_bound() -> None:
    assert mc.judge("metrics", "f1", 0.9, Bound(min=0.8)).passed is True
    low = mc.judge("metrics", "rmse", 3.0, Bound(max=2.5))
    assert (low.passed, low.bound) == (False, "<= 2.5")
    both = mc.judge("metrics", "r2", 0.5, Bound(min=0.2, max=0.9))
    assert (both.passed, both.bound) == (True, ">= 0.2 and <= 0.9")
    nan = mc.judge("metrics", "r2", float("nan"), Bound(min=0))
    assert (nan.passed, nan.value, nan.detail) == (False, None, "not computable")
    checks = mc.metric_checks({"roc_auc": Bound(min=0.5)}, Y_TRUE, Y_PRED, None, [0, 1])
    assert checks[0].passed is False
    assert checks[0].detail == "the model gives no class probabilities"


def test_the_output_contract() -> None:
    good = mc.output_checks(OutputContract(classes=[0, 1]), 6, Y_PRED, PROBA)
    assert [(c.name, c.passed) for c in good] == [
        ("one prediction per row", True),
        ("no NaN", True),
        ("classes", True),
        ("probabilities sum to 1", True),
    ]
    bad_proba = PROBA.copy()
    bad_proba[0] = [0.9, 0.3]
    bad = mc.output_checks(
        OutputContract(classes=["0"]), 7, np.array([0, 1, 2, 1, 0, np.nan]), bad_proba
    )
    found = {c.name: c for c in bad}
    assert found["one prediction per row"].passed is False
    assert (found["no NaN"].passed, found["no NaN"].value) == (False, 1.0)
    assert found["classes"].passed is False and "1.0" in found["classes"].detail
    assert found["probabilities sum to 1"].passed is False
    plain = mc.output_checks(None, 3, ["a", "b", "a"], None)  # no probabilities, no classes
    assert [c.name for c in plain] == ["one prediction per row", "no NaN"]


def test_classes_come_from_the_predictor_or_the_labels() -> None:
    class NoClasses:
        def predict(self, frame: object) -> object: ...
        def predict_proba(self, frame: object) -> None: ...

    assert mc.classes_of(NoClasses(), ["b", "a"], ["c"]) == ["a", "b", "c"]
    x, y = load_iris(return_X_y=True, as_frame=True)
    assert mc.classes_of(LocalPredictor(LogisticRegression(max_iter=300).fit(x, y)), [], []) == [
        0,
        1,
        2,
    ]


def test_perturbations() -> None:
    frame = pd.DataFrame({"x": np.arange(100, dtype=float), "c": ["a"] * 60 + ["b"] * 40})
    noisy = mc.perturb(frame, InvarianceTest(column="x", scale=0.01))
    assert not noisy["x"].equals(frame["x"]) and (noisy["x"] - frame["x"]).abs().max() < 5
    assert noisy["c"].equals(frame["c"]) and frame["x"].iloc[3] == 3.0  # a copy
    shuffled = mc.perturb(frame, InvarianceTest(column="x", perturbation="shuffle"))
    assert sorted(shuffled["x"]) == list(frame["x"]) and not shuffled["x"].equals(frame["x"])
    constant = mc.perturb(frame, InvarianceTest(column="c", perturbation="constant"))
    assert set(constant["c"]) == {"a"}
    assert mc.perturb(frame, InvarianceTest(column="x", scale=0.01), seed=0).equals(noisy)


def test_invariance_of_a_real_model() -> None:
    x, y = load_iris(return_X_y=True, as_frame=True)
    predictor = LocalPredictor(DecisionTreeClassifier(random_state=0).fit(x, y))
    before = predictor.predict(x)
    tiny = InvarianceTest(column="sepal width (cm)", scale=0.0001, max_changed=0.05)
    shuffle = InvarianceTest(column="petal length (cm)", perturbation="shuffle", max_changed=0.05)
    assert mc.invariance_check("classification", predictor, x, before, tiny).passed is True
    broken = mc.invariance_check("classification", predictor, x, before, shuffle)
    assert broken.passed is False and broken.name == "petal length (cm) shuffle"
    assert broken.detail.endswith("of predictions changed")
    assert mc.changed_fraction("regression", [1.0, 2.0, 3.0], [1.0, 2.0, 3.001]) == 0.0
    assert mc.changed_fraction("regression", [1.0, 2.0, 3.0], [1.0, 2.5, 3.0]) == pytest.approx(
        1 / 3
    )


def test_latency_reports_each_batch_size_and_size_is_judged() -> None:
    x, y = load_iris(return_X_y=True, as_frame=True)
    predictor = LocalPredictor(DecisionTreeClassifier(random_state=0).fit(x, y))
    found = mc.latency_checks(predictor, x, LatencyTest(p95_ms=1e9, batch_sizes=[1, 500], runs=3))
    assert [c.name for c in found] == ["p50 batch 1", "p95 batch 1", "p50 batch 500",
                                       "p95 batch 500"]  # fmt: skip
    assert [c.passed for c in found] == [None, True, None, True]  # p50 has no bound: reported
    assert mc.size_check(2_500_000, 2).passed is False
    assert mc.size_check(1_500_000, 2).to_dict()["value"] == 1.5
    assert mc.CheckResult("x", "y", None, float("nan")).to_dict()["value"] is None
