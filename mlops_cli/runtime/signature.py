"""The model file's model-signing bundle, checked when the container starts.

`mlops image build` puts the version's bundle (`.mlops/models/NAME/VERSION.sig`, from the
signed registration) beside the model as `model.sig`, and names it in `metadata.json`
(`signature`). When `MLOPS_MODEL_KEYS` is set in the container's environment (PEM public
key files or folders of them, separated by ':', as for `mlops model verify`), `serve` and
`predict` refuse to start unless that bundle verifies, with one of those keys, against the
model file's bytes; a missing bundle is refused too. Without `MLOPS_MODEL_KEYS` nothing is
checked here (the build checked the model; the keys are the operator's to give).

Only the container's entry point (`python -m mlops_cli.runtime`) asks this: `mlops serve`
on the host, which calls the runtime in-process, does not, so a host's MLOPS_MODEL_KEYS
(set for `mlops model verify`) does not change what it serves.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from mlops_cli.runtime import SIGNATURE_FILE
from mlops_cli.runtime.model import ModelLoadError, contained, read_metadata

KEYS_ENV = "MLOPS_MODEL_KEYS"
__all__ = ["KEYS_ENV", "SIGNATURE_FILE", "check_signature"]


def _key_hint(path: Path) -> str | None:
    from cryptography.hazmat.primitives import serialization

    try:
        raw_key = path.read_bytes()
    except OSError as exc:  # e.g. a mounted key the container's user (10001) cannot read
        raise ModelLoadError(f"cannot read the model key {path} ({KEYS_ENV}): {exc}") from None
    try:
        key: Any = serialization.load_pem_public_key(raw_key)
    except ValueError:
        return None  # not a PEM public key (a README in the folder): not a key
    raw = key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(raw).hexdigest()


def _keys(text: str) -> list[tuple[Path, str]]:
    """(key file, hint) for every PEM public key the variable names."""
    found: list[tuple[Path, str]] = []
    for entry in (e.strip() for e in text.split(os.pathsep)):
        if not entry:
            continue
        path = Path(entry)
        files = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
        for file in files:
            if not file.is_file():
                raise ModelLoadError(f"the model key {file} ({KEYS_ENV}) does not exist")
            hint = _key_hint(file)
            if hint is not None:
                found.append((file, hint))
    return found


def check_signature(model_dir: Path) -> str | None:
    """None when MLOPS_MODEL_KEYS is not set; else the key file that verified the model's
    bundle. ModelLoadError when it is missing or does not verify with one of the keys."""
    text = os.environ.get(KEYS_ENV, "").strip()
    if not text:
        return None
    metadata = read_metadata(model_dir)
    model = contained(model_dir, str(metadata["artifact"]["file"]))
    name = metadata.get("signature")
    refused = f"{KEYS_ENV} is set, but"
    if not name:
        raise ModelLoadError(
            f"{refused} the image has no model-signing bundle for {model.name} (build it"
            " from a version registered with --sign)"
        )
    bundle = contained(model_dir, str(name))
    if not bundle.is_file():
        raise ModelLoadError(f"{refused} the model-signing bundle {bundle} is missing")
    try:
        hint = str(json.loads(bundle.read_bytes())["verificationMaterial"]["publicKey"]["hint"])
    except (OSError, ValueError, KeyError, TypeError):
        raise ModelLoadError(f"{bundle} is not a model-signing key bundle") from None
    keys = _keys(text)
    key = next((path for path, h in keys if h == hint), None)
    if key is None:
        why = "none is a PEM public key" if not keys else f"{len(keys)} key(s), none matches"
        raise ModelLoadError(
            f"{refused} {bundle} is signed by a key it does not name ({why}; key hint {hint[:16]})"
        )
    from model_signing import verifying

    try:
        checker: Any = verifying.Config()  # type: ignore[no-untyped-call]
        checker.use_elliptic_key_verifier(public_key=key).verify(model, bundle)
    except Exception as exc:  # model-signing raises ValueError and crypto errors alike
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if "Signature mismatch" in detail:
            detail = "the model file's bytes are not the ones that were signed"
        raise ModelLoadError(f"{refused} {bundle} does not verify: {detail[:200]}") from None
    return str(key)
