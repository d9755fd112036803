"""images/bundle.py: what a served model needs (artifact, hashes, pins, input schema,
lineage), checked safe before anything is built, and the model folder the runtime reads."""

from __future__ import annotations

import json
from pathlib import Path

import joblib
import pytest
import yaml

from mlops_cli.common.errors import InputError, UnsafeError
from mlops_cli.common.progress import NullReporter
from mlops_cli.images.bundle import prepare_bundle, write_model_dir
from mlops_cli.project.root import open_project
from mlops_cli.runtime import METADATA_FILE
from mlops_cli.runtime.model import load, sha256_file


def test_the_workspace_model_bundle(image_project: Path) -> None:
    bundle = prepare_bundle(open_project(image_project), "churn", reporter=NullReporter())
    assert (bundle.model, bundle.version, bundle.format) == ("churn", None, "skops")
    assert bundle.sha256 == sha256_file(image_project / "models" / "model.skops")
    assert bundle.bytes == (image_project / "models" / "model.skops").stat().st_size
    assert {"scikit-learn", "skops", "numpy"} <= set(bundle.pins)
    assert bundle.lineage["workspace"] is True
    assert bundle.commit and len(bundle.commit) == 40
    assert bundle.input_schema is not None and bundle.input_schema["columns"]
    assert bundle.target and bundle.target not in bundle.input_schema["columns"]
    assert bundle.data  # the data sets it was trained on, by md5


def test_the_model_folder_is_what_the_runtime_serves(image_project: Path, tmp_path: Path) -> None:
    bundle = prepare_bundle(open_project(image_project), "churn", reporter=NullReporter())
    written = write_model_dir(bundle, tmp_path / "m", locked={"numpy": "2.0.0"})
    assert [p.name for p in written] == [bundle.artifact_name, METADATA_FILE]
    metadata = json.loads((tmp_path / "m" / METADATA_FILE).read_text())
    assert metadata["locked"] == {"numpy": "2.0.0"}
    assert metadata["artifact"]["sha256"] == bundle.sha256
    served = load(tmp_path / "m")  # the runtime's own checks pass on it
    assert served.name == "churn" and served.classes == [0, 1, 2]
    assert bundle.input_schema is not None
    assert [c.name for c in served.columns] == list(bundle.input_schema["columns"])


def test_an_untrusted_pickle_is_refused_before_anything(image_project: Path) -> None:
    joblib.dump({"any": "object"}, image_project / "models" / "model.joblib")
    config = yaml.safe_load((image_project / "mlops.yaml").read_text())
    config["models"]["churn"].update({"path": "models/model.joblib", "format": "joblib"})
    (image_project / "mlops.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    with pytest.raises(UnsafeError) as info:
        prepare_bundle(open_project(image_project), "churn", reporter=NullReporter())
    assert info.value.exit_code == 4


def test_a_missing_model_file_or_version(image_project: Path) -> None:
    (image_project / "models" / "model.skops").unlink()
    project = open_project(image_project)
    with pytest.raises(InputError, match=r"model file .*model\.skops is missing"):
        prepare_bundle(project, "churn", reporter=NullReporter())
    with pytest.raises(InputError, match=r"churn has no registered version|not registered"):
        prepare_bundle(project, "churn@v9.9.9", reporter=NullReporter())
