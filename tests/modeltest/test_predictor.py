"""modeltest/predictor.py: a loaded estimator as the Predictor the checks run on."""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_iris
from sklearn.linear_model import LinearRegression, LogisticRegression

from mlops_cli.modeltest.predictor import LocalPredictor


def test_a_classifier() -> None:
    x, y = load_iris(return_X_y=True, as_frame=True)
    predictor = LocalPredictor(LogisticRegression(max_iter=500).fit(x, y))
    assert predictor.classes == [0, 1, 2]
    predicted = predictor.predict(x)
    assert isinstance(predicted, np.ndarray) and predicted.shape == (150,)
    assert (predicted == y.to_numpy()).mean() > 0.9
    proba = predictor.predict_proba(x)
    assert proba is not None and proba.shape == (150, 3)
    assert np.allclose(proba.sum(axis=1), 1)


class ListModel:
    """A model whose predict returns a list (as some wrappers do)."""

    def predict(self, frame: list[float]) -> list[float]:
        return [v * 2 for v in frame]


def test_a_regressor_and_a_plain_model() -> None:
    x = np.arange(10, dtype=float).reshape(-1, 1)
    predictor = LocalPredictor(LinearRegression().fit(x, 3 * x[:, 0] + 1))
    assert predictor.classes is None
    assert predictor.predict_proba(x) is None
    assert np.allclose(predictor.predict(x), 3 * x[:, 0] + 1)
    plain = LocalPredictor(ListModel())
    out = plain.predict([1.0, 2.0])
    assert isinstance(out, np.ndarray) and out.tolist() == [2.0, 4.0]
    assert plain.classes is None and plain.predict_proba([1.0]) is None
