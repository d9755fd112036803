"""deploy/gitops.py's pure parts: the files of a base and an overlay, and which version a
rollback goes back to, from tag history alone."""

from __future__ import annotations

import yaml

from mlops_cli.deploy.gitops import base_files, overlay_files, previous_holder
from mlops_cli.deploy.manifests import Release
from mlops_cli.gitio.refs import TagInfo
from mlops_cli.registry.tags import build_state

DIGEST = "sha256:" + "a" * 64


def _rel(model: str) -> Release:
    return Release(model, "v0.3.0", f"127.0.0.1:5000/{model}", DIGEST, "b" * 64)


def test_the_base_has_no_version_and_a_placeholder_image() -> None:
    files = base_files("churn", 10001)
    dep = yaml.safe_load(files["deploy/base/churn/deployment.yaml"])
    container = dep["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "mlops.dev/churn"
    assert "startupProbe" not in container and "annotations" not in dep["metadata"]
    assert "app.kubernetes.io/version" not in dep["metadata"]["labels"]
    assert container["securityContext"]["runAsUser"] == 10001


def test_an_overlay_lists_every_holder_sorted_and_says_it_is_mlopss() -> None:
    files = overlay_files("prod", [_rel("zeta"), _rel("churn")])
    text = files["deploy/overlays/prod/kustomization.yaml"].decode()
    assert text.startswith("# Owned by mlops")
    kust = yaml.safe_load(text)
    assert kust["resources"] == ["../../base/churn", "../../base/zeta"]
    assert [i["name"] for i in kust["images"]] == ["mlops.dev/churn", "mlops.dev/zeta"]
    assert set(files) == {
        "deploy/overlays/prod/kustomization.yaml",
        "deploy/overlays/prod/churn.patch.yaml",
        "deploy/overlays/prod/zeta.patch.yaml",
    }
    empty = yaml.safe_load(overlay_files("dev", [])["deploy/overlays/dev/kustomization.yaml"])
    assert (empty["resources"], empty["images"], empty["patches"]) == ([], [], [])


def _tag(name: str, target: str, time: int) -> TagInfo:
    return TagInfo(name, True, target, time, "t", "")


def test_previous_holder_is_the_last_other_active_version_assigned() -> None:
    tags = [
        _tag("m@v1.0.0", "a", 1),
        _tag("m@v2.0.0", "b", 2),
        _tag("m@v3.0.0", "c", 3),
        _tag("m#prod#1", "a", 4),
        _tag("m#prod#2", "b", 5),
        _tag("m#prod!#3", "a", 5),
        _tag("m#prod#4", "c", 6),
        _tag("m#prod!#5", "b", 6),
    ]
    assert previous_holder(build_state(tags)["m"], "prod") == "v2.0.0"
    # v2.0.0 deregistered: the one before it
    gone = [*tags, _tag("m@v2.0.0!", "b", 7)]
    assert previous_holder(build_state(gone)["m"], "prod") == "v1.0.0"
    assert previous_holder(build_state(tags[:4])["m"], "prod") is None  # one holder ever
    assert previous_holder(build_state(tags)["m"], "staging") is None
