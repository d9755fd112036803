"""The GitOps layout on a really trained, registered project, with real git and the real
`kubectl kustomize`: init, promote/deprecate/rollback rewriting deploy/overlays/<stage> in
the commit of the stage change, and two clones agreeing on what a stage deploys."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlops_cli.project.root import open_project
from mlops_cli.registry import records as registry
from mlops_cli.registry.register import register
from tests.conftest import tree_bytes
from tests.modelproject import NAME, copy_of, retrain, trained

DIGEST_1 = "sha256:" + "1" * 64
DIGEST_2 = "sha256:" + "2" * 64
FORCE = ("--force", "--reason", "deploy tests")

needs_kubectl = pytest.mark.skipif(shutil.which("kubectl") is None, reason="no kubectl")


@pytest.fixture(scope="module")
def registered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """v0.1.0 and v0.2.0 registered and pushed (digests recorded), built once."""
    root = copy_of(trained(tmp_path_factory), tmp_path_factory.mktemp("gitops"))
    register(open_project(root), NAME, version="v0.1.0")
    retrain(root, 0.5)
    register(open_project(root), NAME, version="v0.2.0")
    for version, digest in (("v0.1.0", DIGEST_1), ("v0.2.0", DIGEST_2)):
        ref = f"127.0.0.1:5000/{NAME}:{version}"
        registry.add_images(open_project(root), NAME, version, [{"ref": ref, "digest": digest}])
    return root


@pytest.fixture
def project(registered: Path, tmp_path: Path) -> Path:
    return copy_of(registered, tmp_path / "p")


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(root), *args], check=True, capture_output=True, text=True
    ).stdout.strip()


def ok(mlops: Any, root: Path, *args: str, **kw: Any) -> Any:
    run = mlops("-C", str(root), *args, **kw)
    assert run.exit_code == 0, run.stderr
    return run


def _objects(text: str) -> list[dict[str, Any]]:
    found = [o for o in yaml.safe_load_all(text) if o]
    return sorted(found, key=lambda o: (o["kind"], o["metadata"]["name"]))


def kustomize(root: Path, stage: str) -> list[dict[str, Any]]:
    proc = subprocess.run(
        ["kubectl", "kustomize", str(root / "deploy" / "overlays" / stage)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return _objects(proc.stdout)


def rendered(mlops: Any, root: Path, spec: str, **kw: Any) -> list[dict[str, Any]]:
    return _objects(ok(mlops, root, "deploy", "render", spec, **kw).stdout)


def stage_image(root: Path, stage: str) -> list[dict[str, Any]]:
    kust = yaml.safe_load((root / f"deploy/overlays/{stage}/kustomization.yaml").read_text())
    return list(kust.get("images") or [])


@needs_kubectl
def test_init_writes_one_commit_that_kustomize_renders_as_deploy_render(
    mlops: Any, project: Path
) -> None:
    ok(mlops, project, "model", "promote", NAME, "v0.1.0", "prod", *FORCE)
    before = git(project, "rev-parse", "HEAD")
    doc = json.loads(ok(mlops, project, "deploy", "init", "--json").stdout)
    assert doc["command"] == "deploy init"
    assert git(project, "rev-parse", "HEAD^") == before  # exactly one commit
    committed = set(git(project, "show", "--name-only", "--format=", "HEAD").splitlines())
    assert committed == set(doc["result"]["written"])
    assert {f"deploy/base/{NAME}/{f}" for f in ("kustomization.yaml", "deployment.yaml")} <= (
        committed
    )
    assert git(project, "status", "--porcelain", "--", "deploy") == ""
    text = (project / "deploy/overlays/prod/kustomization.yaml").read_text()
    assert text.startswith("# Owned by mlops")
    assert stage_image(project, "prod") == [
        {"name": f"mlops.dev/{NAME}", "newName": f"127.0.0.1:5000/{NAME}", "digest": DIGEST_1}
    ]
    assert "mlops.dev/churn" in (project / f"deploy/base/{NAME}/deployment.yaml").read_text()
    # The whole point: what a GitOps controller renders is what `deploy render` prints.
    assert kustomize(project, "prod") == rendered(mlops, project, f"{NAME}#prod")
    assert kustomize(project, "staging") == []  # no version holds staging: nothing deployed


def test_init_never_overwrites_and_refuses_symlinks(
    mlops: Any, project: Path, tmp_path: Path
) -> None:
    mine = project / "deploy/base" / NAME / "service.yaml"
    mine.parent.mkdir(parents=True)
    mine.write_text("mine\n")
    head = git(project, "rev-parse", "HEAD")
    run = mlops("-C", str(project), "deploy", "init")
    assert run.exit_code == 3 and "deploy/base/churn/service.yaml" in run.stderr
    assert mine.read_text() == "mine\n" and git(project, "rev-parse", "HEAD") == head
    assert not (project / "deploy/overlays").exists()

    # A symlinked component under deploy/ (here deploy/overlays -> outside) is refused
    # with exit 4 before anything is written, anywhere.
    outside = tmp_path / "outside"
    outside.mkdir()
    (project / "deploy/overlays").symlink_to(outside)
    run = mlops("-C", str(project), "deploy", "init", "--overwrite", str(mine.relative_to(project)))
    assert run.exit_code == 4, run.stderr
    assert "deploy/overlays is a symlink" in run.stderr
    assert list(outside.iterdir()) == [] and mine.read_text() == "mine\n"
    assert git(project, "rev-parse", "HEAD") == head

    (project / "deploy/overlays").unlink()
    ok(
        mlops,
        project,
        "deploy",
        "init",
        "--stages",
        "prod",
        "--overwrite",
        "deploy/base/churn/service.yaml",
    )
    assert "kind: Service" in mine.read_text()
    assert not (project / "deploy/overlays/staging").exists()


@needs_kubectl
def test_promote_commits_the_overlay_with_its_stage_tag(mlops: Any, project: Path) -> None:
    ok(mlops, project, "model", "promote", NAME, "v0.1.0", "prod", *FORCE)
    ok(mlops, project, "deploy", "init")
    before = git(project, "rev-parse", "HEAD")
    doc = json.loads(
        ok(mlops, project, "model", "promote", NAME, "v0.2.0", "prod", *FORCE, "--json").stdout
    )["result"]
    head = git(project, "rev-parse", "HEAD")
    assert doc["commit"] == head and git(project, "rev-parse", "HEAD^") == before
    changed = git(project, "show", "--name-only", "--format=", "HEAD").splitlines()
    assert (
        sorted(changed)
        == sorted(doc["files"])
        == [
            "deploy/overlays/prod/churn.patch.yaml",
            "deploy/overlays/prod/kustomization.yaml",
        ]
    )
    # The stage tag points at v0.2.0's own commit (GTO resolves versions by commit), and
    # it was made in the same ref transaction as HEAD's move (one reflog reason).
    assert git(project, "rev-parse", f"{doc['tag']}^{{commit}}") == git(
        project, "rev-parse", f"{NAME}@v0.2.0^{{commit}}"
    )
    assert stage_image(project, "prod")[0]["digest"] == DIGEST_2
    assert git(project, "status", "--porcelain", "--", "deploy") == ""
    assert kustomize(project, "prod") == rendered(mlops, project, f"{NAME}#prod")
    assert (
        rendered(mlops, project, f"{NAME}#prod")[0]["metadata"]["labels"][
            "app.kubernetes.io/version"
        ]
        == "v0.2.0"
    )
    # staging did not change, so the commit did not touch it
    assert all(not p.startswith("deploy/overlays/staging") for p in changed)


def test_gto_still_agrees_after_a_promote_with_an_overlay(mlops: Any, project: Path) -> None:
    gto_api = pytest.importorskip("gto.api", reason="gto is not installed")
    import time

    ok(mlops, project, "deploy", "init")
    ok(mlops, project, "model", "promote", NAME, "v0.1.0", "prod", *FORCE)
    time.sleep(1.1)  # GTO orders events by the second
    ok(mlops, project, "model", "promote", NAME, "v0.2.0", "prod", *FORCE)
    shown = gto_api.show(str(project))
    assert shown[NAME]["stage"] == {"prod": "v0.2.0"}
    assert stage_image(project, "prod")[0]["digest"] == DIGEST_2
    time.sleep(1.1)
    ok(mlops, project, "deploy", "rollback", NAME, "prod", *FORCE)
    assert gto_api.show(str(project))[NAME]["stage"] == {"prod": "v0.1.0"}
    assert stage_image(project, "prod")[0]["digest"] == DIGEST_1


@needs_kubectl
def test_rollback_puts_the_previous_holder_back_as_one_commit(mlops: Any, project: Path) -> None:
    ok(mlops, project, "deploy", "init")
    ok(mlops, project, "model", "promote", NAME, "v0.1.0", "prod", *FORCE)
    run = mlops("-C", str(project), "deploy", "rollback", NAME, "prod", *FORCE)
    assert run.exit_code == 3 and "no earlier active version held it" in run.stderr
    ok(mlops, project, "model", "promote", NAME, "v0.2.0", "prod", *FORCE)
    before = git(project, "rev-parse", "HEAD")
    doc = json.loads(
        ok(mlops, project, "deploy", "rollback", NAME, "prod", *FORCE, "--json").stdout
    )
    assert doc["command"] == "deploy rollback"
    assert (doc["result"]["version"], doc["result"]["replaced"]) == ("v0.1.0", ["v0.2.0"])
    assert git(project, "rev-parse", "HEAD^") == before
    assert stage_image(project, "prod")[0]["digest"] == DIGEST_1
    assert kustomize(project, "prod") == rendered(mlops, project, f"{NAME}@v0.1.0")
    # Rolling back again returns to v0.2.0: the history is the stage's assignments.
    ok(mlops, project, "deploy", "rollback", NAME, "prod", *FORCE)
    assert stage_image(project, "prod")[0]["digest"] == DIGEST_2
    run = mlops("-C", str(project), "deploy", "rollback", NAME, "staging")
    assert run.exit_code == 3 and "no version holds staging" in run.stderr


@needs_kubectl
def test_deprecate_removes_the_model_from_the_overlay(mlops: Any, project: Path) -> None:
    ok(mlops, project, "model", "promote", NAME, "v0.1.0", "prod", *FORCE)
    ok(mlops, project, "deploy", "init")
    patch = project / "deploy/overlays/prod/churn.patch.yaml"
    assert patch.exists()
    ok(mlops, project, "model", "deprecate", f"{NAME}#prod")
    assert not patch.exists()
    changed = git(project, "show", "--name-status", "--format=", "HEAD").splitlines()
    assert f"D\t{patch.relative_to(project)}" in changed
    assert stage_image(project, "prod") == []
    assert kustomize(project, "prod") == []
    assert git(project, "status", "--porcelain") == ""


def test_promote_refuses_a_symlinked_overlay_and_a_version_without_digest(
    mlops: Any, project: Path, tmp_path: Path
) -> None:
    ok(mlops, project, "deploy", "init")
    tags = git(project, "tag")
    head = git(project, "rev-parse", "HEAD")
    prod = project / "deploy/overlays/prod"
    outside = tmp_path / "elsewhere"
    shutil.move(prod, outside)
    prod.symlink_to(outside)
    snapshot = tree_bytes(outside)
    run = mlops("-C", str(project), "model", "promote", NAME, "v0.1.0", "prod", *FORCE)
    assert run.exit_code == 4, run.stderr
    assert tree_bytes(outside) == snapshot
    assert (git(project, "tag"), git(project, "rev-parse", "HEAD")) == (tags, head)
    prod.unlink()
    shutil.move(outside, prod)

    # A version with no pushed digest cannot be pinned by an overlay: no tag either.
    params = project / "params.yaml"  # retrain() starts from C: 1.0; the fixture left 0.5
    params.write_text(params.read_text().replace("  C: 0.5 ", "  C: 1.0 ", 1))
    retrain(project, 0.25)
    register(open_project(project), NAME, version="v0.3.0")  # not pushed
    tags, head = git(project, "tag"), git(project, "rev-parse", "HEAD")
    run = mlops("-C", str(project), "model", "promote", NAME, "v0.3.0", "prod", *FORCE)
    assert run.exit_code == 3 and "no pushed image digest" in run.stderr
    assert (git(project, "tag"), git(project, "rev-parse", "HEAD")) == (tags, head)


def _env(home: Path) -> dict[str, str]:
    home.mkdir(parents=True, exist_ok=True)
    return {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")}


@needs_kubectl
def test_a_second_clone_pulls_the_promotion_and_renders_the_same(
    mlops: Any, project: Path, tmp_path: Path
) -> None:
    ok(mlops, project, "model", "promote", NAME, "v0.1.0", "prod", *FORCE)
    ok(mlops, project, "deploy", "init")
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    git(project, "remote", "add", "origin", str(remote))
    git(project, "push", "-q", "origin", "HEAD", "--tags")
    branch = git(project, "rev-parse", "--abbrev-ref", "HEAD")
    git(project, "branch", "--set-upstream-to", f"origin/{branch}")
    other = tmp_path / "other"
    subprocess.run(
        ["git", "clone", "-q", str(remote), str(other)], check=True, env=_env(tmp_path / "h2")
    )

    alice = _env(tmp_path / "h1")
    ok(mlops, project, "model", "promote", NAME, "v0.2.0", "prod", *FORCE, "--push", env=alice)
    assert git(remote, "rev-parse", branch) == git(project, "rev-parse", "HEAD")

    bob = _env(tmp_path / "h2")
    subprocess.run(["git", "-C", str(other), "pull", "-q", "--tags"], check=True, env=bob)
    assert (other / "deploy/overlays/prod/kustomization.yaml").read_bytes() == (
        project / "deploy/overlays/prod/kustomization.yaml"
    ).read_bytes()
    theirs = kustomize(other, "prod")
    assert theirs == kustomize(project, "prod")
    assert theirs == rendered(mlops, other, f"{NAME}#prod", env=bob)
    assert theirs[0]["spec"]["template"]["spec"]["containers"][0]["image"].endswith(DIGEST_2)


def test_a_refused_tag_leaves_no_overlay_commit_behind(mlops: Any, project: Path) -> None:
    """The overlay commit and the stage tags are one ref transaction: when git refuses the
    tag (here a reference-transaction hook, as a server-side rule or a racing writer would),
    HEAD, the tags, the work tree and the index are all as before."""
    ok(mlops, project, "model", "promote", NAME, "v0.1.0", "prod", *FORCE)
    ok(mlops, project, "deploy", "init")
    hooks = Path(git(project, "rev-parse", "--git-path", "hooks"))
    hooks = hooks if hooks.is_absolute() else project / hooks
    hook = hooks / "reference-transaction"
    hook.write_text(
        "#!/bin/sh\n"
        '[ "$1" = prepared ] || exit 0\n'
        "if grep -q 'refs/tags/churn#prod#'; then echo 'no stage tags today' >&2; exit 1; fi\n"
    )
    hook.chmod(0o755)
    before = (
        git(project, "rev-parse", "HEAD"),
        git(project, "tag"),
        tree_bytes(project / "deploy"),
    )
    run = mlops("-C", str(project), "model", "promote", NAME, "v0.2.0", "prod", *FORCE)
    assert run.exit_code == 3, run.stderr
    assert "nothing was written" in run.stderr
    after = (git(project, "rev-parse", "HEAD"), git(project, "tag"), tree_bytes(project / "deploy"))
    assert after == before
    assert git(project, "status", "--porcelain") == ""
    hook.unlink()
    ok(mlops, project, "model", "promote", NAME, "v0.2.0", "prod", *FORCE)
    assert stage_image(project, "prod")[0]["digest"] == DIGEST_2


SIGNED_PROD = """
policy:
  signers:
    release: [alice@example.com]
  stages:
    prod: {require: [promotion], signers: release}
"""


def test_a_signed_promotion_the_policy_refuses_takes_the_overlay_commit_back(
    cli: Any,
    tmp_path_factory: pytest.TempPathFactory,
    tmp_path: Path,
    isolated_env: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """promote --sign signs, commits the overlay with the tags, then verifies the signature
    against the policy; a key outside the signer group makes it undo the commit and the
    tags (HEAD, work tree, index as before) and refuse (exit 1)."""
    from tests.security.test_signatures import make_signer, trust, use_signer
    from tests.sshkeys import HAVE_SSH_KEYGEN

    if not HAVE_SSH_KEYGEN:
        pytest.skip("ssh-keygen is not installed")
    from tests.modelproject import commit_all

    project = copy_of(trained(tmp_path_factory), tmp_path / "signed")
    (project / "mlops.yaml").write_text((project / "mlops.yaml").read_text() + SIGNED_PROD)
    commit_all(project, "prod needs a promotion signed by release")
    register(open_project(project), NAME, version="v0.1.0")
    ref = f"127.0.0.1:5000/{NAME}:v0.1.0"
    registry.add_images(open_project(project), NAME, "v0.1.0", [{"ref": ref, "digest": DIGEST_1}])
    assert cli("-C", str(project), "deploy", "init").exit_code == 0
    keys = tmp_path / "keys"
    alice, mallory = make_signer(keys, "alice"), make_signer(keys, "mallory")
    trust(monkeypatch, isolated_env / "trust", alice)
    use_signer(monkeypatch, isolated_env, mallory)

    before = (
        git(project, "rev-parse", "HEAD"),
        git(project, "tag"),
        tree_bytes(project / "deploy"),
    )
    out = cli("-C", str(project), "model", "promote", NAME, "v0.1.0", "prod", "--sign", *FORCE)
    assert out.exit_code == 1, out.stderr
    assert "the policy is not met" in out.stderr and "nothing was kept" in out.stderr
    after = (git(project, "rev-parse", "HEAD"), git(project, "tag"), tree_bytes(project / "deploy"))
    assert after == before
    assert git(project, "status", "--porcelain") == ""

    use_signer(monkeypatch, isolated_env, alice)  # the right key: it goes through, signed
    out = cli("-C", str(project), "model", "promote", NAME, "v0.1.0", "prod", "--sign", *FORCE)
    assert out.exit_code == 0, out.stderr
    assert stage_image(project, "prod")[0]["digest"] == DIGEST_1
    assert (
        "Good"
        in subprocess.run(
            ["git", "-C", str(project), "verify-commit", "-v", "HEAD"],
            capture_output=True,
            text=True,
            env={
                **os.environ,
                "GIT_CONFIG_COUNT": "1",
                "GIT_CONFIG_KEY_0": "gpg.ssh.allowedSignersFile",
                "GIT_CONFIG_VALUE_0": str(isolated_env / "trust" / "allowed_signers"),
            },
        ).stderr
    )


def test_an_uncommitted_edit_of_the_overlay_is_not_overwritten(mlops: Any, project: Path) -> None:
    ok(mlops, project, "model", "promote", NAME, "v0.1.0", "prod", *FORCE)
    ok(mlops, project, "deploy", "init")
    kust = project / "deploy/overlays/prod/kustomization.yaml"
    kust.write_text(kust.read_text() + "# my edit\n")
    tags, head = git(project, "tag"), git(project, "rev-parse", "HEAD")
    run = mlops("-C", str(project), "model", "promote", NAME, "v0.2.0", "prod", *FORCE)
    assert run.exit_code == 3, run.stderr
    assert "deploy/overlays/prod/kustomization.yaml (modified, not committed)" in run.stderr
    assert kust.read_text().endswith("# my edit\n")
    assert (git(project, "tag"), git(project, "rev-parse", "HEAD")) == (tags, head)
