"""images/serve.py: `mlops serve` prepares the same bundle as an image and hands the runtime
a model folder that exists while it serves and is removed after. The HTTP server is the
boundary faked here (tests/cli/test_serve.py runs the real one)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from mlops_cli.common.errors import InputError
from mlops_cli.common.progress import NullReporter
from mlops_cli.images.serve import serve
from mlops_cli.project.root import open_project
from mlops_cli.runtime import MODEL_DIR_ENV
from mlops_cli.runtime import __main__ as runtime_main
from mlops_cli.runtime.model import ModelLoadError


def test_the_model_folder_lives_while_serving(
    image_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[str, object] = {}

    def fake_serve_http(host: str, port: int, workers: int, folder: Path) -> int:
        seen["args"] = (host, port, workers)
        seen["folder"] = folder
        seen["files"] = sorted(p.name for p in folder.iterdir())
        seen["env"] = os.environ[MODEL_DIR_ENV]
        seen["metadata"] = json.loads((folder / "metadata.json").read_text())
        return 0

    ready: list[tuple[str, str, str | None]] = []
    monkeypatch.setattr(runtime_main, "serve_http", fake_serve_http)
    monkeypatch.delenv(MODEL_DIR_ENV, raising=False)
    serve(open_project(image_project), "churn", host="127.0.0.1", port=8123, workers=2,
          reporter=NullReporter(), on_ready=lambda *a: ready.append(a))  # fmt: skip
    folder = seen["folder"]
    assert isinstance(folder, Path)
    assert seen["args"] == ("127.0.0.1", 8123, 2)
    assert seen["env"] == str(folder)
    assert "metadata.json" in seen["files"]  # type: ignore[operator]
    assert ready == [("http://127.0.0.1:8123", "churn", None)]
    assert not folder.exists()  # removed once the server returned


def test_a_model_the_runtime_cannot_load_is_input_error_and_cleaned_up(
    image_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folders: list[Path] = []

    def refuses(host: str, port: int, workers: int, folder: Path) -> int:
        folders.append(folder)
        raise ModelLoadError("the model file is damaged")

    monkeypatch.setattr(runtime_main, "serve_http", refuses)
    with pytest.raises(InputError, match="cannot serve churn: the model file is damaged"):
        serve(open_project(image_project), "churn", host="127.0.0.1", port=1,
              reporter=NullReporter())  # fmt: skip
    assert folders and not folders[0].exists()


def test_an_unknown_model_fails_before_anything_is_written(
    image_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def never(*args: object) -> int:
        raise AssertionError("must not serve")

    monkeypatch.setattr(runtime_main, "serve_http", never)
    with pytest.raises(InputError, match="nope"):
        serve(open_project(image_project), "nope", host="127.0.0.1", port=1,
              reporter=NullReporter())  # fmt: skip
