"""`mlops deploy check`, the running half, against the real Docker engine and registry: the
image pulled by the digest the manifest pins and started with the manifest's constraints
(read-only root, its uid, no capabilities, tmpfs for emptyDir, host network), probed by the
manifest's own readiness probe, asked /predict.

The failing images are cheap one-layer children of the built one, pushed to the registry
and recorded as the version's last push (so the manifest pins them): one whose entrypoint
writes into its own root file system first (fine on a writable root, refused read-only),
one whose model folder only root can read (fine as root, refused as uid 10001).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mlops_cli.common.progress import NullReporter
from mlops_cli.images import build as images
from mlops_cli.images.container import CONTAINER_LABEL
from mlops_cli.project.root import open_project
from mlops_cli.registry import records as registry_records
from mlops_cli.registry.register import register
from tests.plugins.docker import WHEEL_CACHE

pytestmark = pytest.mark.docker
NAME = "churn"
FORCE = ("--force", "--reason", "deploy check tests")
SERVE = '["/opt/venv/bin/python", "-m", "mlops_cli.runtime", "serve"]'
WRITES_ROOT = f"""FROM {{base}}
USER 0
RUN mkdir /app/state && chown 10001:10001 /app/state
USER 10001:10001
ENTRYPOINT ["/bin/sh", "-c", "echo started > /app/state/started && exec \\"$@\\"", "sh"]
CMD {SERVE}
"""
ROOT_ONLY_MODEL = """FROM {base}
USER 0
RUN chown -R 0:0 /app/model && chmod -R go-rwx /app/model
USER 10001:10001
"""


@pytest.fixture(scope="module")
def pushed(
    trained_project: Path,
    registry: str,
    docker_client: Any,
    docker_services: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Path, str]]:
    """v0.1.0 built, pushed (digest recorded) and in prod: once for the module."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(
            "DOCKER_HOST",
            docker_services.get("MLOPS_TEST_DOCKER_HOST", "unix:///var/run/docker.sock"),
        )
        cache = WHEEL_CACHE if os.access(WHEEL_CACHE, os.W_OK) else None
        mp.setenv("MLOPS_WHEEL_CACHE", str(cache or tmp_path_factory.mktemp("wheels")))
        root = tmp_path_factory.mktemp("deploy-check") / NAME
        shutil.copytree(trained_project, root, symlinks=True)
        project = open_project(root)
        register(project, NAME, version="v0.1.0")
        images.build(project, f"{NAME}@v0.1.0", registry=registry, reporter=NullReporter())
        images.push(project, f"{NAME}@v0.1.0", registry=registry, reporter=NullReporter())
        yield root, f"{registry}/{NAME}:v0.1.0"


@pytest.fixture
def project(pushed: tuple[Path, str], tmp_path: Path, mlops: Any) -> Path:
    root = tmp_path / NAME
    shutil.copytree(pushed[0], root, symlinks=True)
    run = mlops("-C", str(root), "model", "promote", NAME, "v0.1.0", "prod", *FORCE)
    assert run.exit_code == 0, run.stderr
    return root


def _leftovers(client: Any) -> list[Any]:
    return list(client.containers.list(all=True, filters={"label": CONTAINER_LABEL}))


def _child(
    client: Any, registry: str, base: str, dockerfile: str, tag: str, tmp: Path
) -> dict[str, str]:
    """Build a one-layer child of `base`, push it; the record entry `image push` writes."""
    (tmp / "Dockerfile").write_text(dockerfile.format(base=base))
    ref = f"{registry}/{NAME}:{tag}"
    client.images.build(path=str(tmp), tag=ref, rm=True, network_mode="none")
    result = images.push_ref(client, ref, reporter=NullReporter())
    return {"ref": ref, "digest": result.digest, "pushed": True}


def test_a_good_stage_runs_as_declared_and_answers_predict(
    mlops: Any, project: Path, docker_client: Any, docker_services: dict[str, str]
) -> None:
    run = mlops("-C", str(project), "deploy", "init")
    assert run.exit_code == 0, run.stderr
    before = {c.id for c in _leftovers(docker_client)}
    run = mlops("-C", str(project), "deploy", "check", f"{NAME}#prod", "--json")
    assert run.exit_code == 0, run.stderr
    doc = json.loads(run.stdout)
    assert doc["passed"] is True and doc["result"]["overlays"] == ["prod"]
    ran = doc["run"]
    digest = doc["result"]["digest"]
    assert ran["image"].endswith(f"@{digest}") and ran["problems"] == []
    assert ran["user"] == "10001:10001"
    args = ran["docker_args"]
    for flag in ("--read-only", "--cap-drop=ALL", "no-new-privileges", "--network"):
        assert flag in args
    assert "--tmpfs=/tmp:rw,exec,nosuid,nodev" in args and "--env=MLOPS_HOST=127.0.0.1" in args
    assert ran["declared_port"] == 8080 and ran["predictions"] == 3
    assert 0 < ran["ready_seconds"] < ran["budget_seconds"]
    assert {c.id for c in _leftovers(docker_client)} == before  # always removed
    text = mlops("-C", str(project), "deploy", "check", f"{NAME}#prod")
    assert text.exit_code == 0, text.stderr
    assert "2 objects of churn@v0.1.0 and deploy/overlays/prod valid for Kubernetes 1.32" in (
        text.stderr
    )
    assert "as 10001:10001, read-only; /predict answered 3 prediction(s)" in text.stderr


@pytest.mark.parametrize(
    ("dockerfile", "tag", "sane", "says"),
    [
        # Its entrypoint's write, on a writable root, as its own uid.
        (WRITES_ROOT, "zz-writes-root", {"command": ["echo", "ok"]}, "Read-only file system"),
        # Its model folder, read as root.
        (
            ROOT_ONLY_MODEL,
            "zz-root-only-model",
            {
                "user": "0",
                "entrypoint": ["sh", "-c", "test -r /app/model/metadata.json && echo ok"],
            },
            "Permission denied",
        ),
    ],
    ids=["read-only-root", "uid-10001"],
)
def test_an_image_that_cannot_run_as_declared_fails_with_its_last_lines(
    mlops: Any,
    project: Path,
    pushed: tuple[Path, str],
    registry: str,
    docker_client: Any,
    tmp_path: Path,
    dockerfile: str,
    tag: str,
    sane: dict[str, Any],
    says: str,
) -> None:
    entry = _child(docker_client, registry, pushed[1], dockerfile, tag, tmp_path)
    out = docker_client.containers.run(entry["ref"], remove=True, network_mode="none", **sane)
    assert out.strip() == b"ok"  # without the manifest's constraints it runs
    registry_records.add_images(open_project(project), NAME, "v0.1.0", [entry])
    before = {c.id for c in _leftovers(docker_client)}
    run = mlops("-C", str(project), "deploy", "check", f"{NAME}#prod", "--json")
    assert run.exit_code == 1, run.stderr
    doc = json.loads(run.stdout)
    ran = doc["run"]
    assert ran["image"] == f"{registry}/{NAME}@{entry['digest']}"
    assert ran["ready_seconds"] is None and "exited" in ran["problems"][0]
    assert any(says in line for line in ran["logs"]), ran["logs"]
    assert doc["error"]["exit_code"] == 1
    text = mlops("-C", str(project), "deploy", "check", f"{NAME}#prod")
    assert text.exit_code == 1 and says in text.stderr and "last lines" in text.stderr
    assert {c.id for c in _leftovers(docker_client)} == before


def test_a_digest_the_registry_does_not_have_fails_the_pull(
    mlops: Any, project: Path, registry: str
) -> None:
    missing = "sha256:" + "e" * 64
    entry = {"ref": f"{registry}/{NAME}:zz-missing", "digest": missing, "pushed": True}
    registry_records.add_images(open_project(project), NAME, "v0.1.0", [entry])
    run = mlops("-C", str(project), "deploy", "check", f"{NAME}#prod", "--json")
    assert run.exit_code == 1, run.stderr
    assert json.loads(run.stdout)["run"]["problems"][0].startswith(f"cannot pull {registry}/")
