"""A loaded model as a `modeltest.checks.Predictor`: what `mlops test` runs its checks on
(and the regression check scores the baseline with).

Every format answers the same interface (`runtime.formats.LoadedModel`); a scikit-learn
estimator (skops, joblib, pickle) is wrapped in it here.
"""

from __future__ import annotations

from typing import Any

from mlops_cli.runtime.formats import LoadedModel, as_loaded


class LocalPredictor:
    """A loaded model (any format) as a `Predictor`."""

    def __init__(self, model: Any, fmt: str = "skops") -> None:
        self.loaded: LoadedModel = as_loaded(model, fmt)
        # The estimator itself for scikit-learn (its feature_names_in_, n_features_in_).
        self.model = getattr(self.loaded, "model", self.loaded)

    @property
    def classes(self) -> list[Any] | None:
        return self.loaded.classes

    @property
    def input_columns(self) -> list[str] | None:
        return self.loaded.input_columns

    @property
    def kind(self) -> str | None:
        return self.loaded.kind

    def predict(self, frame: Any) -> Any:
        import numpy as np

        return np.asarray(self.loaded.predict(frame))

    def predict_proba(self, frame: Any) -> Any | None:
        return self.loaded.predict_proba(frame)
