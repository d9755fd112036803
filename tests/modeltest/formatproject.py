"""A project holding really trained models of every format and task (docs/models.md).

XGBoost and LightGBM boosters, and scikit-learn models exported to ONNX by skl2onnx, fit on
scikit-learn's iris (classification) and diabetes (regression) sets, saved in each
framework's own format; the test data are the very rows they were fit on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

# name: (file, format, task)
MODELS: dict[str, tuple[str, str, str]] = {
    "xgb_cls": ("models/xgb_cls.json", "xgboost", "classification"),
    "xgb_reg": ("models/xgb_reg.ubj", "xgboost", "regression"),
    "lgb_cls": ("models/lgb_cls.txt", "lightgbm", "classification"),
    "lgb_reg": ("models/lgb_reg.txt", "lightgbm", "regression"),
    "onnx_cls": ("models/onnx_cls.onnx", "onnx", "classification"),
    "onnx_reg": ("models/onnx_reg.onnx", "onnx", "regression"),
    "skl_reg": ("models/skl_reg.skops", "skops", "regression"),
}

CLASSIFICATION_TESTS = """\
      metrics: {accuracy: {min: 0.9}, f1: {min: 0.9}, roc_auc: {min: 0.95}}
      output: {classes: [0, 1, 2]}
      invariance:
        - {column: sepal_width, perturbation: noise, scale: 0.001, max_changed: 0.05}
      latency: {p95_ms: 5000, batch_sizes: [1, 50], runs: 3}
      max_size_mb: 5
"""
REGRESSION_TESTS = """\
      metrics: {rmse: {max: 60}, mae: {max: 50}, r2: {min: 0.4}, mape: {max: 0.5}}
      output: {min: 0, max: 400}
      slices:
        - {column: sex, metrics: {rmse: {max: 70}, r2: {min: 0.2}}, min_rows: 10}
      invariance:
        - {column: bmi, perturbation: noise, scale: 0.001, max_changed: 0.2}
      latency: {p95_ms: 5000, batch_sizes: [1, 50], runs: 3}
      max_size_mb: 5
"""


def frames() -> tuple[Any, Any]:
    from sklearn.datasets import load_diabetes, load_iris

    iris = load_iris(as_frame=True).frame
    iris.columns = [c.replace(" (cm)", "").replace(" ", "_") for c in iris.columns]
    diabetes = load_diabetes(as_frame=True).frame
    diabetes["sex"] = (diabetes["sex"] > 0).astype(int)  # two values: a slice column
    return iris, diabetes


def train(root: Path, which: tuple[str, ...] = tuple(MODELS)) -> None:
    """Fit and save every model named in `which` under root/models."""
    import lightgbm as lgb
    import skops.io as sio
    import xgboost as xgb
    from skl2onnx import to_onnx
    from sklearn.linear_model import LinearRegression, LogisticRegression

    iris, diabetes = frames()
    xc, yc = iris.drop(columns=["target"]), iris["target"]
    xr, yr = diabetes.drop(columns=["target"]), diabetes["target"]
    (root / "models").mkdir(parents=True, exist_ok=True)

    def out(name: str) -> str:
        return str(root / MODELS[name][0])

    if "xgb_cls" in which:
        xgb.XGBClassifier(n_estimators=10, max_depth=2).fit(xc, yc).save_model(out("xgb_cls"))
    if "xgb_reg" in which:
        xgb.XGBRegressor(n_estimators=30, max_depth=3).fit(xr, yr).save_model(out("xgb_reg"))
    if "lgb_cls" in which:
        lgb.LGBMClassifier(n_estimators=10, verbose=-1).fit(xc, yc).booster_.save_model(
            out("lgb_cls")
        )
    if "lgb_reg" in which:
        lgb.LGBMRegressor(n_estimators=30, verbose=-1).fit(xr, yr).booster_.save_model(
            out("lgb_reg")
        )
    if "onnx_cls" in which:
        clf = LogisticRegression(max_iter=1000).fit(xc, yc)
        onx = to_onnx(clf, xc.to_numpy()[:1].astype(np.float32))
        Path(out("onnx_cls")).write_bytes(onx.SerializeToString())
    if "onnx_reg" in which:
        reg = LinearRegression().fit(xr, yr)
        onx = to_onnx(reg, xr.to_numpy()[:1].astype(np.float32))
        Path(out("onnx_reg")).write_bytes(onx.SerializeToString())
    if "skl_reg" in which:
        sio.dump(LinearRegression().fit(xr, yr), out("skl_reg"))


def config(models: dict[str, tuple[str, str, str]] = MODELS) -> str:
    lines = [
        "project: formats",
        "stages: [dev, staging, prod]",
        "datasets:",
        "  iris: {path: data/iris.csv}",
        "  diabetes: {path: data/diabetes.csv}",
        "models:",
    ]
    for name, (path, fmt, task) in models.items():
        data = "iris" if task == "classification" else "diabetes"
        lines += [
            f"  {name}:",
            f"    path: {path}",
            f"    format: {fmt}",
            f"    task: {task}",
            "    target: target",
            f"    test_data: {data}",
            "    tests:",
        ]
        tests = CLASSIFICATION_TESTS if task == "classification" else REGRESSION_TESTS
        lines.append(tests.rstrip("\n"))
    return "\n".join(lines) + "\n"


def make(root: Path, which: tuple[str, ...] = tuple(MODELS)) -> Path:
    """A project (not yet a git repository) with the models of `which`, trained."""
    iris, diabetes = frames()
    (root / "data").mkdir(parents=True, exist_ok=True)
    iris.to_csv(root / "data" / "iris.csv", index=False)
    diabetes.to_csv(root / "data" / "diabetes.csv", index=False)
    (root / "mlops.yaml").write_text(config({n: MODELS[n] for n in which}), encoding="utf-8")
    train(root, which)
    return root
