"""The model file's own signature: an OpenSSF `model-signing` bundle beside the record.

git's signatures cover the record (which names the artifact's sha256) and the tags; the
bundle signs the model file's bytes themselves, in the format other tools of the ML supply
chain read (`model_signing verify key ...`). Key-based and offline: an elliptic-curve key
pair (P-256, P-384 or P-521, PEM), because model-signing signs with no other kind of key
(an ed25519 SSH key, git's usual one, cannot be used here).

Where the keys come from, never from the repository:

    signing key        MLOPS_SIGNING_KEY (a PEM private key file), else
                       $XDG_CONFIG_HOME/mlops/signing-key.pem; its password, if any, in
                       MLOPS_SIGNING_KEY_PASSWORD
    verifying keys     MLOPS_MODEL_KEYS (PEM public key files or folders of them, separated
                       by ':'), else the folder $XDG_CONFIG_HOME/mlops/model-keys/

The bundle records a hint of its public key (sha256 of the key's PEM), so verification
names which of the configured keys signed, or says that none of them did.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops_cli.common.errors import InputError
from mlops_cli.gitio.signing import SigningError, outside_repository

KEY_ENV = "MLOPS_SIGNING_KEY"
PASSWORD_ENV = "MLOPS_SIGNING_KEY_PASSWORD"  # the variable, not a secret
KEYS_ENV = "MLOPS_MODEL_KEYS"
_HINT = "see docs/security.md#signed-versions"


def _config_dir() -> Path:
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "mlops"


def signing_key(root: Path) -> Path:
    """The model-signing private key; SigningError (exit 3) when there is none."""
    text = os.environ.get(KEY_ENV, "").strip()
    source = KEY_ENV
    if not text:
        default = _config_dir() / "signing-key.pem"
        if not default.is_file():
            raise SigningError(
                f"--sign: no key to sign the model file with ({KEY_ENV} is not set and"
                f" {default} does not exist)",
                hint="an EC private key in PEM, e.g. `ssh-keygen -t ecdsa -b 256 -m PEM -N ''"
                f" -f {default}`; " + _HINT,
            )
        text, source = str(default), str(default)
    path = outside_repository(text, root, "the model signing key", source)
    if not path.is_file():
        raise SigningError(f"--sign: the model signing key {path} ({source}) does not exist")
    return path


def sign_model(root: Path, model: Path) -> bytes:
    """The model-signing bundle (JSON bytes) of the file `model`."""
    key = signing_key(root)
    from model_signing import hashing, signing

    password = os.environ.get(PASSWORD_ENV) or None
    with tempfile.TemporaryDirectory(prefix="mlops-sig-") as tmp:
        out = Path(tmp) / "model.sig"
        try:
            config: Any = signing.Config()  # type: ignore[no-untyped-call]
            config.use_elliptic_key_signer(private_key=key, password=password)
            files: Any = hashing.Config()  # type: ignore[no-untyped-call]
            config.set_hashing_config(files.use_file_serialization())
            config.sign(model, out)
        except (ValueError, TypeError, AttributeError) as exc:  # not an EC key, a password
            raise SigningError(
                f"--sign: model-signing cannot sign with {key}: {exc}",
                hint="it needs an EC private key (P-256/384/521) in PEM; " + _HINT,
            ) from None
        return out.read_bytes()


def signed_sha256(bundle: bytes) -> str | None:
    """The sha256 of the single file a bundle signs (its `.` resource), None if not one."""
    import base64
    import json

    try:
        envelope = json.loads(bundle)["dsseEnvelope"]
        statement = json.loads(base64.b64decode(envelope["payload"]))
        resources = statement["predicate"]["resources"]
    except (ValueError, KeyError, TypeError):
        return None
    found = [r for r in resources if isinstance(r, dict) and r.get("name") == "."]
    return str(found[0].get("digest")) if len(found) == 1 else None


@dataclass(frozen=True)
class ModelKey:
    path: Path
    hint: str  # sha256 of the key's PEM, as model-signing writes it into a bundle


def model_keys(root: Path) -> list[ModelKey]:
    """The configured public keys a model bundle may be signed with (never the repo's)."""
    text = os.environ.get(KEYS_ENV, "").strip()
    if text:
        entries = [(e, KEYS_ENV) for e in text.split(os.pathsep) if e.strip()]
    else:
        folder = _config_dir() / "model-keys"
        entries = [(str(folder), str(folder))] if folder.is_dir() else []
    keys: list[ModelKey] = []
    for entry, source in entries:
        path = outside_repository(entry, root, "the model key", source)
        files = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
        for file in files:
            if not file.is_file():
                raise InputError(f"the model key {file} ({source}) does not exist")
            hint = _key_hint(file)
            if hint is not None:
                keys.append(ModelKey(file, hint))
    return keys


def _key_hint(path: Path) -> str | None:
    from cryptography.hazmat.primitives import serialization

    try:
        key: Any = serialization.load_pem_public_key(path.read_bytes())
    except ValueError:
        return None  # not a PEM public key (a README in the folder): not a key
    raw = key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(raw).hexdigest()


@dataclass(frozen=True)
class BundleCheck:
    status: str  # good | bad | untrusted | unsigned
    key: str | None = None  # the configured key file that verified it
    detail: str = ""


def verify_model(root: Path, model: Path, bundle: bytes | None) -> BundleCheck:
    """Check `bundle` against the bytes of `model` with the configured keys."""
    if bundle is None:
        return BundleCheck("unsigned", detail="no model-signing bundle beside the record")
    import json

    try:
        hint = str(json.loads(bundle)["verificationMaterial"]["publicKey"]["hint"])
    except (ValueError, KeyError, TypeError):
        return BundleCheck("bad", detail="the bundle is not a model-signing key bundle")
    keys = model_keys(root)
    key = next((k for k in keys if k.hint == hint), None)
    if key is None:
        why = "none configured" if not keys else f"{len(keys)} configured, none matches"
        return BundleCheck(
            "untrusted",
            detail=f"signed by a key that is not one of your model keys ({why};"
            f" {KEYS_ENV}), key hint {hint[:16]}",
        )
    from model_signing import verifying

    with tempfile.TemporaryDirectory(prefix="mlops-sig-") as tmp:
        sig = Path(tmp) / "model.sig"
        sig.write_bytes(bundle)
        try:
            checker: Any = verifying.Config()  # type: ignore[no-untyped-call]
            checker.use_elliptic_key_verifier(public_key=key.path).verify(model, sig)
        except Exception as exc:  # model-signing raises ValueError and crypto errors alike
            text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            if "Signature mismatch" in text:
                text = "the model file's bytes are not the ones that were signed"
            return BundleCheck("bad", str(key.path), f"does not verify: {text[:200]}")
    return BundleCheck("good", str(key.path))
