"""runtime/model.py: what the image's runtime checks before it predicts: the model folder
(metadata, path containment, sha256, safe load) and each request against the training
schema, every problem listed. A real skops model, written here."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
import skops.io as sio
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

from mlops_cli.runtime.model import (
    MAX_PROBLEMS,
    METADATA_FILE,
    METADATA_SCHEMA_VERSION,
    Column,
    InputProblems,
    ModelLoadError,
    contained,
    load,
    read_metadata,
)

COLUMNS = ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"]


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    x, y = load_iris(return_X_y=True, as_frame=True)
    folder = tmp_path / "model"
    folder.mkdir()
    sio.dump(LogisticRegression(max_iter=500).fit(x, y), folder / "model.skops")
    digest = hashlib.sha256((folder / "model.skops").read_bytes()).hexdigest()
    metadata: dict[str, Any] = {
        "schema_version": METADATA_SCHEMA_VERSION,
        "model": "iris",
        "version": "v1.0.0",
        "artifact": {"file": "model.skops", "format": "skops", "sha256": digest},
        "target": "target",
        "input": {
            "columns": {
                **{c: {"dtype": "float64"} for c in reversed(COLUMNS)},  # not fitted order
                "note": {"dtype": "str", "nullable": True},
            },
            "strict": True,
        },
    }
    (folder / METADATA_FILE).write_text(json.dumps(metadata))
    return folder


def record(**changes: Any) -> dict[str, Any]:
    return {**dict.fromkeys(COLUMNS, 1.0), "note": None, **changes}


def test_a_checked_request_is_predicted_in_the_fitted_column_order(model_dir: Path) -> None:
    served = load(model_dir)
    assert (served.name, served.version, served.classes) == ("iris", "v1.0.0", [0, 1, 2])
    answer = served.predict({"records": [record(), record(**{"petal length (cm)": 6})]})
    assert answer["model"] == "iris" and len(answer["predictions"]) == 2
    assert all(isinstance(p, int) for p in answer["predictions"])  # plain JSON, not numpy
    assert len(answer["probabilities"][0]) == 3
    assert list(served.frame([record()]).columns) == COLUMNS  # feature_names_in_ order
    assert served.check([record(target=2)])  # the label column is accepted and ignored


def test_every_problem_of_a_request_is_listed(model_dir: Path) -> None:
    served = load(model_dir)
    bad = [
        {k: v for k, v in record().items() if k != "sepal width (cm)"},
        record(**{"sepal length (cm)": "long", "note": 3}),
        record(**{"petal width (cm)": None}),
        record(colour="red"),
        "not a record",
    ]
    with pytest.raises(InputProblems) as info:
        served.check(bad)
    assert info.value.problems == [
        "record 0: missing column 'sepal width (cm)'",
        "record 1: column 'sepal length (cm)': expected a number (float64), got \"long\"",
        "record 1: column 'note': expected a string, got 3",
        "record 2: column 'petal width (cm)': null is not allowed",
        "record 3: unknown column 'colour'",
        "record 4: expected an object of column: value",
    ]
    for body, problem in (({"x": 1}, "the body must be a list"), ([], "no records to predict")):
        with pytest.raises(InputProblems, match=problem):
            served.check(body)
    with pytest.raises(InputProblems) as many:
        served.check([record(colour=1)] * (MAX_PROBLEMS + 10))
    assert len(many.value.problems) == MAX_PROBLEMS + 1
    assert many.value.problems[-1] == "... (more problems not listed)"


@pytest.mark.parametrize(
    ("dtype", "kind"),
    [("float32", "number"), ("Int64", "integer"), ("uint8", "integer"), ("bool", "boolean"),
     ("category", "string"), ("datetime64[ns]", "string"), ("complex", "any")],
)  # fmt: skip
def test_column_kinds(dtype: str, kind: str) -> None:
    assert Column("c", dtype).kind == kind


def test_a_changed_or_escaping_model_file_is_refused(model_dir: Path, tmp_path: Path) -> None:
    with (model_dir / "model.skops").open("ab") as fh:
        fh.write(b"\0")
    with pytest.raises(ModelLoadError, match=r"not the \w+ recorded at build time"):
        load(model_dir)
    for name in ("/etc/passwd", "../model.skops", ""):
        with pytest.raises(ModelLoadError, match="must be a relative path inside"):
            contained(model_dir, name)
    (model_dir / "link").symlink_to(tmp_path)
    with pytest.raises(ModelLoadError, match="outside"):
        contained(model_dir, "link/x")
    assert contained(model_dir, "model.skops") == (model_dir / "model.skops").resolve()


def test_metadata_this_runtime_does_not_understand(model_dir: Path) -> None:
    path = model_dir / METADATA_FILE
    path.write_text(json.dumps({"schema_version": 999}))
    with pytest.raises(ModelLoadError, match="not a model metadata file this runtime understands"):
        read_metadata(model_dir)
    path.write_text("{")
    with pytest.raises(ModelLoadError, match="cannot read"):
        read_metadata(model_dir)
