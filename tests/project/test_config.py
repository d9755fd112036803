"""project/config.py: the pydantic model of mlops.yaml: defaults, every constraint that is
more than a type, and cross-references, each refused with a message naming the key."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from mlops_cli.project.config import ProjectConfig, json_schema


def config(**extra: Any) -> ProjectConfig:
    return ProjectConfig.model_validate({"project": "demo", **extra})


def test_defaults() -> None:
    c = config()
    assert (c.schema_version, c.stages, c.datasets, c.models, c.template, c.code) == (
        1, ["dev", "staging", "prod"], {}, {}, None, None,
    )  # fmt: skip
    assert (c.image.base, c.image.port) == ("python:3.11-slim", 8080)
    ds = config(datasets={"d": {"path": " data/d.csv ", "schema": "s.yaml"}}).datasets["d"]
    assert (ds.path, ds.schema_, ds.delimiter, ds.decimal, ds.encoding, ds.quotechar) == (
        "data/d.csv", "s.yaml", None, ".", "utf-8", '"',
    )  # fmt: skip
    model = config(models={"m": {"path": "m.skops", "target": "y"}}).models["m"]
    assert (model.format, model.task, model.train_data, model.tests.metrics) == (
        "skops", "classification", [], {},
    )  # fmt: skip


def error(**extra: Any) -> str:
    with pytest.raises(ValidationError) as info:
        config(**extra)
    return str(info.value)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"stagse": ["dev"]}, "Extra inputs are not permitted"),
        ({"schema_version": 2}, "schema_version"),
        ({"project": "has space"}, "String should match pattern"),
        ({"stages": ["dev", "dev"]}, "stage names must be unique"),
        ({"datasets": {"d": {"path": "x", "encoding": "klingon"}}}, "unknown encoding 'klingon'"),
        ({"datasets": {"d": {"path": "x", "delimiter": ",", "decimal": ","}}},
         "delimiter and decimal must differ"),
        ({"datasets": {"d": {"path": "x", "delimiter": '"'}}},
         "delimiter and quotechar must differ"),
        ({"datasets": {"d": {"path": "x", "delimiter": ";;"}}}, "at most 1 character"),
        ({"datasets": {"d": {"path": ""}}}, "at least 1 character"),
        ({"models": {"m": {"path": "m", "target": "y", "format": "tflite"}}}, "'skops'"),
        ({"models": {"m": {"path": "m", "target": "y", "train_data": ["nope"]}}},
         "model 'm' names data set 'nope', which `datasets` does not declare (declared: none"),
        ({"models": {"m": {"path": "m", "target": "y",
                           "tests": {"no_regression": {"stage": "live"}}}}},
         "no_regression.stage 'live' is not one of the stages"),
        ({"models": {"m": {"path": "m", "target": "y", "tests": {"metrics": {"f1": {}}}}}},
         "give `min`, `max` or both"),
        ({"models": {"m": {"path": "m", "target": "y", "tests": {"metrics": {"auc": {"min": 1}}}}}},
         "auc"),
        ({"models": {"m": {"path": "m", "target": "y",
                           "tests": {"invariance": [{"column": "x", "max_changed": 2}]}}}},
         "less than or equal to 1"),
        ({"image": {"port": 70000}}, "less than or equal to 65535"),
    ],
)  # fmt: skip
def test_refused(extra: dict[str, Any], message: str) -> None:
    assert message in error(**extra)


def test_a_config_is_frozen() -> None:
    with pytest.raises(ValidationError):
        config().project = "other"  # type: ignore[misc]


def test_the_json_schema_matches_the_model() -> None:
    schema = json_schema()
    assert schema["title"] == "mlops.yaml"
    assert set(schema["properties"]) == set(ProjectConfig.model_fields)
    assert schema["additionalProperties"] is False
    assert schema["required"] == ["project"]
