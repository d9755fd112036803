"""A team of two on one project (issue 10, part 2), against real git, a real bare origin,
the real pre-push hook installed by the real `pre-commit`, and each kind of shared DVC
remote: a local folder, SSH (tests/plugins/sshd.py) and S3 (tests/plugins/s3.py).

Clone A trains, registers, tests, promotes and pushes code, tags and data through the
hook; clone B, with its own HOME and DVC cache, clones, pulls, validates, tests the prod
version, retrains, registers, promotes and pushes; A pulls and sees B's version and stage. Every
command exits 0 and `status --check` is green in both. Then A retrains and forgets
`mlops data push`: `status --check --remote` and the pre-push hook both exit 1 naming
the model. What each clone wrote is checked with DVC's own `dvc status -c`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from mlops_cli.project.root import open_project
from mlops_cli.registry import records as registry
from tests.conftest import mlops_bin
from tests.modelproject import NAME, build_env, tool, trained

MODEL = "models/model.skops"


@dataclass
class Clone:
    root: Path
    env: dict[str, str]

    def run(self, *cmd: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            list(cmd), cwd=self.root, env=self.env, capture_output=True, text=True,
            timeout=600, stdin=subprocess.DEVNULL, check=False,
        )  # fmt: skip
        if ok:
            assert proc.returncode == 0, f"{cmd} -> {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
        return proc

    def mlops(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run(*mlops_bin(), *args, ok=ok)

    def git(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run("git", *args, ok=ok)

    def dvc(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run(tool("dvc"), *args)

    def remote_lacks(self) -> dict[str, str]:
        """DVC's own word on what the shared remote lacks of this workspace."""
        return dict(json.loads(self.dvc("status", "-c", "--json").stdout or "{}"))

    def retrain(self, c: float, message: str) -> None:
        params = self.root / "params.yaml"
        text = params.read_text()
        params.write_text(re.sub(r"(?m)^  C: [0-9.e-]+ ", f"  C: {c} ", text, count=1))
        assert f"C: {c}" in params.read_text()
        self.dvc("repro", "-q")
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)  # through the pre-commit hooks

    def image_recorded_by_ci(self, version: str) -> None:
        """What the CI image job leaves behind (the digest of the image it pushed, in the
        version record, as a commit pushed back); the build itself is tested with real
        Docker in tests/cli/test_image.py."""
        image = {"ref": f"127.0.0.1:5000/churn:{version}", "digest": "sha256:" + "0" * 64}
        registry.add_image(open_project(self.root), NAME, version, {**image, "pushed": True})
        self.git("push", "-q", "origin", "HEAD")


Configure = Callable[[Clone], None]  # the per-machine part of the remote's settings


@dataclass(frozen=True)
class SharedRemote:
    url: str
    shared: list[tuple[str, ...]]  # `dvc remote modify` settings everyone shares (committed)
    configure: Configure  # per clone, in .dvc/config.local (keys, endpoints)
    env: dict[str, str]  # credentials, through the environment only


@pytest.fixture(params=["local", "ssh", "s3"])
def shared_remote(request: pytest.FixtureRequest, tmp_path: Path) -> SharedRemote:
    kind = request.param
    if kind == "local":
        return SharedRemote(str(tmp_path / "shared-store"), [], lambda c: None, {})
    if kind == "ssh":
        server = request.getfixturevalue("sshd_server")

        def ssh_configure(clone: Clone) -> None:
            server.trust(Path(clone.env["HOME"]))
            clone.dvc("remote", "modify", "--local", "shared", "keyfile", str(server.keyfile))

        return SharedRemote(
            server.url(tmp_path / "ssh-store"), [("user", server.user)], ssh_configure, {}
        )
    bucket = request.getfixturevalue("s3_bucket")

    def s3_configure(clone: Clone) -> None:
        clone.dvc("remote", "modify", "--local", "shared", "endpointurl", bucket.endpoint)

    from tests.plugins.s3 import CREDENTIALS

    return SharedRemote(bucket.url(), [], s3_configure, dict(CREDENTIALS))


_released: dict[str, Path] = {}


def released(factory: pytest.TempPathFactory) -> Path:
    """A's work before any remote is involved, done once per session: the trained project
    with v0.1.0 registered, tested (recorded) and promoted to prod."""
    if "v0.1.0" not in _released:
        base = factory.mktemp("team-released")
        a = Clone(base / NAME, build_env(base / "home"))
        shutil.copytree(trained(factory), a.root, symlinks=True)
        a.mlops("model", "register", NAME, "--version", "v0.1.0")
        a.mlops("test", f"{NAME}@v0.1.0", "--record")
        a.mlops("model", "promote", NAME, "v0.1.0", "prod")
        _released["v0.1.0"] = a.root
    return _released["v0.1.0"]


def _person(home: Path, remote: SharedRemote) -> dict[str, str]:
    env = build_env(home)
    env.pop("PRE_COMMIT_FROM_REF", None)
    env.pop("PRE_COMMIT_TO_REF", None)
    return {**env, **remote.env}


def _hooks(clone: Clone) -> None:
    installed = clone.run(tool("pre-commit"), "install")
    assert "pre-push" in installed.stdout, installed.stdout
    assert (clone.root / ".git/hooks/pre-push").exists()


def test_two_clones_push_clone_pull_through_the_hooks(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, shared_remote: SharedRemote
) -> None:
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(origin)], check=True)

    # --- A: trained, registered, tested, promoted (the session's shared copy), then a
    # shared remote and the hooks.
    a = Clone(tmp_path / "a" / NAME, _person(tmp_path / "home-a", shared_remote))
    shutil.copytree(released(tmp_path_factory), a.root, symlinks=True)
    a.dvc("remote", "add", "-d", "shared", shared_remote.url)
    for setting in shared_remote.shared:
        a.dvc("remote", "modify", "shared", *setting)
    shared_remote.configure(a)
    a.git("add", ".dvc/config")
    a.git("commit", "-q", "-m", "the team's DVC remote")
    a.git("remote", "add", "origin", str(origin))
    _hooks(a)

    refused = a.git("push", "-u", "origin", "main", ok=False)  # the hook, before data push
    assert refused.returncode != 0
    assert MODEL in refused.stdout + refused.stderr
    assert not a.git("ls-remote", "origin").stdout.strip()  # nothing reached origin

    a.mlops("data", "push")
    assert a.remote_lacks() == {}
    a.mlops("data", "check-pushed")
    a.git("push", "-q", "-u", "origin", "main")  # the hook passes now
    a.git("push", "-q", "origin", "--tags")
    a.image_recorded_by_ci("v0.1.0")
    a.mlops("status", "--check")
    a.mlops("status", "--check", "--remote")

    # --- B: another person, another HOME and DVC cache, starting from the git URL.
    b = Clone(tmp_path / "b" / NAME, _person(tmp_path / "home-b", shared_remote))
    b.root.parent.mkdir()
    Clone(b.root.parent, b.env).git("clone", "-q", str(origin), NAME)
    assert not (b.root / ".dvc/cache").exists()  # nothing shared with A but the remotes
    shared_remote.configure(b)
    _hooks(b)
    b.mlops("data", "pull")
    assert (b.root / MODEL).read_bytes() == (a.root / MODEL).read_bytes()
    b.mlops("validate")
    b.mlops("test", f"{NAME}#prod")
    b.mlops("status", "--check")
    b.retrain(0.5, "retrain with C=0.5")
    b.mlops("model", "register", NAME, "--version", "v0.2.0")
    b.mlops("test", f"{NAME}@v0.2.0", "--record")
    b.mlops("model", "promote", NAME, "v0.2.0", "staging")
    b.mlops("model", "promote", NAME, "v0.2.0", "prod")
    b.mlops("data", "push")
    assert b.remote_lacks() == {}
    b.git("push", "-q", "origin", "main")
    b.git("push", "-q", "origin", "--tags")
    b.image_recorded_by_ci("v0.2.0")
    b.mlops("status", "--check")
    b.mlops("status", "--check", "--remote")

    # --- A again: B's version and stage arrive with git; the data with `data pull`.
    a.git("pull", "-q", "--ff-only", "origin", "main")
    a.git("fetch", "-q", "--tags", "origin")
    a.mlops("data", "pull")
    doc = json.loads(a.mlops("status", "--check", "--json").stdout)
    (model,) = doc["models"]
    assert model["latest"] == "v0.2.0"
    assert model["stages"] == {"prod": "v0.2.0", "staging": "v0.2.0"}
    a.mlops("status", "--check", "--remote")

    # --- A retrains, commits, and forgets `mlops data push`.
    a.retrain(0.25, "retrain with C=0.25")
    assert MODEL in a.remote_lacks()
    stale = a.mlops("status", "--check", "--remote", ok=False)
    assert stale.returncode == 1, stale.stdout + stale.stderr
    assert f"{NAME} ({MODEL}): not on DVC remote shared" in stale.stdout + stale.stderr
    hook = a.mlops("data", "check-pushed", ok=False)
    assert hook.returncode == 1
    assert MODEL in hook.stderr
    pushed = a.git("push", "origin", "main", ok=False)  # the real hook says the same
    assert pushed.returncode != 0
    assert MODEL in pushed.stdout + pushed.stderr
    assert "run `mlops data push`" in pushed.stdout + pushed.stderr
    assert os.environ.get("PRE_COMMIT_TO_REF") is None
