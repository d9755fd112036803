"""Registry credentials for a push: from the environment, else from the Docker config.

$MLOPS_REGISTRY_USERNAME + $MLOPS_REGISTRY_PASSWORD win (CI secrets); otherwise the
Docker config ($DOCKER_CONFIG or ~/.docker/config.json) is read the way `docker push`
reads it: `credHelpers` for this registry, else `credsStore`, else `auths`. A Credentials
object never shows its secret: not in repr, not in a message (`scrub` masks it).
"""

from __future__ import annotations

import base64
import os
import warnings
from dataclasses import dataclass, field
from typing import Any

from mlops_cli.common.errors import InputError

USERNAME_ENV = "MLOPS_REGISTRY_USERNAME"
PASSWORD_ENV = "MLOPS_REGISTRY_PASSWORD"
MASK = "******"


@dataclass(frozen=True)
class Credentials:
    source: str
    auth_config: dict[str, str] | None = field(default=None, repr=False)
    secrets: tuple[str, ...] = field(default=(), repr=False)

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            if secret:
                text = text.replace(secret, MASK)
        return text


def resolve_credentials(host: str) -> Credentials:
    """Credentials for registry `host` ("localhost:5000", "ghcr.io"), or anonymous."""
    user, password = os.environ.get(USERNAME_ENV), os.environ.get(PASSWORD_ENV)
    if user or password:
        if not (user and password):
            missing = PASSWORD_ENV if user else USERNAME_ENV
            raise InputError(
                f"{missing} is not set: set both {USERNAME_ENV} and {PASSWORD_ENV}, or neither"
            )
        return Credentials(
            f"{USERNAME_ENV}/{PASSWORD_ENV}",
            {"username": user, "password": password, "serveraddress": host},
            (password,),
        )
    return _from_docker_config(host)


def _from_docker_config(host: str) -> Credentials:
    import docker.auth
    import docker.errors

    try:
        # The SDK warns (on stderr) when a helper is missing, then fails: one message instead.
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            config = docker.auth.load_config()
            store = config.get_credential_store(host)
            found: dict[str, Any] | None = config.resolve_authconfig(host)
    except docker.errors.DockerException as exc:
        # The helper's own message, never its output: that would be the secret.
        why = str(caught[0].message) if caught else _first_line(exc)
        raise InputError(
            f"the Docker credential helper for {host} failed: {why}",
            hint=f"check `docker-credential-<helper> list`, or set {USERNAME_ENV}/{PASSWORD_ENV}",
        ) from None
    if not found:
        return Credentials("none (anonymous)", {})
    source = f"docker config ({'docker-credential-' + store if store else 'auths'})"
    keys = {k.lower(): str(v) for k, v in found.items() if v}
    auth: dict[str, str] = {"serveraddress": host}
    if "identitytoken" in keys:
        auth["identitytoken"] = keys["identitytoken"]
    else:
        auth["username"] = keys.get("username", "")
        auth["password"] = keys.get("password", "")
    secrets = tuple(v for k, v in auth.items() if k in ("password", "identitytoken") and v)
    if auth.get("password"):  # the form config.json stores it in, should anything echo it
        pair = f"{auth['username']}:{auth['password']}".encode()
        secrets += (base64.b64encode(pair).decode(),)
    return Credentials(source, auth, secrets)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__
