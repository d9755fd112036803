"""Docker engine, registries and base image for tests (started by scripts/services.d/docker.sh).

Everything is read from $MLOPS_SERVICES_DIR/docker.env (default /tmp/mlops-services), which
the service script writes, the auth registry's generated password included: no credential
lives in the repository. Without a daemon the tests skip with the reason; with
MLOPS_REQUIRE_ALL=1 (CI) they fail instead.
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.required import unavailable

SERVICES_DIR = Path(os.environ.get("MLOPS_SERVICES_DIR", "/tmp/mlops-services"))
ENV_FILE = SERVICES_DIR / "docker.env"
# Wheels are resolved once per machine and shared by every test and run.
WHEEL_CACHE = Path(os.environ.get("MLOPS_TEST_CACHE_DIR", "/var/cache/mlops-test")) / "wheels"
HOW = "run `sudo make services` (scripts/services.sh docker) to start them"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "docker: needs a Docker engine (skips without one; required in CI)"
    )


@dataclass(frozen=True)
class AuthRegistry:
    host: str
    username: str
    password: str = ""

    def __repr__(self) -> str:  # the password stays out of pytest's reports
        return f"AuthRegistry(host={self.host!r}, username={self.username!r})"


@pytest.fixture(scope="session")
def docker_services() -> dict[str, str]:
    if not ENV_FILE.is_file():
        unavailable(f"Docker services are not running: no {ENV_FILE}; {HOW}")
    values: dict[str, str] = {}
    for line in ENV_FILE.read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip()] = value.strip()
    return values


@pytest.fixture(scope="session")
def docker_client(docker_services: dict[str, str]) -> Iterator[Any]:
    import docker
    import docker.errors

    url = docker_services.get("MLOPS_TEST_DOCKER_HOST", "unix:///var/run/docker.sock")
    try:
        client = docker.DockerClient(base_url=url, timeout=600)
        client.ping()
    except docker.errors.DockerException as exc:
        unavailable(f"no Docker daemon answers at {url} ({exc}); {HOW}")
    yield client
    client.close()


@pytest.fixture(scope="session")
def base_image(docker_client: Any, docker_services: dict[str, str]) -> str:
    import docker.errors

    ref = docker_services.get("MLOPS_TEST_BASE_IMAGE", "mlops-test/python:3.11-bookworm")
    try:
        docker_client.images.get(ref)
    except docker.errors.ImageNotFound:
        unavailable(f"the test base image {ref} is missing; {HOW}")
    return ref


def _answers(host: str) -> bool:
    try:
        with urllib.request.urlopen(f"http://{host}/v2/", timeout=3):
            return True
    except urllib.error.HTTPError as exc:
        return exc.code == 401
    except OSError:
        return False


@pytest.fixture(scope="session")
def registry(docker_services: dict[str, str]) -> str:
    """host:port of the registry without authentication."""
    host = docker_services.get("MLOPS_TEST_REGISTRY", "")
    if not host or not _answers(host):
        unavailable(f"the test registry {host or '(none)'} does not answer; {HOW}")
    return host


@pytest.fixture(scope="session")
def auth_registry(docker_services: dict[str, str]) -> AuthRegistry:
    """The htpasswd-protected registry and its generated credentials."""
    host = docker_services.get("MLOPS_TEST_AUTH_REGISTRY", "")
    if not host or not _answers(host):
        unavailable(f"the test auth registry {host or '(none)'} does not answer; {HOW}")
    return AuthRegistry(
        host,
        docker_services["MLOPS_TEST_AUTH_USERNAME"],
        docker_services["MLOPS_TEST_AUTH_PASSWORD"],
    )


@pytest.fixture
def docker_env(
    docker_client: Any,
    docker_services: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path_factory: pytest.TempPathFactory,
) -> Any:
    """The environment an `mlops image` command needs: DOCKER_HOST and a shared wheel cache."""
    monkeypatch.setenv(
        "DOCKER_HOST", docker_services.get("MLOPS_TEST_DOCKER_HOST", "unix:///var/run/docker.sock")
    )
    cache = WHEEL_CACHE
    try:
        cache.mkdir(parents=True, exist_ok=True)
        writable = os.access(cache, os.W_OK)
    except OSError:
        writable = False
    if not writable:
        cache = tmp_path_factory.getbasetemp() / "wheels"
    monkeypatch.setenv("MLOPS_WHEEL_CACHE", str(cache))
    monkeypatch.delenv("MLOPS_REGISTRY_USERNAME", raising=False)
    monkeypatch.delenv("MLOPS_REGISTRY_PASSWORD", raising=False)
    return docker_client
