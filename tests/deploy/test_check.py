"""`mlops deploy check`, the offline half, on a really trained, registered and promoted
project with the real `kubectl kustomize` and the real Kubernetes schemas
(kubernetes-validate): a good stage passes, a bad field fails with its path, an edited base
that no longer renders what `deploy render` prints fails. The running half against the
real Docker engine and registry is tests/deploy/test_check_run.py."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlops_cli.deploy.check import differences, field_path, first_difference, validate_objects
from mlops_cli.deploy.manifests import Release, render
from mlops_cli.project.root import open_project
from mlops_cli.registry import records as registry
from mlops_cli.registry.register import register
from tests.modelproject import NAME, copy_of, trained

DIGEST = "sha256:" + "1" * 64
needs_kubectl = pytest.mark.skipif(shutil.which("kubectl") is None, reason="no kubectl")


def _release() -> Release:
    return Release(
        model=NAME, version="v0.1.0", image="r/churn", digest=DIGEST, artifact_sha256="a"
    )


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """v0.1.0 registered, its push recorded, in prod, deploy/ initialized: built once."""
    from tests.conftest import mlops_bin

    root = copy_of(trained(tmp_path_factory), tmp_path_factory.mktemp("check"))
    register(open_project(root), NAME, version="v0.1.0")
    ref = f"127.0.0.1:5000/{NAME}:v0.1.0"
    registry.add_images(open_project(root), NAME, "v0.1.0", [{"ref": ref, "digest": DIGEST}])
    for args in (
        ["model", "promote", NAME, "v0.1.0", "prod", "--force", "--reason", "check tests"],
        ["deploy", "init"],
    ):
        proc = subprocess.run([*mlops_bin(), "-C", str(root), *args], capture_output=True)
        assert proc.returncode == 0, proc.stderr
    return root


@pytest.fixture
def project(deployed: Path, tmp_path: Path) -> Path:
    return copy_of(deployed, tmp_path / "p")


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True)


@needs_kubectl
def test_a_good_stage_passes_render_kustomize_and_schema(mlops: Any, project: Path) -> None:
    run = mlops("-C", str(project), "deploy", "check", f"{NAME}#prod", "--no-run", "--json")
    assert run.exit_code == 0, run.stderr
    doc = json.loads(run.stdout)
    assert doc["passed"] is True and doc["run"] is None
    result = doc["result"]
    assert result["overlays"] == ["prod"] and result["kubernetes_version"] == "1.32"
    assert result["validated"] == 2 and result["problems"] == []
    assert [o["kind"] for o in result["objects"]] == ["Deployment", "Service"]
    # NAME@VERSION checks the overlay of every stage the version holds; human output too.
    run = mlops("-C", str(project), "deploy", "check", f"{NAME}@v0.1.0", "--no-run")
    assert run.exit_code == 0, run.stderr
    assert "2 objects of churn@v0.1.0 and deploy/overlays/prod valid for Kubernetes 1.32" in (
        run.stderr
    )


@needs_kubectl
def test_a_bad_field_in_the_committed_base_fails_schema_with_its_path(
    mlops: Any, project: Path
) -> None:
    path = project / f"deploy/base/{NAME}/deployment.yaml"
    dep = yaml.safe_load(path.read_text())
    dep["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "eighty"
    path.write_text(yaml.safe_dump(dep))
    # The work tree alone does not count: what a controller syncs is what is committed.
    run = mlops("-C", str(project), "deploy", "check", f"{NAME}#prod", "--no-run")
    assert run.exit_code == 0, run.stderr
    git(project, "commit", "-qam", "a bad port")
    run = mlops("-C", str(project), "deploy", "check", f"{NAME}#prod", "--no-run", "--json")
    assert run.exit_code == 1, run.stderr
    problems = json.loads(run.stdout)["result"]["problems"]
    bad = "spec.template.spec.containers[0].ports[0].containerPort"
    assert {"check": "schema", "object": f"Deployment/{NAME}", "path": bad} in [
        {k: p[k] for k in ("check", "object", "path")} for p in problems
    ]
    assert any(p["check"] == "kustomize" and p["path"] == bad for p in problems)
    run = mlops("-C", str(project), "deploy", "check", f"{NAME}#prod", "--no-run")
    assert run.exit_code == 1
    assert f"schema: Deployment/{NAME} at {bad}: 'eighty' is not of type 'integer'" in run.stderr


@needs_kubectl
def test_a_base_edit_is_a_note_but_an_edit_of_the_records_part_fails(
    mlops: Any, project: Path
) -> None:
    path = project / f"deploy/base/{NAME}/deployment.yaml"
    dep = yaml.safe_load(path.read_text())
    dep["spec"]["replicas"] = 3  # the base's to decide (docs/deploy.md)
    path.write_text(yaml.safe_dump(dep))
    git(project, "commit", "-qam", "three replicas")
    run = mlops("-C", str(project), "deploy", "check", f"{NAME}#prod", "--no-run", "--json")
    assert run.exit_code == 0, run.stderr
    notes = json.loads(run.stdout)["result"]["notes"]
    assert notes == [
        f"deploy/overlays/prod Deployment/{NAME} at spec.replicas: the base's own edit"
    ]
    # Running as root is not the base's to decide: the run check would test something else.
    dep["spec"]["template"]["spec"]["containers"][0]["securityContext"]["runAsUser"] = 0
    path.write_text(yaml.safe_dump(dep))
    git(project, "commit", "-qam", "root")
    run = mlops("-C", str(project), "deploy", "check", f"{NAME}#prod", "--no-run")
    assert run.exit_code == 1
    where = "spec.template.spec.containers[0].securityContext.runAsUser"
    assert f"kustomize: deploy/overlays/prod Deployment/{NAME} at {where}" in run.stderr


def test_a_stage_without_an_overlay_is_checked_from_the_render_alone(
    mlops: Any, project: Path
) -> None:
    git(project, "rm", "-rq", "deploy")
    git(project, "commit", "-qm", "no deploy/")
    run = mlops("-C", str(project), "deploy", "check", f"{NAME}#prod", "--no-run", "--json")
    assert run.exit_code == 0, run.stderr
    assert json.loads(run.stdout)["result"]["overlays"] == []


@pytest.mark.parametrize("version", ["1.2", "2.0", "latest", "1.40"])
def test_an_unknown_kubernetes_version_is_exit_3(mlops: Any, project: Path, version: str) -> None:
    run = mlops(
        "-C",
        str(project),
        "deploy",
        "check",
        f"{NAME}#prod",
        "--no-run",
        "--kubernetes-version",
        version,
    )
    assert run.exit_code == 3
    assert f"no Kubernetes schema for version {version!r}" in run.stderr and "1.32" in run.stderr


def test_the_rendered_objects_validate_for_every_shipped_version() -> None:
    for version in ("1.25", "1.32", "1.37"):
        assert validate_objects(render(_release()), version) == []


@pytest.mark.parametrize(
    ("patch", "path", "says"),
    [
        (
            lambda c: c["ports"][0].update(containerPort="eighty"),
            "ports[0].containerPort",
            "not of type 'integer'",
        ),
        (
            lambda c: c["securityContext"].update(readOnlyRoot=True),
            "securityContext",
            "readOnlyRoot",
        ),
        (lambda c: c.pop("name"), "", "'name' is a required property"),
        (
            lambda c: c["readinessProbe"].update(periodSeconds=[2]),
            "readinessProbe.periodSeconds",
            "not of type",
        ),
    ],
)
def test_a_patched_render_fails_with_the_object_and_path(patch: Any, path: str, says: str) -> None:
    dep, svc = render(_release())
    bad = copy.deepcopy(dep)
    patch(bad["spec"]["template"]["spec"]["containers"][0])
    [problem] = validate_objects([bad, svc], "1.32")
    assert problem.check == "schema" and problem.object == f"Deployment/{NAME}"
    assert problem.path == "spec.template.spec.containers[0]" + (f".{path}" if path else "")
    assert says in problem.message


def test_an_unknown_kind_is_a_problem_not_a_crash() -> None:
    obj = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    [problem] = validate_objects([obj], "1.32")
    assert problem.object == "Widget/w" and "Couldn't find schema" in problem.message


def test_paths_and_differences() -> None:
    assert field_path(["spec", "ports", 0, "port"]) == "spec.ports[0].port"
    assert first_difference({"a": [1, {"b": 2}]}, {"a": [1, {"b": 3}]}) == "a[1].b"
    assert first_difference({"a": [1]}, {"a": [1, 2]}) == "a"
    assert differences({"a": 1, "b": [1]}, {"a": 2, "b": [2]}) == [("a",), ("b", 0)]
    assert first_difference({"a": 1}, {"a": 1, "c": 0}) == "c"
    assert first_difference({"a": {"x": 1}}, {"a": {"x": 1}}) is None
