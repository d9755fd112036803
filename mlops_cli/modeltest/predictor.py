"""A loaded estimator as a `modeltest.checks.Predictor`: what `mlops test` runs its checks on
(and the regression check scores the baseline with)."""

from __future__ import annotations

from typing import Any


class LocalPredictor:
    """A loaded estimator as a `Predictor`."""

    def __init__(self, model: Any) -> None:
        self.model = model
        classes = getattr(model, "classes_", None)
        self.classes = list(classes) if classes is not None else None

    def predict(self, frame: Any) -> Any:
        import numpy as np

        return np.asarray(self.model.predict(frame))

    def predict_proba(self, frame: Any) -> Any | None:
        if not hasattr(self.model, "predict_proba"):
            return None
        return self.model.predict_proba(frame)
