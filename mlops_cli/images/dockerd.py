"""The boundary with the Docker engine: connecting, and turning docker errors into ours.

Everything here goes through the Docker SDK (`docker` package), imported inside the
functions. A daemon that does not answer is exit 3 with how to point at one.
"""

from __future__ import annotations

import json
import os
from typing import Any, Protocol

from mlops_cli.common.errors import InputError
from mlops_cli.images.wheels import Platform, cache_root

PROBE_TIMEOUT = 120


class Progress(Protocol):
    """Optional on a Reporter: per-layer progress of a pull/push (bytes done of total)."""

    def layer(self, layer_id: str, status: str, current: int | None, total: int | None) -> None:
        """A layer changed status or made progress."""


def connect() -> Any:
    """A DockerClient for $DOCKER_HOST (or the default socket) that has answered a ping."""
    import docker
    import docker.errors

    where = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    try:
        client = docker.from_env(timeout=600)
        client.ping()
    except docker.errors.DockerException as exc:
        raise InputError(
            f"cannot reach the Docker daemon at {where}: {_short(exc)}",
            hint="start Docker (dockerd), or point DOCKER_HOST at a running daemon,"
            " e.g. DOCKER_HOST=unix:///var/run/docker.sock",
        ) from None
    return client


def require_image(client: Any, ref: str, *, what: str = "base image") -> Any:
    """The local image `ref`; InputError naming it when the daemon does not have it."""
    import docker.errors

    try:
        return client.images.get(ref)
    except docker.errors.ImageNotFound:
        hint = (
            f"`docker pull {ref}` (or build it), or set image.base in mlops.yaml;"
            " mlops builds without network, so it never pulls"
            if what == "base image"
            else "build it first (`mlops image build MODEL`, with the same --registry)"
        )
        raise InputError(f"{what} {ref} is not present in the Docker daemon", hint=hint) from None
    except docker.errors.APIError as exc:
        raise InputError(f"cannot look up {what} {ref}: {_short(exc)}") from None


def has_bridge(client: Any) -> bool:
    """Whether containers can publish ports (a daemon started with --bridge=none cannot)."""
    return bool(client.networks.list(names=["bridge"]))


def probe_platform(client: Any, image: Any) -> Platform:
    """Python version, machine and glibc of `image`, asked once per image id and cached."""
    cache = cache_root() / "platforms.json"
    known: dict[str, Any] = {}
    if cache.is_file():
        try:
            known = json.loads(cache.read_text())
        except ValueError:
            known = {}
    if image.id in known:
        return Platform(**known[image.id])
    script = (
        "import json, platform, sys; lib, ver = platform.libc_ver();"
        " print(json.dumps({'python': '%d.%d' % sys.version_info[:2],"
        " 'machine': platform.machine(), 'glibc': ver if lib == 'glibc' else None}))"
    )
    import docker.errors

    try:
        out = client.containers.run(
            image.id,
            ["python3", "-c", script],
            entrypoint=[],
            network_mode="none",
            remove=True,
            user="0",
            stdout=True,
            stderr=True,
        )
        found = Platform(**json.loads(out.decode().strip().splitlines()[-1]))
    except (docker.errors.DockerException, ValueError, TypeError, IndexError) as exc:
        tags = ", ".join(image.tags) or image.id
        raise InputError(
            f"cannot run python3 in the base image {tags}: {_short(exc)}",
            hint="the base image needs python3 on its PATH (with the venv module)",
        ) from None
    known[image.id] = found.__dict__
    from mlops_cli.common.fs import atomic_write_text

    cache.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(cache, json.dumps(known, indent=1, sort_keys=True) + "\n")
    return found


def _short(exc: BaseException) -> str:
    text = " ".join(str(getattr(exc, "explanation", None) or exc).split())
    return text if len(text) <= 300 else text[:297] + "..."


def short_error(exc: BaseException) -> str:
    return _short(exc)


def image_labels(client: Any, ref: str) -> dict[str, str]:
    image = require_image(client, ref, what="image")
    return dict(image.labels or {})
