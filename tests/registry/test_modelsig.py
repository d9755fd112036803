"""registry/modelsig.py: the model file's model-signing bundle, with real keys (ssh-keygen
writes the EC PEM keys) and the real library; keys come from the environment or the user's
config folder, never from the repository."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from mlops_cli.common.errors import UnsafeError
from mlops_cli.gitio.signing import SigningError
from mlops_cli.registry import modelsig


def _ec_key(folder: Path, name: str) -> tuple[Path, Path]:
    key = folder / f"{name}.pem"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ecdsa", "-b", "256", "-m", "PEM", "-N", "", "-f", str(key)],
        check=True,
    )
    pub = folder / f"{name}.pub.pem"
    pub.write_bytes(
        subprocess.run(
            ["ssh-keygen", "-e", "-m", "PKCS8", "-f", f"{key}.pub"], capture_output=True, check=True
        ).stdout
    )
    return key, pub


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "model.skops").write_bytes(b"model bytes")
    return root


def test_sign_and_verify_with_configured_keys(
    repo: Path, tmp_path: Path, isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key, pub = _ec_key(tmp_path, "alice")
    _, other_pub = _ec_key(tmp_path, "bob")
    monkeypatch.setenv(modelsig.KEY_ENV, str(key))
    bundle = modelsig.sign_model(repo, repo / "model.skops")
    import hashlib

    assert modelsig.signed_sha256(bundle) == hashlib.sha256(b"model bytes").hexdigest()

    # no model keys configured: a valid bundle is not trusted
    assert modelsig.verify_model(repo, repo / "model.skops", bundle).status == "untrusted"
    # the default folder ~/.config/mlops/model-keys/, with a README that is not a key
    folder = isolated_env / ".config/mlops/model-keys"
    folder.mkdir(parents=True)
    (folder / "README").write_text("public keys of the team\n")
    (folder / "bob.pem").write_bytes(other_pub.read_bytes())
    assert modelsig.verify_model(repo, repo / "model.skops", bundle).status == "untrusted"
    (folder / "alice.pem").write_bytes(pub.read_bytes())
    good = modelsig.verify_model(repo, repo / "model.skops", bundle)
    assert (good.status, Path(str(good.key)).name) == ("good", "alice.pem")
    # other bytes
    (repo / "other").write_bytes(b"other bytes")
    bad = modelsig.verify_model(repo, repo / "other", bundle)
    assert bad.status == "bad" and "not the ones that were signed" in bad.detail
    assert modelsig.verify_model(repo, repo / "model.skops", None).status == "unsigned"
    assert modelsig.verify_model(repo, repo / "model.skops", b"{}").status == "bad"

    # MLOPS_MODEL_KEYS replaces the folder; one inside the repository is refused
    monkeypatch.setenv(modelsig.KEYS_ENV, str(other_pub))
    assert modelsig.verify_model(repo, repo / "model.skops", bundle).status == "untrusted"
    (repo / "keys.pem").write_bytes(pub.read_bytes())
    monkeypatch.setenv(modelsig.KEYS_ENV, str(repo / "keys.pem"))
    with pytest.raises(UnsafeError):
        modelsig.verify_model(repo, repo / "model.skops", bundle)


def test_signing_key_problems_are_one_line_exit_3(
    repo: Path, tmp_path: Path, isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(SigningError, match="no key to sign the model file") as info:
        modelsig.signing_key(repo)
    assert info.value.exit_code == 3
    monkeypatch.setenv(modelsig.KEY_ENV, str(tmp_path / "missing.pem"))
    with pytest.raises(SigningError, match="does not exist"):
        modelsig.signing_key(repo)
    ed = tmp_path / "ed"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(ed)], check=True)
    monkeypatch.setenv(modelsig.KEY_ENV, str(ed))
    with pytest.raises(SigningError, match="EC private key"):
        modelsig.sign_model(repo, repo / "model.skops")
    # the default location is the user's config folder
    monkeypatch.delenv(modelsig.KEY_ENV)
    key, _ = _ec_key(tmp_path, "alice")
    default = isolated_env / ".config/mlops/signing-key.pem"
    default.parent.mkdir(parents=True)
    default.write_bytes(key.read_bytes())
    assert modelsig.signing_key(repo) == default.resolve()
