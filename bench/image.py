"""Model images: cold build vs rebuild after a model-only change, bytes of the second push,
image size against what it holds.

Targets (issue 5):
  rebuild after a model-only change <= 15% of a cold build (the model is the last layer);
  the second push uploads the model layer only (bytes vs the model layer's own size);
  image size vs base + wheels + model: reported, with the installed-size overhead named.

Needs the Docker services (scripts/services.sh docker); prints SKIP and exits 0 without them.
Each figure is measured in this run against its anchor measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

import yaml
from common import Row, mlops_cmd, report

SERVICES = Path(os.environ.get("MLOPS_SERVICES_DIR", "/tmp/mlops-services")) / "docker.env"
REBUILD_TARGET = 0.15
ACCEPT = (
    "application/vnd.docker.distribution.manifest.v2+json,"
    "application/vnd.oci.image.manifest.v1+json"
)


def services() -> dict[str, str] | None:
    if not SERVICES.is_file():
        return None
    pairs = (line.partition("=") for line in SERVICES.read_text().splitlines())
    return {k: v for k, sep, v in pairs if sep}


def sh(cmd: list[str], cwd: Path, env: dict[str, str]) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        raise SystemExit(f"{cmd} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    out = sh(cmd, cwd, env)
    return time.perf_counter() - start, out


def manifest(registry: str, repo: str, tag: str) -> dict:
    request = urllib.request.Request(
        f"http://{registry}/v2/{repo}/manifests/{tag}", headers={"Accept": ACCEPT}
    )
    with urllib.request.urlopen(request, timeout=30) as resp:
        return json.loads(resp.read())


def make_project(work: Path, env: dict[str, str], base: str, registry: str, name: str) -> Path:
    sh([*mlops_cmd(), "init", "proj", "--set", "dataset=breast_cancer", "--no-git"], work, env)
    root = work / "proj"
    config = yaml.safe_load((root / "mlops.yaml").read_text())
    config["image"].update({"base": base, "registry": registry, "name": name})
    (root / "mlops.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    dvc = str(Path(sys.executable).with_name("dvc"))
    for cmd in (
        ["git", "init", "-q"],
        [dvc, "init", "-q"],
        [dvc, "add", "-q", "data/raw/data.csv"],
        [dvc, "repro", "-q"],
        ["git", "add", "-A"],
        ["git", "commit", "-qm", "trained"],
    ):
        sh(cmd, root, env)
    return root


def retrain(root: Path, env: dict[str, str], c: float) -> None:
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["train"]["C"] = c
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    sh([str(Path(sys.executable).with_name("dvc")), "repro", "-q"], root, env)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.parse_args()
    found = services()
    if found is None:
        print(f"image      SKIP: no {SERVICES} (run scripts/services.sh docker as root)")
        return 0
    import docker

    client = docker.DockerClient(base_url=found["MLOPS_TEST_DOCKER_HOST"])
    base, registry = found["MLOPS_TEST_BASE_IMAGE"], found["MLOPS_TEST_REGISTRY"]
    work = Path(tempfile.mkdtemp(prefix="mlops-bench-image-"))
    home = work / "home"
    home.mkdir()
    (home / ".gitconfig").write_text("[user]\n\tname = bench\n\temail = bench@example.com\n")
    env = {
        **os.environ,
        "HOME": str(home),
        "NO_COLOR": "1",
        "DVC_NO_ANALYTICS": "1",
        "DOCKER_HOST": found["MLOPS_TEST_DOCKER_HOST"],
        # Wheels resolved once per machine: the build itself is what is timed.
        "MLOPS_WHEEL_CACHE": os.environ.get("MLOPS_WHEEL_CACHE", "/var/cache/mlops-test/wheels"),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    name = f"bench-{uuid.uuid4().hex[:8]}"
    try:
        root = make_project(work, env, base, registry, name)
        build = [*mlops_cmd(), "image", "build", "proj", "--json"]
        sh(build, root, env)  # fills the wheel cache (network at most once per machine)
        cold, out = timed([*build, "--no-cache"], root, env)
        # What a user pushes is a build that used the layer cache; the rebuild after the
        # model changes resolves the cache the same way. (The --no-cache image above only
        # times a cold build: its layers are not the ones the cache hands out later.)
        sh(build, root, env)
        push = [*mlops_cmd(), "image", "push", "proj", "--json"]
        sh(push, root, env)
        first = manifest(registry, name, "workspace")
        retrain(root, env, 0.5)
        rebuild, out = timed(build, root, env)
        second = json.loads(out)["result"]
        report(
            Row(
                "image",
                "rebuild after model-only change",
                rebuild,
                "cold build (--no-cache)",
                cold,
                "s",
                f"<= {REBUILD_TARGET:.0%}",
                rebuild / cold <= REBUILD_TARGET,
            )
        )
        pushed = json.loads(sh(push, root, env))["results"][0]
        m2 = manifest(registry, name, "workspace")
        known = {lay["digest"] for lay in first["layers"]}
        new = [lay for lay in m2["layers"] if lay["digest"] not in known]
        uploaded = sum(lay["size"] for lay in new) + m2["config"]["size"]
        model_layer = m2["layers"][-1]["size"] + m2["config"]["size"]
        only_model = new == m2["layers"][-1:] and len(pushed["pushed_layers"]) == 1
        report(
            Row(
                "image",
                "bytes uploaded by second push",
                uploaded / 1e3,
                "model layer + config",
                model_layer / 1e3,
                "kB",
                "model only",
                only_model,
            )
        )
        total_compressed = sum(lay["size"] for lay in m2["layers"])
        print(
            f"image      layers pushed the second time: {len(new)} of {len(m2['layers'])}"
            f" ({uploaded / 1e3:.1f} kB of {total_compressed / 1e6:.1f} MB compressed)"
        )
        wheel_bytes = int(second["wheel_bytes"])
        base_size = client.images.get(base).attrs["Size"]
        model_bytes = (root / "models/model.skops").stat().st_size
        anchor = base_size + wheel_bytes + model_bytes
        image_size = second["size"]
        report(
            Row(
                "image",
                "image size",
                image_size / 1e6,
                "base + wheels + model",
                anchor / 1e6,
                "MB",
                "<= 2.5x",
                image_size / anchor <= 2.5,
            )
        )
        print(
            f"image      base {base_size / 1e6:.0f} MB, wheels {wheel_bytes / 1e6:.0f} MB"
            f" (installed: {(image_size - base_size - model_bytes) / 1e6:.0f} MB incl."
            f" runtime), model {model_bytes / 1e3:.0f} kB"
        )
    finally:
        for image in client.images.list(name=f"{registry}/{name}"):
            for tag in image.tags:
                client.images.remove(tag, force=True)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
