"""status/snapshot.py: the validated mlops.yaml kept for `mlops status`, equal field by
field to what pydantic gives, and never used for bytes it was not made from."""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from mlops_cli.common.errors import ConfigError
from mlops_cli.common.fs import user_cache_dir
from mlops_cli.project import config as config_models
from mlops_cli.project.root import load_config
from mlops_cli.status import snapshot
from tests.datarepo import new_project

FULL = """\
schema_version: 1
project: full
stages: [dev, prod]
remote: store
datasets:
  raw: {path: data/raw.csv, schema: schemas/raw.yaml, delimiter: ";", encoding: utf-8}
  hold: {path: data/hold.csv}
models:
  m:
    path: models/m.skops
    task: classification
    target: y
    train_data: [raw]
    test_data: hold
    trusted_types: [a.B]
    tests:
      metrics: {accuracy: {min: 0.5}, f1: {min: 0.1, max: 0.99}}
      no_regression: {stage: prod, metrics: [f1], tolerance: 0.02}
      slices: [{column: plan, metrics: {f1: {min: 0.2}}, min_rows: 3}]
      invariance: [{column: age, perturbation: shuffle}]
      latency: {p95_ms: 20, batch_sizes: [1, 7]}
      max_size_mb: 2.5
      output: {classes: [0, "x"], no_nan: false}
image: {name: full, registry: localhost:5000, port: 9000}
code: {path: src}
policy:
  signers: {team: ["a@example.invalid"]}
  stages: {prod: {require: [register, promotion], signers: team}}
template: {name: t, version: "1.0", answers: {n: 1, nested: {a: [1, 2.5, null, true]}}}
"""


def _same(model: Any, kept: Any, where: str = "config") -> None:
    """Every field of the pydantic model, with its type and value, on the kept object."""
    if isinstance(model, BaseModel):
        assert isinstance(kept, snapshot._Frozen), where
        assert sorted(vars(kept)) == sorted(type(model).model_fields), where
        for name in type(model).model_fields:
            _same(getattr(model, name), getattr(kept, name), f"{where}.{name}")
    elif isinstance(model, dict):
        assert isinstance(kept, dict) and list(kept) == list(model), where
        for key in model:
            _same(model[key], kept[key], f"{where}[{key!r}]")
    elif isinstance(model, list):
        assert isinstance(kept, list) and len(kept) == len(model), where
        for i, (a, b) in enumerate(zip(model, kept, strict=True)):
            _same(a, b, f"{where}[{i}]")
    else:
        assert type(kept) is type(model) and kept == model, where


@pytest.mark.parametrize("text", [FULL, "project: bare\n"])
def test_the_kept_config_answers_every_field_as_pydantic_does(text: str, tmp_path: Path) -> None:
    path = tmp_path / "mlops.yaml"
    path.write_text(text, encoding="utf-8")
    model = load_config(path)
    encoded = snapshot.encode(model)
    _same(model, snapshot.decode(json.loads(json.dumps(encoded))))


def test_the_config_models_have_nothing_but_fields() -> None:
    """The kept copy has the fields only: a property or a method added to a model of
    mlops.yaml would be missing from it (and this fails, so the snapshot learns it)."""
    for _, cls in inspect.getmembers(config_models, inspect.isclass):
        if not issubclass(cls, BaseModel) or cls.__module__ != config_models.__name__:
            continue
        extra = [
            n
            for n, v in vars(cls).items()
            if not n.startswith("_") and n not in cls.model_fields and n != "model_config"
            and not isinstance(v, classmethod | staticmethod)
        ]  # fmt: skip
        assert extra == [], (cls.__name__, extra)


def test_kept_once_then_used_and_never_for_other_bytes(tmp_path: Path) -> None:
    root = new_project(tmp_path / "proj").root
    first = snapshot.open_project(root)
    assert not isinstance(first.config, snapshot._Frozen)  # validated by pydantic
    assert (user_cache_dir(root) / snapshot.SNAPSHOT).is_file()
    (root / "sub").mkdir()
    second = snapshot.open_project(root / "sub")  # found from a subfolder too
    assert isinstance(second.config, snapshot._Frozen) and second.root == first.root
    _same(first.config, second.config)
    with pytest.raises(AttributeError):
        second.config.project = "other"  # frozen, as the pydantic model is
    config = root / "mlops.yaml"
    config.write_bytes(config.read_bytes() + b"unknown_key: 1\n")
    with pytest.raises(ConfigError, match="unknown_key"):
        snapshot.open_project(root)


def test_a_snapshot_for_other_bytes_or_a_damaged_one_is_not_used(tmp_path: Path) -> None:
    root = new_project(tmp_path / "proj").root
    snapshot.open_project(root)
    kept = user_cache_dir(root) / snapshot.SNAPSHOT
    doc = json.loads(kept.read_text())
    doc["config"][1]["project"] = ["S", "tampered"]
    doc["key"] = "0" * 64
    kept.write_text(json.dumps(doc))
    assert snapshot.open_project(root).config.project != "tampered"
    kept.write_text("{not json")
    assert snapshot.open_project(root).config.project != "tampered"
    assert isinstance(snapshot.open_project(root).config, snapshot._Frozen)  # rewritten
