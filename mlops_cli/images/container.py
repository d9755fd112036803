"""Run a model image for a while (`mlops test --image`) and talk to it over HTTP.

The container listens on a free 127.0.0.1 port: published from the container where the
daemon has a bridge network, with host networking where it has none (dockerd
--bridge=none), the port then passed in through $MLOPS_HOST/$MLOPS_PORT. It is always
removed: on success, on failure, on Ctrl-C.
"""

from __future__ import annotations

import contextlib
import json
import socket
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from mlops_cli.common.errors import CheckFailed, InputError
from mlops_cli.common.progress import Reporter
from mlops_cli.images import dockerd

CONTAINER_LABEL = "mlops.test-container"
HEALTH_TIMEOUT = 90.0


@dataclass(frozen=True)
class RunningImage:
    ref: str
    container_id: str
    url: str  # http://127.0.0.1:PORT
    network: str  # "host" or "bridge"


class HttpPredictor:
    """modeltests' Predictor over a served model: POST /predict with the frame's records."""

    def __init__(self, url: str, *, timeout: float = 60.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        # The served model's labels, in the order of its probability columns (known once
        # it has answered a prediction).
        self.classes: list[Any] | None = None

    def _answer(self, frame: Any) -> dict[str, Any]:
        # pandas' own JSON writer: numpy scalars, NaN -> null, dates as ISO strings.
        records = json.loads(frame.to_json(orient="records", date_format="iso"))
        body = post_json(f"{self.url}/predict", records, timeout=self.timeout)
        if body.get("classes") is not None:
            self.classes = list(body["classes"])
        return body

    def predict(self, frame: Any) -> Any:
        import numpy as np

        return np.asarray(self._answer(frame)["predictions"])

    def predict_proba(self, frame: Any) -> Any | None:
        import numpy as np

        proba = self._answer(frame).get("probabilities")
        return None if proba is None else np.asarray(proba, dtype=float)


def post_json(url: str, payload: Any, *, timeout: float = 60.0) -> dict[str, Any]:
    data = json.dumps(payload).encode("utf-8")
    request = urllib.request.Request(
        url, data=data, headers={"content-type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            return dict(json.loads(resp.read()))
    except urllib.error.HTTPError as exc:
        body = exc.read().decode("utf-8", "replace")
        try:
            problems = json.loads(body).get("problems") or [body]
        except ValueError:
            problems = [body]
        raise CheckFailed(
            f"{url} answered {exc.code}: " + "; ".join(str(p) for p in problems[:5])
        ) from None
    except OSError as exc:
        raise CheckFailed(f"{url} did not answer: {exc}") from None


def get_json(url: str, *, timeout: float = 10.0) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return dict(json.loads(resp.read()))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def running(
    ref: str,
    *,
    reporter: Reporter,
    health_timeout: float = HEALTH_TIMEOUT,
    client: Any = None,
) -> Iterator[RunningImage]:
    """Run image `ref`, wait until /health answers, yield it, and always remove it."""
    import docker.errors

    client = client or dockerd.connect()
    image = dockerd.require_image(client, ref, what="image")
    port = free_port()
    name = f"mlops-test-{uuid.uuid4().hex[:12]}"
    inner = int(image.labels.get("mlops.port", 0) or 0) or _exposed_port(image) or 8080
    kwargs: dict[str, Any] = {"labels": {CONTAINER_LABEL: "1"}, "name": name, "detach": True}
    if dockerd.has_bridge(client):
        network = "bridge"
        kwargs["ports"] = {f"{inner}/tcp": ("127.0.0.1", port)}
        kwargs["environment"] = {"MLOPS_PORT": str(inner)}
    else:
        network = "host"
        kwargs["network_mode"] = "host"
        kwargs["environment"] = {"MLOPS_HOST": "127.0.0.1", "MLOPS_PORT": str(port)}
    container = None
    try:
        reporter.step(f"starting {ref} on 127.0.0.1:{port} ({network} network)")
        try:
            container = client.containers.run(image.id, **kwargs)
        except docker.errors.APIError as exc:
            raise InputError(f"cannot start {ref}: {dockerd.short_error(exc)}") from None
        url = f"http://127.0.0.1:{port}"
        _wait_healthy(container, url, ref, health_timeout)
        reporter.step(f"{ref} is healthy")
        yield RunningImage(ref, container.id, url, network)
    finally:
        if container is not None:
            with contextlib.suppress(docker.errors.DockerException):
                container.remove(force=True)


def _exposed_port(image: Any) -> int | None:
    exposed = (image.attrs.get("Config") or {}).get("ExposedPorts") or {}
    for key in exposed:
        with contextlib.suppress(ValueError):
            return int(str(key).split("/")[0])
    return None


def _wait_healthy(container: Any, url: str, ref: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as resp:
                if resp.status == 200:
                    return
        except (OSError, ValueError):
            pass
        container.reload()
        if container.status in ("exited", "dead"):
            logs = container.logs(tail=15).decode("utf-8", "replace").strip()
            raise CheckFailed(
                f"{ref} exited before it was healthy (exit code"
                f" {container.attrs.get('State', {}).get('ExitCode')}); last lines:\n  "
                + "\n  ".join(logs.splitlines() or ["(no output)"])
            )
        if time.monotonic() > deadline:
            raise CheckFailed(f"{ref} did not answer {url}/health within {timeout:.0f} s")
        time.sleep(0.25)
