"""The check families of `mlops test`, each a pure function of a predictor and a data frame.

Every function returns `CheckResult`s; `modeltests` decides the order and what to run.
Classification scores follow the template's `src/evaluate.py`: f1, precision and recall
are macro averages over the classes; roc_auc is one-vs-rest for more than two classes.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from mlops_cli.project.config import Bound, InvarianceTest, LatencyTest, OutputContract

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

CLASSIFICATION = ("accuracy", "balanced_accuracy", "f1", "precision", "recall", "roc_auc")
REGRESSION = ("r2", "mae", "rmse", "mape")
LOWER_IS_BETTER = frozenset({"mae", "rmse", "mape"})
MB = 1_000_000


class Predictor(Protocol):
    """What the checks need from a model: the loaded estimator, or a served container.

    `predict(frame)` returns one prediction per row (array-like); `predict_proba(frame)`
    returns class probabilities (rows x classes, in the order of `classes`) or None when the
    model has none. An implementation may also expose `classes` (list of labels); without
    it the classes are taken from the labels seen.
    """

    def predict(self, frame: Any) -> Any: ...

    def predict_proba(self, frame: Any) -> Any | None: ...


@dataclass(frozen=True)
class CheckResult:
    family: str  # schema, metrics, output, no_regression, slices, invariance, latency, size
    name: str
    passed: bool | None  # None: reported, not judged
    value: float | str | None = None
    bound: str | None = None
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        value = self.value
        if isinstance(value, float):
            value = None if math.isnan(value) else round(value, 6)
        return {
            "family": self.family,
            "name": self.name,
            "passed": self.passed,
            "value": value,
            "bound": self.bound,
            "detail": self.detail,
        }


def classes_of(predictor: Predictor, y_true: Any, y_pred: Any) -> list[Any]:
    import numpy as np

    known = getattr(predictor, "classes", None)
    if known is not None:
        return list(known)
    return sorted(set(np.asarray(y_true).tolist()) | set(np.asarray(y_pred).tolist()), key=str)


def score(
    metric: str, y_true: Any, y_pred: Any, proba: Any | None, classes: list[Any]
) -> float | None:
    """One metric; None when it cannot be computed (roc_auc without probabilities)."""
    import numpy as np
    from sklearn import metrics as m

    if metric == "accuracy":
        return float(m.accuracy_score(y_true, y_pred))
    if metric == "balanced_accuracy":
        return float(m.balanced_accuracy_score(y_true, y_pred))
    if metric in ("f1", "precision", "recall"):
        fn = {"f1": m.f1_score, "precision": m.precision_score, "recall": m.recall_score}[metric]
        return float(fn(y_true, y_pred, average="macro", zero_division=0))
    if metric == "roc_auc":
        if proba is None or len(set(np.asarray(y_true).tolist())) < 2:
            return None
        proba = np.asarray(proba, dtype=float)
        if proba.ndim == 2 and proba.shape[1] == 2:
            return float(m.roc_auc_score(np.asarray(y_true) == classes[1], proba[:, 1]))
        return float(m.roc_auc_score(y_true, proba, multi_class="ovr", labels=classes))
    if metric == "r2":
        return float(m.r2_score(y_true, y_pred))
    if metric == "mae":
        return float(m.mean_absolute_error(y_true, y_pred))
    if metric == "rmse":
        return float(math.sqrt(m.mean_squared_error(y_true, y_pred)))
    if metric == "mape":  # a fraction (0.1 = 10%); scikit-learn's, huge when a label is ~0
        return float(m.mean_absolute_percentage_error(y_true, y_pred))
    raise ValueError(f"unknown metric {metric}")


def describe(bound: Bound) -> str:
    parts = []
    if bound.min is not None:
        parts.append(f">= {bound.min:g}")
    if bound.max is not None:
        parts.append(f"<= {bound.max:g}")
    return " and ".join(parts)


def judge(
    family: str, name: str, value: float | None, bound: Bound, detail: str = ""
) -> CheckResult:
    if value is None or math.isnan(value):
        return CheckResult(family, name, False, None, describe(bound), detail or "not computable")
    ok = (bound.min is None or value >= bound.min) and (bound.max is None or value <= bound.max)
    return CheckResult(family, name, ok, value, describe(bound), detail)


def metric_checks(
    floors: Mapping[Any, Bound], y_true: Any, y_pred: Any, proba: Any, classes: list[Any]
) -> list[CheckResult]:
    out = []
    for metric, bound in floors.items():
        value = score(metric, y_true, y_pred, proba, classes)
        why = "the model gives no class probabilities" if value is None else ""
        out.append(judge("metrics", metric, value, bound, why))
    return out


def output_checks(
    contract: OutputContract | None,
    rows: int,
    y_pred: Any,
    proba: Any | None,
    task: str = "classification",
) -> list[CheckResult]:
    """The output contract: one prediction per row, no NaN, and per task the labels and
    probabilities (classification) or numeric, finite values within [min, max] (regression)."""
    import numpy as np

    contract = contract or OutputContract()
    pred = np.asarray(y_pred)
    out = [
        CheckResult(
            "output", "one prediction per row", len(pred) == rows, float(len(pred)), f"== {rows}"
        )
    ]
    if task == "regression":
        return out + _regression_output(contract, pred)
    if contract.no_nan:
        bad = int(_nan_count(pred)) + (
            int(_nan_count(np.asarray(proba))) if proba is not None else 0
        )
        out.append(CheckResult("output", "no NaN", bad == 0, float(bad), "== 0"))
    if contract.classes is not None:
        allowed = {str(c) for c in contract.classes}
        unknown = sorted({str(v) for v in pred.tolist()} - allowed)
        out.append(
            CheckResult(
                "output",
                "classes",
                not unknown,
                ", ".join(unknown[:5]) or "none outside",
                f"in {sorted(allowed)}",
                f"unexpected labels: {', '.join(unknown[:5])}" if unknown else "",
            )
        )
    if proba is not None:
        p = np.asarray(proba, dtype=float)
        worst = float(np.max(np.abs(p.sum(axis=1) - 1.0))) if p.ndim == 2 and len(p) else 0.0
        in_range = bool(np.all((p >= -1e-9) & (p <= 1 + 1e-9))) if p.size else True
        out.append(
            CheckResult(
                "output",
                "probabilities sum to 1",
                worst <= 1e-6 and in_range,
                worst,
                "<= 1e-06",
            )
        )
    return out


def _regression_output(contract: OutputContract, pred: np.ndarray) -> list[CheckResult]:
    import numpy as np

    shape = "x".join(str(d) for d in pred.shape)
    out = [
        CheckResult(
            "output",
            "one value per row",
            pred.ndim == 1,
            shape,
            "a 1-D array",
            "" if pred.ndim == 1 else f"the model returned an array of shape {shape}",
        )
    ]
    try:
        values = pred.astype(float).reshape(-1)
    except (TypeError, ValueError):
        detail = f"predictions of dtype {pred.dtype} are not numbers"
        return [*out, CheckResult("output", "numeric", False, str(pred.dtype), "numbers", detail)]
    if contract.no_nan:
        bad = int(np.sum(~np.isfinite(values)))
        # The name the promotion gate expects (registry/gate.py); infinity counts too.
        detail = f"{bad} NaN or infinite value(s)" if bad else ""
        out.append(CheckResult("output", "no NaN", bad == 0, float(bad), "== 0", detail))
    if contract.min is not None or contract.max is not None:
        finite = values[np.isfinite(values)]
        low = finite < contract.min if contract.min is not None else np.zeros(len(finite), bool)
        high = finite > contract.max if contract.max is not None else np.zeros(len(finite), bool)
        outside = int(np.sum(low | high))
        bound = describe(Bound(min=contract.min, max=contract.max))
        seen = f"predictions span {finite.min():.4g}..{finite.max():.4g}" if finite.size else ""
        out.append(
            CheckResult("output", "range", outside == 0, float(outside), bound,
                        f"{outside} outside; {seen}" if outside else seen)
        )  # fmt: skip
    return out


def _nan_count(values: np.ndarray) -> int:
    import pandas as pd

    return int(pd.isna(values.reshape(-1)).sum()) if values.size else 0


def changed_fraction(task: str, before: Any, after: Any) -> float:
    """Share of predictions that changed; for a regressor, by more than 1% of their std."""
    import numpy as np

    a, b = np.asarray(before), np.asarray(after)
    if task == "regression":
        tol = 0.01 * float(np.std(a.astype(float))) or 1e-12
        return float(np.mean(np.abs(a.astype(float) - b.astype(float)) > tol))
    return float(np.mean(a != b))


def perturb(frame: pd.DataFrame, test: InvarianceTest, seed: int = 0) -> pd.DataFrame:
    """A copy of `frame` with `test.column` perturbed (noise, shuffle or constant)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    out = frame.copy()
    col = out[test.column]
    if test.perturbation == "shuffle":
        out[test.column] = rng.permutation(col.to_numpy())
    elif test.perturbation == "constant":
        out[test.column] = col.median() if pd.api.types.is_numeric_dtype(col) else col.mode()[0]
    else:
        std = float(col.std()) if len(col) > 1 else 0.0
        noise = rng.normal(0.0, test.scale * (std or 1.0), len(col))
        out[test.column] = (col.astype(float) + noise).astype(col.dtype)
    return out


def invariance_check(
    task: str, predictor: Predictor, frame: pd.DataFrame, before: Any, test: InvarianceTest
) -> CheckResult:
    after = predictor.predict(perturb(frame, test))
    share = changed_fraction(task, before, after)
    name = f"{test.column} {test.perturbation}" + (
        f" x{test.scale:g}" if test.perturbation == "noise" else ""
    )
    return CheckResult(
        "invariance",
        name,
        share <= test.max_changed,
        share,
        f"<= {test.max_changed:g} changed",
        f"{share:.1%} of predictions changed",
    )


def latency_checks(
    predictor: Predictor, frame: pd.DataFrame, test: LatencyTest
) -> list[CheckResult]:
    import numpy as np

    out = []
    for size in test.batch_sizes:
        batch = frame.sample(n=size, replace=len(frame) < size, random_state=0)
        for _ in range(min(3, test.runs)):  # warm caches and lazy imports
            predictor.predict(batch)
        samples = []
        for _ in range(test.runs):
            start = time.perf_counter()
            predictor.predict(batch)
            samples.append((time.perf_counter() - start) * 1000)
        for label, pct, limit in (("p50", 50, test.p50_ms), ("p95", 95, test.p95_ms)):
            value = float(np.percentile(samples, pct))
            out.append(
                CheckResult(
                    "latency",
                    f"{label} batch {size}",
                    None if limit is None else value <= limit,
                    value,
                    None if limit is None else f"<= {limit:g} ms",
                    f"{test.runs} runs",
                )
            )
    return out


def size_check(size_bytes: int, max_mb: float) -> CheckResult:
    value = size_bytes / MB
    return CheckResult("size", "artifact size MB", value <= max_mb, value, f"<= {max_mb:g} MB")
