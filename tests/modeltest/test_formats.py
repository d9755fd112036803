"""Every model format and task through `mlops test`, as a user runs it (a real subprocess).

Real XGBoost and LightGBM boosters and skl2onnx exports, trained on iris and diabetes
(tests/modeltest/formatproject.py); a wrong `format:` is exit 3 saying what the file looks
like; a pickle disguised as a model of another format is never unpickled; a missing
framework is exit 3 naming the extra.
"""

from __future__ import annotations

import pickle
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.modeltest import formatproject as fp

pytestmark = pytest.mark.timeout(600)


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, check=True, capture_output=True, text=True
    ).stdout


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = fp.make(tmp_path_factory.mktemp("formats") / "formats")
    return root


@pytest.fixture
def project(trained: Path, tmp_path: Path) -> Path:
    root = tmp_path / "formats"
    shutil.copytree(trained, root)
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "models of every format")
    return root


def checks_of(run: Any) -> dict[str, dict[str, Any]]:
    return {f"{c['family']}: {c['name']}": c for c in run.json()["checks"]}


def set_in_config(root: Path, old: str, new: str, count: int = 1) -> None:
    path = root / "mlops.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, count), encoding="utf-8")


@pytest.mark.parametrize("name", sorted(fp.MODELS))
def test_each_format_and_task_passes_its_declared_checks(
    mlops: Any, project: Path, name: str
) -> None:
    run = mlops("test", name, "--json", cwd=project)
    assert run.exit_code == 0, run.stdout + run.stderr
    checks = checks_of(run)
    assert all(c["passed"] is not False for c in checks.values())
    task = fp.MODELS[name][2]
    if task == "regression":
        for metric in ("rmse", "mae", "r2", "mape"):
            assert checks[f"metrics: {metric}"]["passed"] is True
        assert checks["output: range"]["passed"] is True
        assert checks["output: one value per row"]["passed"] is True
        assert "output: probabilities sum to 1" not in checks
        assert {k for k in checks if k.startswith("slices: sex=")} == {
            "slices: sex=0 rmse",
            "slices: sex=0 r2",
            "slices: sex=1 rmse",
            "slices: sex=1 r2",
        }
        assert 0.4 <= checks["metrics: r2"]["value"] <= 1
    else:
        assert checks["metrics: roc_auc"]["value"] >= 0.95  # probabilities were read
        assert checks["output: probabilities sum to 1"]["passed"] is True
        assert checks["output: classes"]["passed"] is True
    assert (
        "invariance: " + ("bmi" if task == "regression" else "sepal_width") + (" noise x0.001")
        in checks
    )
    assert checks["latency: p95 batch 50"]["passed"] is True


@pytest.mark.parametrize("name", ["xgb_reg", "lgb_reg", "onnx_reg"])
def test_a_regression_floor_or_ceiling_can_fail(mlops: Any, project: Path, name: str) -> None:
    block = f"  {name}:\n"
    text = (project / "mlops.yaml").read_text(encoding="utf-8")
    start = text.index(block)
    end = text.find("\n  ", start + len(block) + 1)
    while end != -1 and text[end + 3] == " ":
        end = text.find("\n  ", end + 1)
    mine = text[start:] if end == -1 else text[start:end]
    edited = mine.replace("r2: {min: 0.4}", "r2: {min: 0.99}").replace(
        "output: {min: 0, max: 400}", "output: {min: 0, max: 100}"
    )
    (project / "mlops.yaml").write_text(text.replace(mine, edited), encoding="utf-8")
    run = mlops("test", name, "--json", cwd=project)
    assert run.exit_code == 1, run.stdout + run.stderr
    checks = checks_of(run)
    assert checks["metrics: r2"]["passed"] is False
    assert checks["output: range"]["passed"] is False
    assert checks["output: range"]["value"] > 0  # predictions above 100
    assert checks["metrics: rmse"]["passed"] is True


def test_no_regression_against_prod_for_a_native_regressor(mlops: Any, project: Path) -> None:
    """register -> test --record -> promote for an XGBoost UBJSON model; a worse booster in
    the work tree then fails rmse and r2 against the version in prod."""
    set_in_config(
        project,
        "  xgb_reg:\n    path: models/xgb_reg.ubj\n    format: xgboost\n    task: regression\n"
        "    target: target\n    test_data: diabetes\n    tests:\n",
        "  xgb_reg:\n    path: models/xgb_reg.ubj\n    format: xgboost\n    task: regression\n"
        "    target: target\n    test_data: diabetes\n    tests:\n"
        "      no_regression: {stage: prod, metrics: [rmse, r2, mape], tolerance: 0.01}\n",
    )
    git(project, "commit", "-qam", "no regression")
    for args in (
        ("model", "register", "xgb_reg", "--version", "v1.0.0"),
        ("test", "xgb_reg@v1.0.0", "--record"),
        ("model", "promote", "xgb_reg", "v1.0.0", "prod"),
    ):
        run = mlops(*args, cwd=project)
        assert run.exit_code == 0, (args, run.stdout, run.stderr)
    import xgboost as xgb

    _, diabetes = fp.frames()
    weak = xgb.XGBRegressor(n_estimators=2, max_depth=1)
    weak.fit(diabetes.drop(columns=["target"]), diabetes["target"])
    weak.save_model(str(project / "models" / "xgb_reg.ubj"))
    run = mlops("test", "xgb_reg", "--json", cwd=project)
    assert run.exit_code == 1
    checks = checks_of(run)
    rmse = checks["no_regression: rmse vs xgb_reg@v1.0.0 (prod)"]
    assert rmse["passed"] is False and rmse["value"] > 50
    assert rmse["detail"].startswith("xgb_reg@v1.0.0: 3")  # the baseline's rmse, ~36
    assert checks["no_regression: r2 vs xgb_reg@v1.0.0 (prod)"]["passed"] is False
    # The version in prod, compared with itself, passes.
    run = mlops("test", "xgb_reg#prod", "--json", cwd=project)
    assert checks_of(run)["no_regression: vs prod"]["passed"] is True


@pytest.mark.parametrize(
    ("name", "declared", "looks"),
    [
        ("xgb_cls", "lightgbm", "looks like an XGBoost JSON model"),
        ("xgb_reg", "onnx", "looks like an XGBoost UBJSON model"),
        ("lgb_cls", "xgboost", "looks like a LightGBM text model"),
        ("onnx_reg", "lightgbm", "looks like an ONNX model (protobuf)"),
        ("skl_reg", "xgboost", "looks like a zip archive (a skops file?)"),
        ("onnx_cls", "pickle", "looks like an ONNX model (protobuf)"),
        ("lgb_reg", "skops", "looks like a LightGBM text model"),
    ],
)
def test_a_wrong_format_is_exit_3_saying_what_the_file_looks_like(
    mlops: Any, project: Path, name: str, declared: str, looks: str
) -> None:
    path, fmt, _ = fp.MODELS[name]
    set_in_config(
        project, f"path: {path}\n    format: {fmt}", f"path: {path}\n    format: {declared}"
    )
    run = mlops("test", name, cwd=project)
    assert run.exit_code == 3, run.stdout + run.stderr
    assert looks in run.stderr
    if declared != "skops":
        assert f"declared {declared}" in run.stderr
    if name != "skl_reg" and declared != "skops":
        assert f"format: {fmt}" in run.stderr  # the hint names the right one


def test_a_task_the_file_contradicts_is_exit_3(mlops: Any, project: Path) -> None:
    set_in_config(project, "  xgb_cls:\n    path: models/xgb_cls.json\n    format: xgboost\n"
                  "    task: classification", "  xgb_cls:\n    path: models/xgb_cls.json\n"
                  "    format: xgboost\n    task: regression")  # fmt: skip
    text = (project / "mlops.yaml").read_text(encoding="utf-8")
    block = text[text.index("  xgb_cls:") : text.index("  xgb_reg:")]
    (project / "mlops.yaml").write_text(
        text.replace(block, block.split("    tests:")[0] + "    tests: {}\n"), encoding="utf-8"
    )
    run = mlops("test", "xgb_cls", cwd=project)
    assert run.exit_code == 3, run.stdout + run.stderr
    assert "task is regression, but the model file holds a classifier" in run.stderr


def test_output_contract_keys_of_the_other_task_are_exit_3(mlops: Any, project: Path) -> None:
    set_in_config(project, "output: {min: 0, max: 400}", "output: {classes: [0, 1]}")
    run = mlops("test", "xgb_reg", cwd=project)
    assert run.exit_code == 3
    assert "output.classes does not apply to a regression model" in run.stderr
    set_in_config(project, "output: {classes: [0, 1, 2]}", "output: {min: 0}")
    run = mlops("test", "xgb_cls", cwd=project)
    assert run.exit_code == 3
    assert "apply to a regression model, not to a classification one" in run.stderr


class Gadget:
    """Unpickling this creates the marker file: proof that the pickle was executed."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> Any:
        return (Path.touch, (self.marker,))


@pytest.mark.parametrize(
    ("name", "suffix"),
    [("xgb_cls", ".json"), ("xgb_reg", ".ubj"), ("lgb_reg", ".txt"), ("onnx_cls", ".onnx")],
)
@pytest.mark.parametrize("protocol", [0, 2, 5])
def test_a_pickle_disguised_as_a_model_file_is_never_executed(
    mlops: Any, project: Path, tmp_path: Path, name: str, suffix: str, protocol: int
) -> None:
    marker = tmp_path / "pwned"
    path, fmt, _ = fp.MODELS[name]
    assert path.endswith(suffix)
    (project / path).write_bytes(pickle.dumps(Gadget(marker), protocol=protocol))
    git(project, "commit", "-qam", "a pickle named like a model")
    for args in (("test", name), ("test", name, "--trust")):
        run = mlops(*args, cwd=project)
        assert run.exit_code == 3, run.stdout + run.stderr
        assert f"declared {fmt} but looks like a pickle" in run.stderr
        assert not marker.exists()


BLOCKER = """
import importlib.abc, sys

class _Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] == {module!r}:
            raise ImportError(f"No module named {{name!r}} (blocked by the test)")
        return None

sys.meta_path.insert(0, _Block())
"""


@pytest.mark.parametrize(
    ("name", "module", "extra"),
    [("xgb_reg", "xgboost", "xgboost"), ("lgb_cls", "lightgbm", "lightgbm"),
     ("onnx_reg", "onnxruntime", "onnx")],
)  # fmt: skip
def test_a_missing_framework_is_exit_3_naming_the_extra(
    mlops: Any, project: Path, tmp_path: Path, name: str, module: str, extra: str
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(BLOCKER.format(module=module), encoding="utf-8")
    import os

    env = {**os.environ, "PYTHONPATH": str(site)}
    proof = subprocess.run(
        [shutil.which("python") or "python", "-c", f"import {module}"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert proof.returncode != 0 and "blocked by the test" in proof.stderr
    run = mlops("test", name, cwd=project, env=env)
    assert run.exit_code == 3, run.stdout + run.stderr
    assert f"pip install 'mlops-cli[{extra}]'" in run.stderr
    assert f"need {module}, which is not installed" in run.stderr
    # The other formats still load: only the missing framework's models are refused.
    other = "skl_reg"
    assert mlops("test", other, cwd=project, env=env).exit_code == 0


def test_onnx_export_agrees_with_the_scikit_learn_model(project: Path) -> None:
    """skl_reg and onnx_reg are the same LinearRegression; ONNX computes in float32."""
    import numpy as np

    from mlops_cli.modeltest.load import load_model
    from mlops_cli.modeltest.predictor import LocalPredictor
    from mlops_cli.project.root import open_project

    p = open_project(project)
    _, diabetes = fp.frames()
    features = diabetes.drop(columns=["target"])
    native = LocalPredictor(load_model(project / "models/skl_reg.skops", "skops", project=p))
    onnx = LocalPredictor(load_model(project / "models/onnx_reg.onnx", "onnx", project=p), "onnx")
    np.testing.assert_allclose(onnx.predict(features), native.predict(features), rtol=1e-4)
