"""One small interface over every model format, shared by `mlops test`, serving and the image.

Contract:

    sniff(head) -> str
        what the first bytes of a file look like ("an ONNX model (protobuf)", "a pickle
        (protocol 4 opcodes)", ...), read without parsing or loading anything.
    matches(fmt, head) -> bool
        whether `head` can start a file of the declared format.
    load_native(path, fmt) -> LoadedModel
        xgboost (its JSON or UBJSON model file), lightgbm (its text model file) or onnx
        (through onnxruntime): data formats that hold no code, loaded by the framework's own
        parser. `MissingExtra` when the framework is not installed.
    as_loaded(obj) -> LoadedModel
        a scikit-learn-like estimator (skops, joblib, pickle) under the same interface.

`LoadedModel`: `predict(frame)` (one value per row, a 1-D array), `predict_proba(frame)`
(rows x classes, or None), `classes` (labels in the order of the probability columns, or
None), `input_columns` (the columns it takes, in order, or None when the file does not
say), `output_names`, and `kind` ("classifier", "regressor" or None) as the file says.

The framework imports happen inside the functions: importing this module costs nothing,
so `mlops --help` and the hooks never load xgboost, lightgbm or onnxruntime.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

NATIVE = ("xgboost", "lightgbm", "onnx")
EXTRA = {"xgboost": "xgboost", "lightgbm": "lightgbm", "onnx": "onnx"}
MODULE = {"xgboost": "xgboost", "lightgbm": "lightgbm", "onnx": "onnxruntime"}

# ModelProto's first fields: ir_version (1, varint) then producer_name (2), producer_version
# (3), domain (4), model_version (5), doc_string (6), graph (7) or opset_import (8).
_ONNX_NEXT_TAGS = frozenset({0x12, 0x1A, 0x22, 0x28, 0x32, 0x3A, 0x42, 0x72})
_COMPRESSED = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ", b"\x5d\x00\x00", b'\x04"M\x18', b"ZF")
_UBJSON_MARKERS = frozenset(b"iUIlLdDSHCTFZN")


class MissingExtra(ImportError):
    """The framework a format needs is not installed: `pip install 'mlops-cli[EXTRA]'`."""

    def __init__(self, fmt: str, error: BaseException) -> None:
        self.fmt, self.extra, self.module = fmt, EXTRA[fmt], MODULE[fmt]
        super().__init__(
            f"{fmt} models need {self.module}, which is not installed ({error}):"
            f" pip install 'mlops-cli[{self.extra}]'"
        )


class FormatError(ValueError):
    """The file is not a readable model of its declared format (truncated, corrupt)."""


def require(fmt: str) -> Any:
    """The framework module of a native format, imported now; MissingExtra if absent."""
    try:
        return importlib.import_module(MODULE[fmt])
    except ImportError as exc:
        raise MissingExtra(fmt, exc) from None


def _is_onnx(head: bytes) -> bool:
    if len(head) < 3 or head[0] != 0x08:
        return False
    i = 1
    while i < len(head) and head[i] & 0x80:  # the ir_version varint
        i += 1
    return i + 1 < len(head) and i <= 4 and head[i + 1] in _ONNX_NEXT_TAGS


def _json_kind(head: bytes) -> str | None:
    """'json' or 'ubjson' for a document that opens an object, else None."""
    if not head.startswith(b"{"):
        return None
    second = head[1:2]
    if second in (b'"', b"}") or (second and second in b" \t\r\n"):
        return "json"
    if second and second[0] in _UBJSON_MARKERS:
        return "ubjson"
    return None


def sniff(head: bytes) -> str:
    """What the first bytes of a file look like, in words (nothing is parsed or loaded)."""
    if not head:
        return "an empty file"
    if head.startswith(b"PK\x03\x04"):
        return "a zip archive (a skops file?)"
    if head[:1] == b"\x80" and len(head) > 1 and head[1] <= 5:
        return f"a pickle (protocol {head[1]} opcodes)"
    if head.startswith(_COMPRESSED) or head[:1] == b"x":
        return "a compressed file (a joblib pickle?)"
    if head.startswith(b"tree\n"):
        return "a LightGBM text model"
    kind = _json_kind(head)
    if kind is not None:
        booster = b"learner" in head[:64]
        if kind == "json":
            return "an XGBoost JSON model" if booster else "a JSON document (not an XGBoost model)"
        return "an XGBoost UBJSON model" if booster else "a UBJSON document"
    if _is_onnx(head):
        return "an ONNX model (protobuf)"
    if (
        head[:1] in (b"(", b"]", b"}", b"c")
        and b"\n" in head[:200]
        and head.rstrip().endswith(b".")
    ):
        return "a pickle (protocol 0 text opcodes)"
    text = head[:24]
    if all(32 <= b < 127 or b in (9, 10, 13) for b in text):
        return f"a text file starting {text.decode('ascii')!r}"
    return f"binary data starting {text[:8].hex(' ')}"


def matches(fmt: str, head: bytes) -> bool:
    """Whether `head` can start a model file of format `fmt` (xgboost, lightgbm, onnx)."""
    if fmt == "xgboost":
        return _json_kind(head) is not None and b"learner" in head[:64]
    if fmt == "lightgbm":
        return head.startswith(b"tree\n")
    if fmt == "onnx":
        return _is_onnx(head)
    raise ValueError(f"not a native format: {fmt}")


class LoadedModel:
    """The interface every format answers (see the module docstring)."""

    format: str = ""
    kind: str | None = None
    classes: list[Any] | None = None
    input_columns: list[str] | None = None
    output_names: list[str] = ["prediction"]  # noqa: RUF012 (read-only default)

    def predict(self, frame: Any) -> Any:
        raise NotImplementedError

    def predict_proba(self, frame: Any) -> Any | None:
        return None

    def _columns(self, frame: Any) -> Any:
        cols = self.input_columns
        return frame if cols is None else frame[cols]


class SklearnModel(LoadedModel):
    """A scikit-learn-like estimator (what skops, joblib and pickle files hold)."""

    def __init__(self, estimator: Any, fmt: str = "skops") -> None:
        self.model, self.format = estimator, fmt
        classes = getattr(estimator, "classes_", None)
        self.classes = None if classes is None else list(classes)
        names = getattr(estimator, "feature_names_in_", None)
        self.input_columns = None if names is None else [str(n) for n in names]
        proba = hasattr(estimator, "predict_proba")
        estimator_type = _estimator_type(estimator)
        self.kind = (
            "classifier" if estimator_type == "classifier" or (proba and classes is not None)
            else "regressor" if estimator_type == "regressor" else None
        )  # fmt: skip
        self.output_names = ["label", "probabilities"] if proba else ["prediction"]

    def predict(self, frame: Any) -> Any:
        import numpy as np

        return np.asarray(self.model.predict(frame))

    def predict_proba(self, frame: Any) -> Any | None:
        if not hasattr(self.model, "predict_proba"):
            return None
        return self.model.predict_proba(frame)


def _estimator_type(estimator: Any) -> str | None:
    """'classifier' or 'regressor' as scikit-learn tags it (1.6+ tags, older attribute)."""
    try:
        kind = estimator.__sklearn_tags__().estimator_type
    except Exception:  # not scikit-learn, or before 1.6
        kind = getattr(estimator, "_estimator_type", None)
    return kind if isinstance(kind, str) else None


def as_loaded(obj: Any, fmt: str = "skops") -> LoadedModel:
    return obj if isinstance(obj, LoadedModel) else SklearnModel(obj, fmt)


def _probabilities(kind_of: str, raw: Any) -> Any:
    """Booster output -> rows x classes."""
    import numpy as np

    out = np.asarray(raw, dtype=float)
    if out.ndim == 1:  # binary: P(class 1)
        return np.column_stack([1.0 - out, out])
    return out


class XGBoostModel(LoadedModel):
    format = "xgboost"

    def __init__(self, path: Path) -> None:
        xgb = require("xgboost")
        try:
            self.booster = xgb.Booster(model_file=str(path))
            config = json.loads(self.booster.save_config())
        except Exception as exc:  # xgboost.core.XGBoostError for a damaged file
            raise FormatError(f"XGBoost cannot read it ({_first_line(exc)})") from None
        learner = config.get("learner", {})
        self.objective = str(learner.get("objective", {}).get("name", ""))
        n_class = int(learner.get("learner_model_param", {}).get("num_class", "0") or 0)
        names = self.booster.feature_names
        self.input_columns = None if names is None else list(names)
        if self.objective.startswith(("binary:", "multi:")):
            self.kind = "classifier"
            self.classes = list(range(max(n_class, 2)))
            self.output_names = ["label", "probabilities"]
        else:
            self.kind = "regressor" if self.objective.startswith(("reg:", "survival:")) else None
            self.output_names = ["prediction"]

    def _raw(self, frame: Any) -> Any:
        import numpy as np
        import pandas as pd
        import xgboost as xgb

        data = self._columns(frame)
        categorical = any(isinstance(t, pd.CategoricalDtype) for t in getattr(data, "dtypes", []))
        matrix = xgb.DMatrix(data, enable_categorical=categorical)
        return np.asarray(self.booster.predict(matrix))

    def predict(self, frame: Any) -> Any:
        import numpy as np

        raw = self._raw(frame)
        if self.kind != "classifier":
            return raw.reshape(len(raw), -1)[:, 0] if raw.ndim > 1 else raw
        if self.objective == "multi:softmax":
            return raw.astype(int)
        if self.objective == "binary:logitraw":
            return (raw > 0).astype(int)
        return np.argmax(_probabilities(self.objective, raw), axis=1)

    def predict_proba(self, frame: Any) -> Any | None:
        if self.kind != "classifier" or self.objective in ("multi:softmax", "binary:logitraw"):
            return None
        return _probabilities(self.objective, self._raw(frame))


class LightGBMModel(LoadedModel):
    format = "lightgbm"

    def __init__(self, path: Path) -> None:
        lgb = require("lightgbm")
        try:
            self.booster = lgb.Booster(model_file=str(path))
            dumped = self.booster.dump_model(num_iteration=0)
        except Exception as exc:  # lightgbm.basic.LightGBMError for a damaged file
            raise FormatError(f"LightGBM cannot read it ({_first_line(exc)})") from None
        self.objective = str(dumped.get("objective", "")).split(" ")[0]
        n_class = int(dumped.get("num_class", 1))
        self.input_columns = [str(n) for n in self.booster.feature_name()]
        if self.objective in ("binary", "multiclass", "multiclassova", "cross_entropy"):
            self.kind = "classifier"
            self.classes = list(range(max(n_class, 2)))
            self.output_names = ["label", "probabilities"]
        else:
            self.kind = None if self.objective.startswith(("lambdarank", "rank")) else "regressor"

    def _raw(self, frame: Any) -> Any:
        import numpy as np

        return np.asarray(self.booster.predict(self._columns(frame)))

    def predict(self, frame: Any) -> Any:
        import numpy as np

        raw = self._raw(frame)
        if self.kind != "classifier":
            return raw
        return np.argmax(_probabilities(self.objective, raw), axis=1)

    def predict_proba(self, frame: Any) -> Any | None:
        if self.kind != "classifier":
            return None
        return _probabilities(self.objective, self._raw(frame))


_ONNX_DTYPES = {
    "tensor(float)": "float32",
    "tensor(double)": "float64",
    "tensor(int64)": "int64",
    "tensor(int32)": "int32",
    "tensor(bool)": "bool",
    "tensor(string)": "object",
}


class OnnxModel(LoadedModel):
    """An ONNX graph run by onnxruntime (no custom-op libraries are ever registered).

    Inputs: one named input per column (skl2onnx with a DataFrame), or one 2-D tensor fed
    the columns named in the model's metadata `mlops.columns` (JSON list), else the frame's
    columns in order. Outputs: a label and probabilities (a tensor, or skl2onnx's ZipMap
    list of dicts), or one prediction.
    """

    format = "onnx"

    def __init__(self, path: Path) -> None:
        ort = require("onnx")
        options = ort.SessionOptions()
        options.log_severity_level = 3
        try:
            # From the path: onnxruntime refuses external data outside the model's folder.
            self.session = ort.InferenceSession(
                str(path), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime's Fail / InvalidProtobuf / NotImplemented
            raise FormatError(f"onnxruntime cannot load it ({_first_line(exc)})") from None
        self.inputs = self.session.get_inputs()
        outputs = self.session.get_outputs()
        self.output_names = [o.name for o in outputs]
        meta = self.session.get_modelmeta().custom_metadata_map
        self._proba_index: int | None = None
        for i, out in enumerate(outputs[1:], start=1):
            if out.type.startswith("seq(map") or "prob" in out.name.lower():
                self._proba_index = i
                break
        if len(self.inputs) > 1:
            self.input_columns = [i.name for i in self.inputs]
        elif "mlops.columns" in meta:
            self.input_columns = [str(c) for c in json.loads(meta["mlops.columns"])]
        if "mlops.classes" in meta:
            self.classes = list(json.loads(meta["mlops.classes"]))
        first = outputs[0].type if outputs else ""
        self.kind = (
            "classifier"
            if self._proba_index is not None or first in ("tensor(int64)", "tensor(string)")
            else "regressor"
        )

    def _feed(self, frame: Any) -> dict[str, Any]:
        import numpy as np

        if len(self.inputs) == 1:
            spec = self.inputs[0]
            data = self._columns(frame)
            dtype = _ONNX_DTYPES.get(spec.type, "float32")
            array = np.asarray(data.to_numpy() if hasattr(data, "to_numpy") else data)
            array = array.astype(dtype)
            if array.dtype == object:
                array = array.astype(str).astype(object)
            return {spec.name: array}
        feed = {}
        for spec in self.inputs:
            column = np.asarray(frame[spec.name].to_numpy()).astype(
                _ONNX_DTYPES.get(spec.type, "float32")
            )
            rank = len(spec.shape) if isinstance(spec.shape, list) else 2
            feed[spec.name] = column.reshape(-1, 1) if rank == 2 else column
        return feed

    def _run(self, frame: Any) -> list[Any]:
        return list(self.session.run(None, self._feed(frame)))

    def predict(self, frame: Any) -> Any:
        import numpy as np

        out = np.asarray(self._run(frame)[0])
        if out.ndim == 2 and out.shape[1] == 1:
            out = out[:, 0]
        return out

    def predict_proba(self, frame: Any) -> Any | None:
        import numpy as np

        if self._proba_index is None:
            return None
        raw = self._run(frame)[self._proba_index]
        if isinstance(raw, list):  # ZipMap: one {label: probability} per row
            if not raw:
                return np.zeros((0, len(self.classes or [])))
            keys = list(raw[0])
            if self.classes is None:
                self.classes = keys
            return np.asarray([[row[k] for k in keys] for row in raw], dtype=float)
        return np.asarray(raw, dtype=float)


def load_native(path: Path, fmt: str) -> LoadedModel:
    """Load an xgboost, lightgbm or onnx model file (see the module docstring)."""
    if fmt == "xgboost":
        return XGBoostModel(path)
    if fmt == "lightgbm":
        return LightGBMModel(path)
    if fmt == "onnx":
        model = OnnxModel(path)
        return model
    raise ValueError(f"not a native format: {fmt}")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:300]
