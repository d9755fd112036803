"""images/dockerd.py: the Docker SDK boundary, against the real daemon the tests use: the
connection (and the message when there is none), images looked up and never pulled, the
base image's platform probed once and cached."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mlops_cli.common.errors import InputError
from mlops_cli.images import dockerd

pytestmark = pytest.mark.docker


def test_no_daemon_names_docker_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    with pytest.raises(InputError) as info:
        dockerd.connect()
    assert info.value.message.startswith(
        "cannot reach the Docker daemon at unix:///nonexistent/docker.sock: "
    )
    assert "DOCKER_HOST" in (info.value.hint or "")


def test_images_are_looked_up_never_pulled(docker_env: Any, base_image: str) -> None:
    client = dockerd.connect()
    image = dockerd.require_image(client, base_image)
    assert base_image in image.tags
    assert isinstance(dockerd.image_labels(client, base_image), dict)
    with pytest.raises(InputError, match="base image mlops-test/none:0 is not present") as info:
        dockerd.require_image(client, "mlops-test/none:0")
    assert "never pulls" in (info.value.hint or "")
    with pytest.raises(InputError, match="image mlops-test/none:0 is not present") as built:
        dockerd.image_labels(client, "mlops-test/none:0")
    assert "mlops image build" in (built.value.hint or "")
    assert isinstance(dockerd.has_bridge(client), bool)


def test_the_platform_is_probed_once_per_image(
    docker_env: Any, base_image: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLOPS_WHEEL_CACHE", str(tmp_path / "wheels"))
    client = dockerd.connect()
    image = dockerd.require_image(client, base_image)
    platform = dockerd.probe_platform(client, image)
    assert platform.python == "3.11" and platform.machine
    cached = json.loads((tmp_path / "wheels" / "platforms.json").read_text())
    assert cached[image.id]["python"] == "3.11"
    cached[image.id]["machine"] = "from-the-cache"
    (tmp_path / "wheels" / "platforms.json").write_text(json.dumps(cached))
    assert dockerd.probe_platform(client, image).machine == "from-the-cache"  # not run again


def test_short_errors_stay_short() -> None:
    class Explained(Exception):
        explanation = "a   very\nlong " + "x" * 400

    text = dockerd.short_error(Explained("ignored"))
    assert len(text) == 300 and text.endswith("...") and "\n" not in text
    assert dockerd.short_error(ValueError("plain  message")) == "plain message"
