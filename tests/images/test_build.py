"""Model images against a real Docker engine and real registries (DESIGN.md §6)."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlops_cli.common.progress import NullReporter
from mlops_cli.images import build as images
from mlops_cli.images.container import HttpPredictor, get_json, running
from mlops_cli.project.root import open_project
from tests.conftest import mlops_bin
from tests.plugins.docker import AuthRegistry

pytestmark = pytest.mark.docker
CANARY = "CANARY-SECRET-9d41f7"
ACCEPT = ", ".join(
    [
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
    ]
)


def build(project: Path, spec: str = "churn", **kw: Any) -> images.BuildResult:
    return images.build(open_project(project), spec, reporter=NullReporter(), **kw)


def retrain(project: Path, c: float) -> None:
    """A model-only change: new params, new artifact; code and dependencies unchanged."""
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["train"]["C"] = c
    (project / "params.yaml").write_text(yaml.safe_dump(params))
    dvc = str(Path(sys.executable).with_name("dvc"))
    subprocess.run([dvc, "repro", "-q"], cwd=project, check=True, capture_output=True)


def manifest(registry: str, repo: str, tag: str, auth: str | None = None) -> tuple[str, Any]:
    request = urllib.request.Request(
        f"http://{registry}/v2/{repo}/manifests/{tag}", headers={"Accept": ACCEPT}
    )
    if auth:
        request.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
    with urllib.request.urlopen(request, timeout=10) as resp:
        return resp.headers["Docker-Content-Digest"], json.loads(resp.read())


def test_build_serve_and_predict_like_the_model_file(docker_env: Any, image_project: Path) -> None:
    import pandas as pd
    import skops.io as sio

    result = build(image_project)
    assert result.refs[0] == "127.0.0.1:5000/churn:workspace"
    assert result.refs[1].startswith("127.0.0.1:5000/churn:") and len(result.refs) == 2
    image = docker_env.images.get(result.refs[0])
    assert image.attrs["Config"]["User"] == "10001:10001"
    import hashlib

    artifact = (image_project / "models/model.skops").read_bytes()
    assert image.labels["mlops.artifact.sha256"] == hashlib.sha256(artifact).hexdigest()
    out = docker_env.containers.run(
        result.image_id, entrypoint=["id", "-u"], remove=True, network_mode="none"
    )
    assert out.decode().strip() == "10001"  # not root
    frame = pd.read_csv(image_project / "data/prepared/holdout.csv").drop(columns=["target"])
    path = image_project / "models/model.skops"
    model = sio.load(path, trusted=sio.get_untrusted_types(file=path))
    with running(result.refs[0], reporter=NullReporter(), client=docker_env) as served:
        predictor = HttpPredictor(served.url)
        assert predictor.predict(frame).tolist() == model.predict(frame).tolist()
        proba = predictor.predict_proba(frame)
        assert proba is not None and abs(proba - model.predict_proba(frame)).max() < 1e-9
        meta = get_json(f"{served.url}/metadata")
        assert meta["artifact"]["sha256"] == image.labels["mlops.artifact.sha256"]
        assert meta["git"]["commit"] == image.labels["org.opencontainers.image.revision"]
        container_id = served.container_id
    assert not docker_env.containers.list(all=True, filters={"id": container_id})


def test_model_only_change_rebuilds_the_last_layers_only(
    docker_env: Any, image_project: Path
) -> None:
    first = build(image_project)
    retrain(image_project, 0.5)
    second = build(image_project)
    assert second.image_id != first.image_id
    layers = [docker_env.images.get(r.image_id).attrs["RootFS"]["Layers"] for r in (first, second)]
    assert len(layers[0]) == len(layers[1])
    # Everything up to the model layer is shared: base, venv, runtime.
    assert layers[0][:-1] == layers[1][:-1]
    assert layers[0][-1] != layers[1][-1]
    assert second.cached_steps >= 8


def test_push_records_the_digest_the_registry_serves(
    docker_env: Any, image_project: Path, registry: str
) -> None:
    from mlops_cli.registry.records import load_record
    from mlops_cli.registry.register import register

    project = open_project(image_project)
    register(project, "churn", version="v1.0.0")
    build(image_project, "churn@v1.0.0", registry=registry)
    results = images.push(project, "churn@v1.0.0", registry=registry, reporter=NullReporter())
    assert results[0].ref == f"{registry}/churn:v1.0.0"
    digest, body = manifest(registry, "churn", "v1.0.0")
    assert results[0].digest == digest
    assert body["config"]["digest"].startswith("sha256:")
    record = load_record(open_project(image_project), "churn", "v1.0.0")
    assert {"ref": f"{registry}/churn:v1.0.0", "digest": digest, "pushed": True} in record.images
    status = subprocess.run(
        ["git", "status", "--porcelain"],
        cwd=image_project,
        capture_output=True,
        text=True,
        check=True,
    )
    assert ".mlops/models" not in status.stdout  # the record change is committed
    # Issue 10, item 7: pushing the unchanged image again is a no-op for git, and the
    # record lists every pushed ref once, sorted by ref.
    head = _git(image_project, "rev-parse", "HEAD")
    text = (image_project / ".mlops/models/churn/v1.0.0.yaml").read_bytes()
    again = images.push(project, "churn@v1.0.0", registry=registry, reporter=NullReporter())
    assert [r.digest for r in again] == [r.digest for r in results]
    assert _git(image_project, "rev-parse", "HEAD") == head
    assert (image_project / ".mlops/models/churn/v1.0.0.yaml").read_bytes() == text
    refs = [i["ref"] for i in load_record(project, "churn", "v1.0.0").images]
    assert refs == sorted(r.ref for r in results) and len(refs) == len(results) >= 2


def _git(project: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=project, capture_output=True, text=True, check=True)
    return proc.stdout.strip()


def push_cli(project: Path, registry: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*mlops_bin(), "image", "push", "churn", "--registry", registry],
        cwd=project,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
    )


def test_auth_registry_good_credentials_env_config_and_helper(
    docker_env: Any, image_project: Path, auth_registry: AuthRegistry, tmp_path: Path
) -> None:
    build(image_project, registry=auth_registry.host)
    secret = auth_registry.password
    env = {"MLOPS_REGISTRY_USERNAME": auth_registry.username, "MLOPS_REGISTRY_PASSWORD": secret}
    proc = push_cli(image_project, auth_registry.host, env)
    assert proc.returncode == 0, proc.stderr
    assert "MLOPS_REGISTRY_USERNAME/MLOPS_REGISTRY_PASSWORD" in proc.stderr
    assert secret not in proc.stdout + proc.stderr
    digest, _ = manifest(
        auth_registry.host, "churn", "workspace", f"{auth_registry.username}:{secret}"
    )
    assert digest in proc.stdout
    # ~/.docker/config.json "auths", as `docker login` writes it
    config_dir = Path(os.environ["HOME"]) / ".docker"
    config_dir.mkdir()
    token = base64.b64encode(f"{auth_registry.username}:{secret}".encode()).decode()
    (config_dir / "config.json").write_text(
        json.dumps({"auths": {auth_registry.host: {"auth": token}}})
    )
    proc = push_cli(image_project, auth_registry.host, {})
    assert proc.returncode == 0, proc.stderr
    assert "docker config (auths)" in proc.stderr
    assert secret not in proc.stdout + proc.stderr and token not in proc.stdout + proc.stderr
    # a credential helper (credHelpers), speaking the real docker-credential protocol
    helper = tmp_path / "bin" / "docker-credential-mlopstest"
    helper.parent.mkdir()
    helper.write_text(
        '#!/bin/sh\n[ "$1" = get ] || exit 1\nread host\n'
        f'printf \'{{"ServerURL":"%s","Username":"{auth_registry.username}",'
        f'"Secret":"{secret}"}}\' "$host"\n'
    )
    helper.chmod(0o755)
    (config_dir / "config.json").write_text(
        json.dumps({"credHelpers": {auth_registry.host: "mlopstest"}})
    )
    path = f"{helper.parent}{os.pathsep}{os.environ['PATH']}"
    proc = push_cli(image_project, auth_registry.host, {"PATH": path})
    assert proc.returncode == 0, proc.stderr
    assert "docker-credential-mlopstest" in proc.stderr
    assert secret not in proc.stdout + proc.stderr


def test_auth_registry_bad_or_missing_credentials_exit_3(
    docker_env: Any, image_project: Path, auth_registry: AuthRegistry
) -> None:
    build(image_project, registry=auth_registry.host)
    wrong = "not-the-password-" + auth_registry.password[:6]
    proc = push_cli(
        image_project,
        auth_registry.host,
        {"MLOPS_REGISTRY_USERNAME": auth_registry.username, "MLOPS_REGISTRY_PASSWORD": wrong},
    )
    assert proc.returncode == 3, proc.stderr
    assert "refused the credentials" in proc.stderr
    assert wrong not in proc.stdout + proc.stderr
    assert auth_registry.password not in proc.stdout + proc.stderr
    proc = push_cli(image_project, auth_registry.host, {})
    assert proc.returncode == 3, proc.stderr
    assert "none (anonymous)" in proc.stderr


def test_canary_secret_never_reaches_the_image(
    docker_env: Any, image_project: Path, tmp_path: Path
) -> None:
    (image_project / ".env").write_text(f"API_TOKEN={CANARY}\n")
    (image_project / ".dvc" / "config.local").write_text(f"[core]\n  secret = {CANARY}\n")
    result = build(image_project)
    saved = tmp_path / "image.tar"
    with saved.open("wb") as fh:
        for chunk in docker_env.images.get(result.image_id).save(named=False):
            fh.write(chunk)
    # layers are uncompressed tars inside the saved tar: a plain byte search finds any file
    with saved.open("rb") as fh:
        data = fh.read()
    assert len(data) > 10_000_000
    assert CANARY.encode() not in data
    assert b"mlops_cli/runtime/app.py" in data  # the search does see inside the layers


def test_missing_base_image_is_exit_3_naming_it(docker_env: Any, image_project: Path) -> None:
    config = yaml.safe_load((image_project / "mlops.yaml").read_text())
    config["image"]["base"] = "mlops-test/no-such-base:1"
    (image_project / "mlops.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    proc = subprocess.run(
        [*mlops_bin(), "image", "build", "churn"],
        cwd=image_project,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 3
    assert "base image mlops-test/no-such-base:1 is not present" in proc.stderr


def test_failing_build_is_exit_1_with_the_log_tail(docker_env: Any, image_project: Path) -> None:
    (image_project / "Dockerfile.jinja").write_text(
        "FROM {{ base }}\nRUN echo step-output-marker && exit 7\n"
    )
    config = yaml.safe_load((image_project / "mlops.yaml").read_text())
    config["image"]["dockerfile"] = "Dockerfile.jinja"
    (image_project / "mlops.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    proc = subprocess.run(
        [*mlops_bin(), "image", "build", "churn"],
        cwd=image_project,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 1, proc.stderr
    assert "image build failed" in proc.stderr
    assert "step-output-marker" in proc.stderr
    assert "returned a non-zero code: 7" in proc.stderr


def test_inspect_reads_lineage_from_labels(docker_env: Any, image_project: Path) -> None:
    result = build(image_project)
    proc = subprocess.run(
        [*mlops_bin(), "image", "inspect", result.refs[0], "--json"],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)["image"]
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=image_project, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert (info["model"], info["version"], info["revision"]) == ("churn", None, head)
    assert info["data"]["train"]
    assert len(info["artifact"]["sha256"]) == 64


def _labelled(client: Any) -> list[Any]:
    return client.containers.list(all=True, filters={"label": "mlops.test-container"})


def test_interrupted_test_run_leaves_no_container(docker_env: Any, image_project: Path) -> None:
    ref = build(image_project).refs[0]
    script = (
        "import sys, time\n"
        "from mlops_cli.images.container import running\n"
        "from mlops_cli.common.progress import NullReporter\n"
        f"with running({ref!r}, reporter=NullReporter()):\n"
        "    print('healthy', flush=True)\n"
        "    time.sleep(300)\n"
    )
    before = {c.id for c in _labelled(docker_env)}
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "healthy"
        assert {c.id for c in _labelled(docker_env)} - before
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode != 0
    assert {c.id for c in _labelled(docker_env)} == before


def test_interrupted_build_exits_130_and_leaves_no_container(
    docker_env: Any, image_project: Path
) -> None:
    before = {c.id for c in docker_env.containers.list(all=True)}
    proc = subprocess.Popen(
        [*mlops_bin(), "image", "build", "churn", "--no-cache"],
        cwd=image_project,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    try:
        assert proc.stderr is not None
        for line in proc.stderr:
            if "Step 4/" in line:  # the long RUN that installs the wheels
                break
        time.sleep(1)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 130
    deadline = time.monotonic() + 30
    while {c.id for c in docker_env.containers.list(all=True)} - before:
        assert time.monotonic() < deadline, "the interrupted build left a container"
        time.sleep(0.5)


def test_declared_model_tests_pass_through_the_container(
    docker_env: Any, image_project: Path
) -> None:
    from mlops_cli.common.errors import InputError
    from mlops_cli.images.imagetest import test_image

    project = open_project(image_project)
    ref = build(image_project).refs[0]
    report = test_image(project, "churn", ref, reporter=NullReporter())
    assert report.passed, [c for c in report.checks if c.passed is False]
    families = {c.family for c in report.checks}
    assert {"schema", "metrics", "invariance", "latency"} <= families
    assert report.artifact["image"] == ref
    assert not _labelled(docker_env)
    retrain(image_project, 0.3)  # the workspace model is now another file than the image's
    with pytest.raises(InputError, match="carries model file sha256"):
        test_image(open_project(image_project), "churn", ref, reporter=NullReporter())


def test_the_container_refuses_a_gadget_model_at_start(
    docker_env: Any, image_project: Path, tmp_path: Path
) -> None:
    """Issue 13 part 2: the image's runtime unpickles through the allow-list, so a gadget
    model whose sha256 matches its metadata never runs (proven live in the same image)."""
    import pickle

    import docker

    from mlops_cli.common.fs import sha256_file
    from tests.runtime.test_pickleguard import Call

    result = build(image_project)
    folder = tmp_path / "gadget"
    folder.mkdir()
    folder.chmod(0o777)  # the container's user could write the marker if the payload ran
    artifact = folder / "model.joblib"
    artifact.write_bytes(pickle.dumps(Call(os.system, "touch /gadget/pwned")))
    artifact.chmod(0o644)
    meta = {
        "schema_version": 1,
        "model": "churn",
        "artifact": {"file": artifact.name, "format": "joblib", "sha256": sha256_file(artifact)[0]},
    }
    (folder / "metadata.json").write_text(json.dumps(meta))
    volumes = {str(folder): {"bind": "/gadget", "mode": "rw"}}
    PLAIN_LOAD = "import pickle; pickle.load(open('/gadget/model.joblib', 'rb'))"
    # The control: plain unpickling in this very image runs the payload.
    docker_env.containers.run(
        result.image_id,
        entrypoint=["python", "-c", PLAIN_LOAD],
        volumes=volumes, network_mode="none", remove=True,
    )  # fmt: skip
    assert (folder / "pwned").exists()
    (folder / "pwned").unlink()
    with pytest.raises(docker.errors.ContainerError) as info:
        docker_env.containers.run(
            result.image_id, environment={"MLOPS_MODEL_DIR": "/gadget"}, volumes=volumes,
            network_mode="none", remove=True, stderr=True,
        )  # fmt: skip
    assert info.value.exit_status != 0
    assert b"allow-list" in (info.value.stderr or b"")
    assert not (folder / "pwned").exists()


def test_a_signed_image_checks_its_model_signature_at_start(
    cli: Any, docker_env: Any, image_project: Path, tmp_path: Path, isolated_env: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """Issue 13: an image of a version registered with --sign carries the model's bundle
    and model-signing; with MLOPS_MODEL_KEYS mounted in, the container verifies the model
    bytes with them (alice's key) and refuses to start with a key that did not sign it."""
    import docker

    from tests.runtime.test_signature import _ec_key
    from tests.sshkeys import keypair

    ssh_key = keypair(tmp_path, "alice")
    keys = tmp_path / "keys"
    model_key, alice_pub = _ec_key(keys, "alice")
    _, mallory_pub = _ec_key(keys, "mallory")
    gitconfig = isolated_env / ".gitconfig"
    with gitconfig.open("a") as f:
        f.write(f"[gpg]\n\tformat = ssh\n[user]\n\tsigningKey = {ssh_key}.pub\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(gitconfig))
    monkeypatch.setenv("MLOPS_SIGNING_KEY", str(model_key))
    out = cli("-C", str(image_project), "model", "register", "churn", "--sign")
    assert out.exit_code == 0, out.stderr
    result = build(image_project, "churn@v0.0.1")

    mounted = tmp_path / "mounted"
    mounted.mkdir()
    for pub in (alice_pub, mallory_pub):
        (mounted / pub.name).write_bytes(pub.read_bytes())
        (mounted / pub.name).chmod(0o644)
    mounted.chmod(0o755)
    volumes = {str(mounted): {"bind": "/keys", "mode": "ro"}}
    check = (
        "from pathlib import Path; from mlops_cli.runtime.signature import check_signature;"
        " print(check_signature(Path('/app/model')))"
    )
    out = docker_env.containers.run(
        result.image_id, entrypoint=["/opt/venv/bin/python", "-c", check],
        environment={"MLOPS_MODEL_KEYS": f"/keys/{alice_pub.name}"}, volumes=volumes,
        network_mode="none", remove=True,
    )  # fmt: skip
    assert out.decode().strip() == f"/keys/{alice_pub.name}"
    with pytest.raises(docker.errors.ContainerError) as info:
        docker_env.containers.run(
            result.image_id, environment={"MLOPS_MODEL_KEYS": f"/keys/{mallory_pub.name}"},
            volumes=volumes, network_mode="none", remove=True, stderr=True,
        )  # fmt: skip
    assert info.value.exit_status == 3
    assert b"is signed by a key it does not name" in (info.value.stderr or b"")
