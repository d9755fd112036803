"""images/bundle.py: what a served model needs (artifact, hashes, pins, input schema,
lineage), checked safe before anything is built, and the model folder the runtime reads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

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


def test_a_workspace_bundle_time_is_the_model_file_not_the_clock(
    image_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    model = image_project / "models" / "model.skops"
    os.utime(model, (1_700_000_000, 1_700_000_000))
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    first = prepare_bundle(open_project(image_project), "churn", reporter=NullReporter())
    assert first.created == "2023-11-14T22:13:20Z"
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "86400")
    again = prepare_bundle(open_project(image_project), "churn", reporter=NullReporter())
    assert again.created == "1970-01-02T00:00:00Z"


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


def test_a_signed_version_carries_its_model_signing_bundle(
    cli: Any, image_project: Path, tmp_path: Path, isolated_env: Path, monkeypatch: Any
) -> None:
    """`image build` of a version registered with --sign puts its bundle beside the model
    (`model.sig`, named in metadata.json) and model-signing in the wheelhouse, so the
    container can check it at start (runtime/signature.py)."""
    from mlops_cli.runtime import SIGNATURE_FILE
    from mlops_cli.runtime.signature import KEYS_ENV, check_signature
    from tests.runtime.test_signature import _ec_key
    from tests.sshkeys import HAVE_SSH_KEYGEN, keypair

    if not HAVE_SSH_KEYGEN:
        pytest.skip("ssh-keygen is not installed")
    ssh_key = keypair(tmp_path, "alice")
    model_key, model_pub = _ec_key(tmp_path / "keys", "alice")
    gitconfig = isolated_env / ".gitconfig"
    with gitconfig.open("a") as f:
        f.write(f"[gpg]\n\tformat = ssh\n[user]\n\tsigningKey = {ssh_key}.pub\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(gitconfig))
    monkeypatch.setenv("MLOPS_SIGNING_KEY", str(model_key))
    out = cli("-C", str(image_project), "model", "register", "churn", "--sign")
    assert out.exit_code == 0, out.stderr

    project = open_project(image_project)
    bundle = prepare_bundle(project, "churn@v0.0.1", reporter=NullReporter())
    committed = image_project / ".mlops/models/churn/v0.0.1.sig"
    assert bundle.signature == committed.read_bytes()
    assert {"model-signing", "pyopenssl"} <= set(bundle.pins)
    written = write_model_dir(bundle, tmp_path / "m")
    assert [p.name for p in written] == [bundle.artifact_name, SIGNATURE_FILE, METADATA_FILE]
    metadata = json.loads((tmp_path / "m" / METADATA_FILE).read_text())
    assert metadata["signature"] == SIGNATURE_FILE
    monkeypatch.setenv(KEYS_ENV, str(model_pub))
    assert check_signature(tmp_path / "m") == str(model_pub)

    # The workspace model (as an unsigned version): no bundle, nothing extra in the image.
    plain = prepare_bundle(project, "churn", reporter=NullReporter())
    assert plain.signature is None and "model-signing" not in plain.pins
    assert "signature" not in plain.metadata()
