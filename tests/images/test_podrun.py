"""images/podrun.py's reading of a manifest into `docker run` arguments, without Docker:
every constraint comes from the manifest, none is hard-coded. The real runs are in
tests/deploy/test_check_run.py."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from mlops_cli.common.errors import InputError
from mlops_cli.deploy.manifests import Release, render
from mlops_cli.images.podrun import plan_of

DIGEST = "sha256:" + "a" * 64


def _objects() -> list[dict[str, Any]]:
    rel = Release(
        model="churn", version="v0.1.0", image="r/churn", digest=DIGEST, artifact_sha256="x"
    )
    return render(rel)


def _container(objects: list[dict[str, Any]]) -> dict[str, Any]:
    return dict(objects[0]["spec"]["template"]["spec"]["containers"][0])


def test_the_rendered_manifest_becomes_its_constraints() -> None:
    plan = plan_of(_objects(), "10001:10001")
    assert plan.image == f"r/churn@{DIGEST}" and plan.user == "10001:10001"
    assert plan.read_only and plan.no_new_privileges and plan.cap_drop == ["ALL"]
    assert plan.tmpfs == {"/tmp": "rw,exec,nosuid,nodev"} and plan.env == {}
    assert (plan.port, plan.probe_path) == (8080, "/health")
    assert plan.model == "churn" and plan.version == "v0.1.0" and plan.non_root
    startup = _container(_objects())["startupProbe"]
    assert plan.budget == startup["periodSeconds"] * startup["failureThreshold"]
    args = plan.docker_args(8080)
    assert args[-1] == plan.image and "--env=MLOPS_PORT=8080" not in args
    assert "--env=MLOPS_PORT=9999" in plan.docker_args(9999)  # a taken port moved


def test_everything_is_read_from_the_manifest() -> None:
    objects = copy.deepcopy(_objects())
    pod = objects[0]["spec"]["template"]["spec"]
    c = pod["containers"][0]
    c["ports"] = [{"name": "web", "containerPort": 9000}]
    c["readinessProbe"] = {"httpGet": {"path": "/ready", "port": "web"}, "periodSeconds": 5}
    c["startupProbe"] = {
        "httpGet": {"path": "/ready", "port": 9000},
        "initialDelaySeconds": 4,
        "periodSeconds": 3,
        "failureThreshold": 7,
    }
    c["securityContext"].update(runAsUser=2000, runAsGroup=3000, readOnlyRootFilesystem=False)
    c["securityContext"]["capabilities"] = {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}
    c["env"] = [{"name": "MLOPS_WORKERS", "value": "2"}]
    c["volumeMounts"].append({"name": "cache", "mountPath": "/cache"})
    pod["volumes"].append({"name": "cache", "emptyDir": {"sizeLimit": "64Mi"}})
    pod["volumes"].append({"name": "cfg", "configMap": {"name": "x"}})
    c["volumeMounts"].append({"name": "cfg", "mountPath": "/etc/cfg"})
    plan = plan_of(objects, "10001:10001")
    assert (plan.port, plan.probe_path, plan.budget) == (9000, "/ready", 4 + 3 * 7)
    assert plan.user == "2000:3000" and not plan.read_only
    assert plan.cap_add == ["NET_BIND_SERVICE"] and plan.env == {"MLOPS_WORKERS": "2"}
    assert plan.tmpfs == {
        "/tmp": "rw,exec,nosuid,nodev",
        "/cache": "rw,exec,nosuid,nodev,size=64Mi",
    }
    assert "--read-only" not in plan.docker_args(9000)


@pytest.mark.parametrize(
    ("image_user", "gid"), [("10001:10001", "10001"), ("10001", "0"), ("5:5", "0"), ("", "0")]
)
def test_without_run_as_group_the_gid_is_the_images_for_its_own_user(
    image_user: str, gid: str
) -> None:
    assert plan_of(_objects(), image_user).user == f"10001:{gid}"


def test_what_needs_a_cluster_or_a_tag_is_refused() -> None:
    objects = copy.deepcopy(_objects())
    c = objects[0]["spec"]["template"]["spec"]["containers"][0]
    c["env"] = [{"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]
    with pytest.raises(InputError, match="valueFrom"):
        plan_of(objects)
    c["env"], c["image"] = [], "r/churn:v0.1.0"
    with pytest.raises(InputError, match="not pinned by digest"):
        plan_of(objects)
    with pytest.raises(InputError, match="no Deployment"):
        plan_of(objects[1:])
