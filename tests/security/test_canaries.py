"""Canary secrets, end to end: they never reach output, logs, the repository or the image.

One sweep over the whole workflow (init -> data add -> register -> test --record -> image
build -> image push -> status -> doctor) with a distinct canary in each place a user keeps
a secret: `.env`, `.dvc/config.local`, MLOPS_REGISTRY_PASSWORD (a push with wrong
credentials) and `~/.docker/config.json` (an `auths` entry for another registry). Then
every place mlops writes is searched for each canary, plain and base64-encoded.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlops_cli.common.progress import NullReporter
from mlops_cli.images import dockerd
from mlops_cli.images.build import plan
from mlops_cli.images.context import assemble
from mlops_cli.images.wheels import resolve_wheels
from mlops_cli.project.root import open_project
from tests.plugins.docker import AuthRegistry

pytestmark = pytest.mark.docker

CANARIES = {
    "env": "CANARY-dotenv-5c7e1a",
    "dvc": "CANARY-dvclocal-93b2d4",
    "password": "CANARY-regpass-1f6e08",
    "docker": "CANARY-dockercfg-b8a4c2",
}
OTHER_REGISTRY = "canary-registry.invalid:5000"


def needles(extra: list[str]) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for name, secret in [*CANARIES.items(), *((f"extra{i}", s) for i, s in enumerate(extra))]:
        out[name] = secret.encode()
        out[f"{name}/base64"] = base64.b64encode(secret.encode())
    token = base64.b64encode(f"canaryuser:{CANARIES['docker']}".encode())
    out["docker/auth-token"] = token
    return out


def find(blob: bytes, where: str, extra: list[str]) -> list[str]:
    return [f"{name} in {where}" for name, needle in needles(extra).items() if needle in blob]


def git(project: Path, *args: str) -> bytes:
    return subprocess.run(
        ["git", *args], cwd=project, capture_output=True, check=True, timeout=120
    ).stdout


def test_canaries_never_leak(
    tmp_path: Path,
    mlops: Any,
    docker_env: Any,
    base_image: str,
    auth_registry: AuthRegistry,
    isolated_env: Path,
) -> None:
    home = isolated_env
    docker_dir = home / ".docker"
    docker_dir.mkdir()
    token = base64.b64encode(f"canaryuser:{CANARIES['docker']}".encode()).decode()
    (docker_dir / "config.json").write_text(
        json.dumps({"auths": {OTHER_REGISTRY: {"auth": token}}})
    )

    env = {
        **os.environ,
        "MLOPS_REGISTRY_USERNAME": auth_registry.username,
        "MLOPS_REGISTRY_PASSWORD": CANARIES["password"],
        "MLOPS_LOCK_TIMEOUT": "30",
    }
    good_env = {**env, "MLOPS_REGISTRY_PASSWORD": auth_registry.password}
    outputs: list[tuple[str, str]] = []

    def step(*args: str, ok: tuple[int, ...] = (0,), run_env: dict[str, str] = env) -> Any:
        run = mlops(*args, cwd=project, env=run_env, timeout=900)
        outputs.append((" ".join(args), run.stdout + run.stderr))
        assert run.exit_code in ok, f"{args}: {run.exit_code}\n{run.stderr}"
        assert "Traceback" not in run.stdout + run.stderr, run.stderr
        return run

    project = tmp_path / "churn"
    run = mlops("init", "churn", "--set", "dataset=iris", cwd=tmp_path, env=env, timeout=600)
    outputs.append(("init", run.stdout + run.stderr))
    assert run.exit_code == 0, run.stderr
    # Point the image at the test base image and the auth registry, train, commit.
    config = yaml.safe_load((project / "mlops.yaml").read_text())
    config["image"].update({"base": base_image, "registry": auth_registry.host})
    (project / "mlops.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    dvc = str(Path(sys.executable).with_name("dvc"))
    subprocess.run([dvc, "repro", "-q"], cwd=project, check=True, capture_output=True, env=env)
    git(project, "add", "-A")
    git(project, "commit", "-qm", "train")
    # The secrets a user keeps next to the project (never `git add -A` from here on).
    (project / ".env").write_text(f"API_TOKEN={CANARIES['env']}\n")
    (project / ".dvc" / "config.local").write_text(
        "['remote \"backup\"']\n    url = ssh://canaryuser@127.0.0.1:1/srv/dvc\n"
        f"    password = {CANARIES['dvc']}\n"
    )

    # A second data set (a copy of the raw one): data add without retraining.
    (project / "data/raw/extra.csv").write_bytes((project / "data/raw/data.csv").read_bytes())
    (project / "schemas/extra.yaml").write_bytes((project / "schemas/raw.yaml").read_bytes())
    step("data", "add", "data/raw/extra.csv")
    git(project, "add", "schemas/extra.yaml")
    git(project, "commit", "-qm", "extra data")
    step("model", "register", "churn", "--version", "v1.0.0")
    step("test", "churn@v1.0.0", "--record")
    step("image", "build", "churn@v1.0.0")
    wrong = step("image", "push", "churn@v1.0.0", ok=(3,))  # canary password: refused
    assert "refused the credentials" in wrong.stderr
    step("image", "push", "churn@v1.0.0", run_env=good_env)
    step("status", ok=(0, 1))
    step("status", "--json", ok=(0, 1))
    step("doctor", ok=(0, 3))
    step("doctor", "--json", ok=(0, 3))

    extra = [auth_registry.password]
    # The search works: it finds each canary where it was put.
    assert find((project / ".env").read_bytes(), ".env", extra) == ["env in .env"]
    assert "docker/auth-token in cfg" in find((docker_dir / "config.json").read_bytes(), "cfg", [])
    leaks: list[str] = []
    # 1. every command's stdout and stderr
    for name, text in outputs:
        leaks += find(text.encode(), f"output of `{name}`", extra)
    # 2. crash logs and anything else mlops left under HOME (but the docker config itself)
    for path in home.rglob("*"):
        if path.is_file() and docker_dir not in path.parents:
            leaks += find(path.read_bytes(), str(path), extra)
    # 3. every git-tracked file, every commit's patch, every tag message
    for rel in git(project, "ls-files", "-z").decode().split("\0"):
        if rel and (project / rel).is_file():
            leaks += find((project / rel).read_bytes(), f"tracked file {rel}", extra)
    assert ".env" not in git(project, "ls-files").decode().split()
    leaks += find(git(project, "log", "-p", "--all"), "git log -p --all", extra)
    leaks += find(git(project, "for-each-ref", "--format=%(contents)"), "tag messages", extra)
    # 4. the image: every layer (docker save), its config and labels
    ref = f"{auth_registry.host}/churn:v1.0.0"
    image = docker_env.images.get(ref)
    with tempfile.TemporaryFile() as fh:
        for chunk in image.save(named=False):
            fh.write(chunk)
        fh.seek(0)
        saved = fh.read()
    assert b"mlops_cli/runtime/app.py" in saved  # the search does see inside the layers
    leaks += find(saved, "docker save", extra)
    leaks += find(json.dumps(image.attrs).encode(), "docker inspect", extra)
    # 5. the build context, assembled as `image build` does
    project_obj = open_project(project)
    the_plan = plan(project_obj, "churn@v1.0.0", reporter=NullReporter())
    client = dockerd.connect()
    platform = dockerd.probe_platform(client, dockerd.require_image(client, the_plan.base))
    context = assemble(
        the_plan.bundle, resolve_wheels(the_plan.bundle.pins, platform), the_plan.dockerfile
    )
    try:
        assert "Dockerfile" in context.files and not any(".env" in f for f in context.files)
        with tempfile.TemporaryFile() as fh:
            context.tar(fh)
            fh.seek(0)
            leaks += find(fh.read(), "build context", extra)
    finally:
        import shutil

        shutil.rmtree(context.folder, ignore_errors=True)

    assert not leaks, "canary secrets leaked:\n" + "\n".join(leaks)

    # The image runs as a non-root user.
    user = image.attrs["Config"].get("User") or ""
    uid = user.split(":")[0]
    assert uid not in ("", "root", "0"), f"the image runs as {user!r}"
