"""The serving runtime without Docker: checks, predictions, the ASGI app, batch mode."""

from __future__ import annotations

import ast
import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mlops_cli.common.progress import NullReporter
from mlops_cli.images.bundle import prepare_bundle, write_model_dir
from mlops_cli.project.root import open_project
from mlops_cli.runtime import model as runtime_model
from mlops_cli.runtime.app import App
from tests.conftest import REPO_ROOT


@pytest.fixture(scope="module")
def model_dir(trained_project: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    bundle = prepare_bundle(open_project(trained_project), "churn", reporter=NullReporter())
    dest = tmp_path_factory.mktemp("model-dir")
    write_model_dir(bundle, dest, locked={"scikit-learn": "1.0"})
    return dest


def holdout(project: Path) -> Any:
    import pandas as pd

    return pd.read_csv(project / "data/prepared/holdout.csv").drop(columns=["target"])


def predict_cli(model_dir: Path, csv: str) -> subprocess.CompletedProcess[str]:
    """`python -m mlops_cli.runtime --model-dir DIR predict`, the CSV on stdin."""
    return subprocess.run(
        [sys.executable, "-m", "mlops_cli.runtime", "--model-dir", str(model_dir), "predict"],
        input=csv,
        capture_output=True,
        text=True,
        check=False,
    )


def call(app: App, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    raw = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": raw, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": method, "path": path}
    asyncio.run(app(scope, receive, send))
    return sent[0]["status"], json.loads(sent[1]["body"])


def test_predictions_match_the_model_file(model_dir: Path, trained_project: Path) -> None:
    import skops.io as sio

    frame = holdout(trained_project)
    path = trained_project / "models/model.skops"
    expected = sio.load(path, trusted=sio.get_untrusted_types(file=path))
    status, body = call(
        App(runtime_model.load(model_dir)), "POST", "/predict", frame.to_dict("records")
    )
    assert status == 200
    assert body["predictions"] == expected.predict(frame).tolist()
    import numpy as np

    np.testing.assert_allclose(body["probabilities"], expected.predict_proba(frame), rtol=1e-12)
    assert body["classes"] == [0, 1, 2]


def test_bad_input_is_422_listing_every_problem(model_dir: Path) -> None:
    app = App(runtime_model.load(model_dir))
    record = {
        "sepal_length_cm": "wide",
        "sepal_width_cm": None,
        "petal_length_cm": 1.4,
        "colour": "blue",
    }
    status, body = call(app, "POST", "/predict", {"records": [record]})
    assert status == 422
    assert body["problems"] == [
        "record 0: column 'sepal_length_cm': expected a number (float64), got \"wide\"",
        "record 0: column 'sepal_width_cm': null is not allowed",
        "record 0: missing column 'petal_width_cm'",
        "record 0: unknown column 'colour'",
    ]
    assert call(app, "POST", "/predict", b"{not json")[0] == 400
    assert call(app, "POST", "/predict", {"rows": []})[0] == 422
    assert call(app, "GET", "/predict")[0] == 405
    assert call(app, "GET", "/nope")[0] == 404


def test_health_and_metadata(model_dir: Path) -> None:
    app = App(runtime_model.load(model_dir))
    assert call(app, "GET", "/health") == (200, {"status": "ok", "model": "churn", "version": None})
    status, meta = call(app, "GET", "/metadata")
    assert status == 200
    assert meta["model"] == "churn"
    assert list(meta["input"]["columns"]) == [
        "sepal_length_cm",
        "sepal_width_cm",
        "petal_length_cm",
        "petal_width_cm",
    ]
    assert meta["lineage"]["workspace"] is True
    assert meta["locked"] == {"scikit-learn": "1.0"}


def test_a_swapped_model_file_is_refused(model_dir: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "m"
    shutil.copytree(model_dir, copy)
    with (copy / "model.skops").open("ab") as fh:
        fh.write(b"\0")
    with pytest.raises(runtime_model.ModelLoadError, match="sha256"):
        runtime_model.load(copy)


def test_batch_mode_reads_csv_and_ignores_the_label(model_dir: Path, trained_project: Path) -> None:
    csv = (trained_project / "data/prepared/holdout.csv").read_text()
    proc = predict_cli(model_dir, csv)
    assert proc.returncode == 0, proc.stderr
    header, *rows = proc.stdout.splitlines()
    assert header == "prediction,proba_0,proba_1,proba_2"
    assert len(rows) == len(csv.splitlines()) - 1
    bad = predict_cli(model_dir, "sepal_length_cm\nx\n")
    assert bad.returncode == 65
    assert "missing column 'sepal_width_cm'" in bad.stderr


def test_runtime_imports_nothing_else_from_mlops() -> None:
    """It is copied into images on its own: an import of the rest would fail there."""
    for path in (REPO_ROOT / "mlops_cli/runtime").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            for name in names:
                if name.startswith("mlops_cli"):
                    assert name == "mlops_cli.runtime" or name.startswith("mlops_cli.runtime."), (
                        f"{path.name} imports {name}"
                    )


@pytest.mark.parametrize("kind", ["absolute", "dotdot", "symlink"])
def test_the_model_file_must_stay_inside_the_model_folder(
    model_dir: Path, tmp_path: Path, kind: str
) -> None:
    import shutil

    folder = tmp_path / "m"
    shutil.copytree(model_dir, folder)
    outside = tmp_path / "outside.skops"
    shutil.copy(folder / "model.skops", outside)  # same bytes, same sha256: only the path differs
    meta_path = folder / "metadata.json"
    meta = json.loads(meta_path.read_text())
    if kind == "absolute":
        meta["artifact"]["file"] = str(outside)
    elif kind == "dotdot":
        meta["artifact"]["file"] = "../outside.skops"
    else:
        (folder / "link.skops").symlink_to(outside)
        meta["artifact"]["file"] = "link.skops"
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(runtime_model.ModelLoadError, match=r"inside|outside"):
        runtime_model.load(folder)
    proc = predict_cli(folder, "sepal_length_cm\n1\n")
    assert proc.returncode == 3
    assert "outside" in proc.stderr or "inside" in proc.stderr
