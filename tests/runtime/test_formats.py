"""runtime/formats.py and the runtime's model folder for the native formats: real XGBoost,
LightGBM and ONNX files, served through `runtime.model.load` as the image serves them."""

from __future__ import annotations

import hashlib
import json
import pickle
from pathlib import Path
from typing import Any

import pytest
import skops.io as sio
from sklearn.linear_model import LinearRegression

from mlops_cli.runtime import formats
from mlops_cli.runtime.model import METADATA_FILE, METADATA_SCHEMA_VERSION, ModelLoadError, load
from tests.modeltest import formatproject as fp


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("models")
    fp.train(root)
    return root


def folder_for(tmp_path: Path, src: Path, fmt: str, task: str) -> Path:
    folder = tmp_path / "model"
    folder.mkdir()
    name = f"model{src.suffix}"
    (folder / name).write_bytes(src.read_bytes())
    iris, diabetes = fp.frames()
    frame = iris if task == "classification" else diabetes
    metadata: dict[str, Any] = {
        "schema_version": METADATA_SCHEMA_VERSION,
        "model": "m",
        "version": "v1.0.0",
        "artifact": {
            "file": name,
            "format": fmt,
            "sha256": hashlib.sha256((folder / name).read_bytes()).hexdigest(),
        },
        "target": "target",
        "input": {
            "columns": {c: {"dtype": "float64"} for c in frame.columns if c != "target"},
            "strict": True,
        },
    }
    (folder / METADATA_FILE).write_text(json.dumps(metadata))
    return folder


@pytest.mark.parametrize("name", sorted(fp.MODELS))
def test_the_runtime_serves_every_format(models: Path, tmp_path: Path, name: str) -> None:
    path, fmt, task = fp.MODELS[name]
    served = load(folder_for(tmp_path, models / path, fmt, task))
    iris, diabetes = fp.frames()
    frame = (iris if task == "classification" else diabetes).drop(columns=["target"])
    records = json.loads(frame.head(5).to_json(orient="records"))
    result = served.predict(records)
    assert len(result["predictions"]) == 5
    if task == "classification":
        assert result["classes"] == [0, 1, 2]
        assert len(result["probabilities"][0]) == 3
        assert abs(sum(result["probabilities"][0]) - 1) < 1e-5
        assert set(result["predictions"]) <= {0, 1, 2}
    else:
        assert result["probabilities"] is None
        assert all(isinstance(v, float) for v in result["predictions"])
        assert 25 < sum(result["predictions"]) / 5 < 350  # diabetes targets: 25..346


def test_sniff_names_what_real_files_look_like(models: Path, tmp_path: Path) -> None:
    def head(rel: str) -> bytes:
        return (models / rel).read_bytes()[:4096]

    assert formats.sniff(head("models/xgb_cls.json")) == "an XGBoost JSON model"
    assert formats.sniff(head("models/xgb_reg.ubj")) == "an XGBoost UBJSON model"
    assert formats.sniff(head("models/lgb_cls.txt")) == "a LightGBM text model"
    assert formats.sniff(head("models/onnx_cls.onnx")) == "an ONNX model (protobuf)"
    assert formats.sniff(head("models/skl_reg.skops")) == "a zip archive (a skops file?)"
    assert formats.sniff(pickle.dumps([1], protocol=4)) == "a pickle (protocol 4 opcodes)"
    assert formats.sniff(pickle.dumps(Path, protocol=0)) == "a pickle (protocol 0 text opcodes)"
    assert formats.sniff(b'{"a": 1}') == "a JSON document (not an XGBoost model)"
    assert formats.sniff(b"hello world") == "a text file starting 'hello world'"
    for rel, fmt in (
        ("models/xgb_cls.json", "xgboost"),
        ("models/xgb_reg.ubj", "xgboost"),
        ("models/lgb_reg.txt", "lightgbm"),
        ("models/onnx_reg.onnx", "onnx"),
    ):
        assert formats.matches(fmt, head(rel))
        others = [f for f in formats.NATIVE if f != fmt]
        assert not any(formats.matches(o, head(rel)) for o in others)


def test_each_loaded_model_says_its_columns_kind_and_outputs(models: Path) -> None:
    xgb = formats.load_native(models / "models/xgb_cls.json", "xgboost")
    assert xgb.input_columns == ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    assert (xgb.kind, xgb.classes) == ("classifier", [0, 1, 2])
    lgb = formats.load_native(models / "models/lgb_reg.txt", "lightgbm")
    assert lgb.kind == "regressor" and lgb.input_columns is not None
    assert "bmi" in lgb.input_columns
    onnx = formats.load_native(models / "models/onnx_cls.onnx", "onnx")
    assert onnx.kind == "classifier"
    assert onnx.output_names == ["output_label", "output_probability"]
    sk = formats.as_loaded(sio.load(models / "models/skl_reg.skops", trusted=[]))
    assert sk.kind == "regressor"
    assert isinstance(sk, formats.SklearnModel) and isinstance(sk.model, LinearRegression)


class Gadget:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> Any:
        return (Path.touch, (self.marker,))


@pytest.mark.parametrize(("fmt", "suffix"), [("xgboost", ".json"), ("onnx", ".onnx")])
def test_the_runtime_never_unpickles_a_pickle_declared_native(
    tmp_path: Path, fmt: str, suffix: str
) -> None:
    marker = tmp_path / "pwned"
    src = tmp_path / f"evil{suffix}"
    src.write_bytes(pickle.dumps(Gadget(marker)))
    folder = folder_for(tmp_path, src, fmt, "regression")
    with pytest.raises(ModelLoadError, match=f"declared {fmt} but looks like a pickle"):
        load(folder)
    assert not marker.exists()


def test_a_truncated_native_file_is_a_load_error(models: Path, tmp_path: Path) -> None:
    src = tmp_path / "cut.json"
    src.write_bytes((models / "models/xgb_cls.json").read_bytes()[:500])
    with pytest.raises(ModelLoadError, match="XGBoost cannot read it"):
        load(folder_for(tmp_path, src, "xgboost", "classification"))
