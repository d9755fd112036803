"""runtime/signature.py: the container refuses to start when MLOPS_MODEL_KEYS is set and the
model's model-signing bundle is missing or does not verify. Real EC keys (ssh-keygen), a
real bundle made by mlops' own signer (registry/modelsig.py), the runtime's entry point."""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path

import pytest

from mlops_cli.common.progress import NullReporter
from mlops_cli.images.bundle import prepare_bundle, write_model_dir
from mlops_cli.project.root import open_project
from mlops_cli.registry.modelsig import sign_model
from mlops_cli.runtime import SIGNATURE_FILE
from mlops_cli.runtime.__main__ import main
from mlops_cli.runtime.model import ModelLoadError
from mlops_cli.runtime.signature import KEYS_ENV, check_signature
from tests.required import unavailable


def _ec_key(folder: Path, name: str) -> tuple[Path, Path]:
    """An EC P-256 private key (PEM) and its public key (PEM), as docs/security.md makes them."""
    folder.mkdir(parents=True, exist_ok=True)
    key = folder / f"{name}.pem"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ecdsa", "-b", "256", "-m", "PEM", "-N", "", "-f", str(key)],
        check=True,
    )
    out = subprocess.run(
        ["ssh-keygen", "-e", "-m", "PKCS8", "-f", f"{key}.pub"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    pub = folder / f"{name}.pub.pem"
    pub.write_text(out)
    return key, pub


@pytest.fixture
def keys(tmp_path: Path) -> dict[str, tuple[Path, Path]]:
    import shutil

    if shutil.which("ssh-keygen") is None:
        unavailable("ssh-keygen is not installed")
    return {who: _ec_key(tmp_path / "keys", who) for who in ("alice", "mallory")}


def _model_dir(
    image_project: Path, dest: Path, signer: Path | None, monkeypatch: pytest.MonkeyPatch
) -> Path:
    bundle = prepare_bundle(open_project(image_project), "churn", reporter=NullReporter())
    if signer is not None:
        monkeypatch.setenv("MLOPS_SIGNING_KEY", str(signer))
        bundle = dataclasses.replace(bundle, signature=sign_model(image_project, bundle.artifact))
    write_model_dir(bundle, dest)
    return dest


def test_no_keys_no_check(
    image_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(KEYS_ENV, raising=False)
    folder = _model_dir(image_project, tmp_path / "m", None, monkeypatch)
    assert check_signature(folder) is None


def test_the_bundle_must_verify_with_one_of_the_keys(
    image_project: Path,
    tmp_path: Path,
    keys: dict[str, tuple[Path, Path]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (alice_key, alice_pub), (_, mallory_pub) = keys["alice"], keys["mallory"]
    folder = _model_dir(image_project, tmp_path / "m", alice_key, monkeypatch)
    assert (folder / SIGNATURE_FILE).is_file()

    monkeypatch.setenv(KEYS_ENV, f"{mallory_pub}:{alice_pub}")
    assert check_signature(folder) == str(alice_pub)
    monkeypatch.setenv(KEYS_ENV, str(alice_pub.parent))  # a folder of keys (and others)
    assert check_signature(folder) == str(alice_pub)

    monkeypatch.setenv(KEYS_ENV, str(mallory_pub))
    with pytest.raises(ModelLoadError, match="signed by a key it does not name"):
        check_signature(folder)
    monkeypatch.setenv(KEYS_ENV, str(tmp_path / "nope.pem"))
    with pytest.raises(ModelLoadError, match="does not exist"):
        check_signature(folder)

    # Other bytes than the signed ones: refused, and the entry point exits 3 before serving.
    monkeypatch.setenv(KEYS_ENV, str(alice_pub))
    model = folder / "model.skops"
    model.write_bytes(model.read_bytes() + b"\0")
    with pytest.raises(ModelLoadError, match="does not verify"):
        check_signature(folder)
    assert main(["--model-dir", str(folder), "serve", "--port", "1"]) == 3


def test_an_unsigned_model_is_refused_when_keys_are_set(
    image_project: Path,
    tmp_path: Path,
    keys: dict[str, tuple[Path, Path]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder = _model_dir(image_project, tmp_path / "m", None, monkeypatch)
    monkeypatch.setenv(KEYS_ENV, str(keys["alice"][1]))
    with pytest.raises(ModelLoadError, match="no model-signing bundle"):
        check_signature(folder)
    assert main(["--model-dir", str(folder), "predict"]) == 3
    assert "MLOPS_MODEL_KEYS is set, but the image has no model-signing bundle" in (
        capsys.readouterr().err
    )
    # metadata.json names a bundle that is not there
    signed = _model_dir(image_project, tmp_path / "s", keys["alice"][0], monkeypatch)
    (signed / SIGNATURE_FILE).unlink()
    with pytest.raises(ModelLoadError, match="is missing"):
        check_signature(signed)
