"""Load a model folder, check requests against the training schema, predict.

The artifact's sha256 is checked against `metadata.json` before anything is loaded, and a
skops file is loaded trusting only the types recorded when the image was built: a swapped
or tampered file is refused, never unpickled. XGBoost, LightGBM and ONNX files are read by
their framework's own parser (`runtime.formats`); every format answers one interface.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlops_cli.runtime import METADATA_FILE, METADATA_SCHEMA_VERSION
from mlops_cli.runtime.formats import LoadedModel, as_loaded

MAX_PROBLEMS = 50


class ModelLoadError(Exception):
    """The model folder cannot be served: missing file, wrong hash, untrusted types."""


class InputProblems(Exception):
    """A request does not match the training schema; `problems` says where and how."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems[:3]))
        self.problems = problems


@dataclass(frozen=True)
class Column:
    name: str
    dtype: str
    nullable: bool = False

    @property
    def kind(self) -> str:
        """number, integer, boolean, string or any: what JSON value the column accepts."""
        dtype = self.dtype.lower()
        if dtype.startswith(("float", "double")):
            return "number"
        if dtype.startswith(("int", "uint")):
            return "integer"
        if dtype in ("bool", "boolean"):
            return "boolean"
        if dtype in ("str", "string", "object", "category") or dtype.startswith("datetime"):
            return "string"
        return "any"


@dataclass
class ServedModel:
    metadata: dict[str, Any]
    estimator: Any
    columns: list[Column] = field(default_factory=list)
    strict: bool = True
    target: str | None = None  # the label column: accepted in input (a CSV with it) and ignored

    def __post_init__(self) -> None:
        fmt = str(self.metadata.get("artifact", {}).get("format", "skops"))
        self.loaded: LoadedModel = as_loaded(self.estimator, fmt)

    @property
    def name(self) -> str:
        return str(self.metadata.get("model", "model"))

    @property
    def version(self) -> str | None:
        version = self.metadata.get("version")
        return None if version is None else str(version)

    @property
    def classes(self) -> list[Any] | None:
        classes = self.loaded.classes
        return None if classes is None else _plain(list(classes))

    def check(self, records: Any) -> list[dict[str, Any]]:
        """The records as a list of dicts; InputProblems listing everything wrong with them."""
        if isinstance(records, dict) and "records" in records:
            records = records["records"]
        if not isinstance(records, list):
            raise InputProblems(['the body must be a list of records or {"records": [...]}'])
        if not records:
            raise InputProblems(["no records to predict"])
        problems: list[str] = []
        known = {c.name for c in self.columns} | ({self.target} if self.target else set())
        for index, record in enumerate(records):
            if not isinstance(record, dict):
                problems.append(f"record {index}: expected an object of column: value")
                continue
            for column in self.columns:
                if column.name not in record:
                    problems.append(f"record {index}: missing column {column.name!r}")
                    continue
                problem = _check_value(column, record[column.name])
                if problem:
                    problems.append(f"record {index}: column {column.name!r}: {problem}")
            if self.columns and self.strict:
                for extra in sorted(set(record) - known):
                    problems.append(f"record {index}: unknown column {extra!r}")
            if len(problems) > MAX_PROBLEMS:
                break
        if problems:
            if len(problems) > MAX_PROBLEMS:
                problems = [*problems[:MAX_PROBLEMS], "... (more problems not listed)"]
            raise InputProblems(problems)
        return records

    def frame(self, records: list[dict[str, Any]]) -> Any:
        import pandas as pd

        # The order the model was fitted with, when its file says (scikit-learn checks).
        fitted = self.loaded.input_columns
        if not self.columns:
            frame = pd.DataFrame.from_records(records)
            return frame if fitted is None else frame[list(fitted)]
        names = [c.name for c in self.columns]
        if fitted is not None and set(fitted) <= set(names):
            names = list(fitted)
        frame = pd.DataFrame.from_records(records, columns=names)
        for column in self.columns:
            if column.name in frame and column.kind != "any" and not column.nullable:
                frame[column.name] = frame[column.name].astype(column.dtype)
        return frame

    def predict(self, records: Any) -> dict[str, Any]:
        """Check, then predict: predictions, and probabilities for a classifier."""
        return self.predict_checked(self.check(records))

    def predict_checked(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        """`predict` of records `check` returned (not checked again)."""
        frame = self.frame(records)
        predictions = self.loaded.predict(frame)
        proba = self.loaded.predict_proba(frame)  # before `classes`: ONNX's ZipMap names them
        return {
            "model": self.name,
            "version": self.version,
            "predictions": _plain(predictions.tolist()),
            "probabilities": None if proba is None else proba.tolist(),
            "classes": self.classes,
        }


def _check_value(column: Column, value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None if column.nullable else "null is not allowed"
    kind = column.kind
    if kind == "number":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return None if ok else f"expected a number ({column.dtype}), got {_shown(value)}"
    if kind == "integer":
        ok = (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer()
        )
        return None if ok else f"expected an integer ({column.dtype}), got {_shown(value)}"
    if kind == "boolean":
        return None if isinstance(value, bool) else f"expected true or false, got {_shown(value)}"
    if kind == "string":
        return None if isinstance(value, str) else f"expected a string, got {_shown(value)}"
    return None


def _shown(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _plain(values: list[Any]) -> list[Any]:
    """numpy scalars -> Python values, so the answer is plain JSON."""
    return [v.item() if hasattr(v, "item") else v for v in values]


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_metadata(model_dir: Path) -> dict[str, Any]:
    path = model_dir / METADATA_FILE
    try:
        metadata = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"cannot read {path}: {exc}") from exc
    if not isinstance(metadata, dict) or metadata.get("schema_version") != METADATA_SCHEMA_VERSION:
        raise ModelLoadError(f"{path}: not a model metadata file this runtime understands")
    return metadata


def load(model_dir: Path) -> ServedModel:
    """The model folder, checked: sha256 first, then a load that trusts only recorded types."""
    metadata = read_metadata(model_dir)
    artifact = metadata["artifact"]
    path = contained(model_dir, str(artifact["file"]))
    if not path.is_file():
        raise ModelLoadError(f"model file {path} is missing")
    actual = sha256_file(path)
    if actual != artifact["sha256"]:
        raise ModelLoadError(
            f"{path} has sha256 {actual}, not the {artifact['sha256']} recorded at build time"
        )
    estimator = _load_estimator(path, str(artifact["format"]), metadata.get("trusted_types", []))
    schema = metadata.get("input") or {}
    columns = [
        Column(name, str(spec.get("dtype", "any")), bool(spec.get("nullable", False)))
        for name, spec in (schema.get("columns") or {}).items()
    ]
    target = metadata.get("target")
    return ServedModel(
        metadata, estimator, columns, bool(schema.get("strict", True)), target and str(target)
    )


def contained(model_dir: Path, name: str) -> Path:
    """`name` inside `model_dir`: a relative path that stays inside once symlinks resolve."""
    relative = Path(name)
    if not name or relative.is_absolute() or ".." in relative.parts:
        raise ModelLoadError(f"model file {name!r} must be a relative path inside {model_dir}")
    root = model_dir.resolve()
    path = (model_dir / relative).resolve()
    if not path.is_relative_to(root):
        raise ModelLoadError(f"model file {name!r} resolves to {path}, outside {root}")
    return path


def _load_estimator(path: Path, fmt: str, trusted: list[str]) -> Any:
    if fmt == "skops":
        import skops.io as sio

        untrusted = set(sio.get_untrusted_types(file=path))
        refused = sorted(untrusted - set(trusted))
        if refused:
            raise ModelLoadError(f"{path} holds types not accepted at build time: {refused}")
        return sio.load(path, trusted=sorted(untrusted))
    if fmt in ("joblib", "pickle"):
        # The sha256 matched the one the build trusted; the file is still unpickled through
        # the allow-list `mlops test` and `image build` use, so a gadget never runs here.
        from mlops_cli.runtime import pickleguard

        try:
            return pickleguard.load_pickle(path, fmt)
        except (pickleguard.Refused, pickleguard.Missing) as exc:
            raise ModelLoadError(f"refusing to load {path}: {exc}") from None
    from mlops_cli.runtime import formats

    if fmt in formats.NATIVE:
        with path.open("rb") as fh:
            head = fh.read(4096)
        if not formats.matches(fmt, head):
            raise ModelLoadError(f"{path} is declared {fmt} but looks like {formats.sniff(head)}")
        try:
            return formats.load_native(path, fmt)
        except (formats.MissingExtra, formats.FormatError) as exc:
            raise ModelLoadError(f"cannot load {path}: {exc}") from None
    raise ModelLoadError(f"unknown model format {fmt!r}")
