"""Registry credentials: environment first, then the Docker config; never shown."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlops_cli.common.errors import InputError
from mlops_cli.images.auth import resolve_credentials

SECRET = "s3cr3t-pa55-4f1d"


def write_config(home: Path, config: dict[str, object]) -> None:
    (home / ".docker").mkdir(exist_ok=True)
    (home / ".docker" / "config.json").write_text(json.dumps(config))


def test_environment_wins_and_is_masked(
    monkeypatch: pytest.MonkeyPatch, isolated_env: Path
) -> None:
    write_config(isolated_env, {"auths": {"reg:5000": {"auth": "dTpw"}}})
    monkeypatch.setenv("MLOPS_REGISTRY_USERNAME", "ci")
    monkeypatch.setenv("MLOPS_REGISTRY_PASSWORD", SECRET)
    creds = resolve_credentials("reg:5000")
    assert creds.auth_config == {"username": "ci", "password": SECRET, "serveraddress": "reg:5000"}
    assert SECRET not in repr(creds)
    assert creds.scrub(f"denied for ci:{SECRET}") == "denied for ci:******"


def test_half_set_environment_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLOPS_REGISTRY_USERNAME", "ci")
    monkeypatch.delenv("MLOPS_REGISTRY_PASSWORD", raising=False)
    with pytest.raises(InputError, match="MLOPS_REGISTRY_PASSWORD is not set"):
        resolve_credentials("reg:5000")


def test_docker_config_auths_and_anonymous(isolated_env: Path) -> None:
    import base64

    token = base64.b64encode(f"me:{SECRET}".encode()).decode()
    write_config(isolated_env, {"auths": {"reg:5000": {"auth": token}}})
    creds = resolve_credentials("reg:5000")
    assert creds.source == "docker config (auths)"
    assert creds.auth_config is not None and creds.auth_config["password"] == SECRET
    assert creds.scrub(f"{token} {SECRET}") == "****** ******"
    other = resolve_credentials("elsewhere:5000")
    assert (other.source, other.auth_config) == ("none (anonymous)", {})


def test_a_failing_credential_helper_is_exit_3(isolated_env: Path) -> None:
    write_config(isolated_env, {"credHelpers": {"reg:5000": "mlops-absent-helper"}})
    with pytest.raises(InputError, match="credential helper for reg:5000 failed") as info:
        resolve_credentials("reg:5000")
    assert info.value.exit_code == 3
