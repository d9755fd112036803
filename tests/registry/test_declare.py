"""registry/declare.py: `mlops model add` declares a model in mlops.yaml (comments kept,
validated, written atomically, staged when the file was clean), never replacing one."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from mlops_cli.common.errors import InputError, UnsafeError, UsageError
from mlops_cli.common.yamlio import parse_yaml
from mlops_cli.project.root import open_project
from mlops_cli.registry.declare import add

CONFIG = """\
schema_version: 1
project: demo   # the project's name
datasets:
  train:
    path: data/train.csv
    schema: schemas/train.yaml
"""


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "p"
    (root / "schemas").mkdir(parents=True)
    (root / "mlops.yaml").write_text(CONFIG)
    (root / "schemas" / "train.yaml").write_text(
        "columns:\n  x: {dtype: float64}\n  label: {dtype: int64}\n"
    )
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run(["git", "-C", str(root), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(root), "commit", "-qm", "init"], check=True)
    return root


def staged(root: Path) -> list[str]:
    out = subprocess.run(["git", "-C", str(root), "diff", "--cached", "--name-only"],
                         capture_output=True, text=True, check=True)  # fmt: skip
    return out.stdout.split()


def test_add_a_model_with_its_data_and_a_guessed_target(root: Path) -> None:
    warnings: list[str] = []

    class Reporter:
        def step(self, message: str) -> None: ...
        def detail(self, message: str) -> None: ...
        def warn(self, message: str) -> None:
            warnings.append(message)

    result = add(open_project(root), "churn", path="models/m.skops", data="train",
                 reporter=Reporter())  # fmt: skip
    assert result.entry == {
        "path": "models/m.skops",
        "format": "skops",
        "task": "classification",
        "target": "label",  # the schema's one label-like column
        "train_data": ["train"],
        "test_data": "train",
    }
    text = (root / "mlops.yaml").read_text()
    assert text.startswith(CONFIG)  # the user's text and comment kept, the model appended
    model = parse_yaml(text.encode(), "mlops.yaml").data["models"]["churn"]
    assert model == result.entry
    assert open_project(root).config.models["churn"].target == "label"
    assert result.staged == ["mlops.yaml"] and staged(root) == ["mlops.yaml"]
    assert warnings == ["models/m.skops does not exist yet: train the model to write it there"]


def test_a_dirty_config_is_written_but_not_staged(root: Path) -> None:
    (root / "mlops.yaml").write_text(CONFIG + "# my edit\n")
    result = add(open_project(root), "reg", path="m.joblib", data=None, task="regression",
                 target="y")  # fmt: skip
    assert result.entry["format"] == "joblib" and "train_data" not in result.entry
    assert result.staged == [] and staged(root) == []
    assert "# my edit\n" in (root / "mlops.yaml").read_text()


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"name": "9lives"}, UsageError, "model name '9lives' is not valid"),
        ({"path": "m.bin"}, UsageError, "cannot tell the format of m.bin"),
        ({"path": ".git/m.skops"}, InputError, r"\.git/m\.skops cannot be a model file"),
        ({"path": "../m.skops"}, UnsafeError, "outside"),
        ({"data": "nope"}, InputError, "data set 'nope' is not declared"),
        ({"data": None}, UsageError, "name the label column with --target COL"),
    ],
)
def test_refused_and_nothing_written(
    root: Path, kwargs: dict[str, object], error: type[Exception], message: str
) -> None:
    args: dict[str, object] = {"name": "m", "path": "m.skops", "data": "train", **kwargs}
    name = str(args.pop("name"))
    with pytest.raises(error, match=message):
        add(open_project(root), name, **args)  # type: ignore[arg-type]
    assert (root / "mlops.yaml").read_text() == CONFIG


def test_a_declared_name_is_never_replaced(root: Path) -> None:
    add(open_project(root), "churn", path="m.skops", data="train")
    before = (root / "mlops.yaml").read_text()
    with pytest.raises(InputError, match=r"model 'churn' is already declared in mlops\.yaml"):
        add(open_project(root), "churn", path="other.skops", data="train")
    assert (root / "mlops.yaml").read_text() == before


def test_the_formats_model_add_knows_are_the_ones_mlops_yaml_accepts() -> None:
    from typing import get_args

    from mlops_cli.project.config import Model
    from mlops_cli.registry.declare import FORMATS

    annotation = Model.model_fields["format"].annotation
    assert set(get_args(annotation)) == set(FORMATS)


def _native_models(folder: Path) -> dict[str, Path]:
    """Real XGBoost (JSON, UBJSON), LightGBM (text) and ONNX files, trained on iris."""
    import lightgbm
    import xgboost
    from skl2onnx import to_onnx
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    x, y = load_iris(return_X_y=True)
    folder.mkdir(parents=True, exist_ok=True)
    booster = xgboost.XGBClassifier(n_estimators=2, max_depth=2).fit(x, y)
    out = {"xgb.json": folder / "xgb.json", "xgb.ubj": folder / "xgb.ubj"}
    booster.save_model(out["xgb.json"])
    booster.save_model(out["xgb.ubj"])
    out["lgb.txt"] = folder / "lgb.txt"
    lightgbm.LGBMClassifier(n_estimators=2, verbose=-1).fit(x, y).booster_.save_model(
        out["lgb.txt"]
    )
    out["m.onnx"] = folder / "m.onnx"
    onnx = to_onnx(LogisticRegression(max_iter=200).fit(x, y), x[:1].astype("float32"))
    out["m.onnx"].write_bytes(onnx.SerializeToString())
    return out


def test_native_formats_are_told_by_suffix_or_first_bytes(root: Path) -> None:
    files = _native_models(root / "models")
    expected = {"xgb.json": "xgboost", "xgb.ubj": "xgboost", "lgb.txt": "lightgbm",
                "m.onnx": "onnx"}  # fmt: skip
    for i, (name, fmt) in enumerate(expected.items()):
        assert files[name].is_file()
        result = add(open_project(root), f"m{i}", path=f"models/{name}", data="train")
        assert result.entry["format"] == fmt, name
    # A JSON or text file that is no model is not guessed: the error names every format.
    (root / "models" / "notes.json").write_text('{"a": 1}\n')
    with pytest.raises(UsageError) as info:
        add(open_project(root), "notes", path="models/notes.json", data="train")
    assert "skops|xgboost|lightgbm|onnx|joblib|pickle" in (info.value.hint or "")
