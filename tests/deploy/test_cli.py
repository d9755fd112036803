"""`mlops deploy render|diff` on a really trained, registered and promoted project: the
manifests come from the committed record and tags, pinned by the recorded push digest."""

from __future__ import annotations

import json
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


@pytest.fixture(scope="module")
def registered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """v0.1.0 and v0.2.0 (retrained) registered, built once; each test gets a copy."""
    root = copy_of(trained(tmp_path_factory), tmp_path_factory.mktemp("deploy"))
    register(open_project(root), NAME, version="v0.1.0")
    retrain(root, 0.5)
    register(open_project(root), NAME, version="v0.2.0")
    return root


@pytest.fixture
def project(registered: Path, tmp_path: Path) -> Path:
    return copy_of(registered, tmp_path)


def _push(root: Path, version: str, digest: str) -> None:
    """What `mlops image push` records (images/build.py push): ref and digest."""
    ref = f"127.0.0.1:5000/{NAME}:{version}"
    registry.add_images(open_project(root), NAME, version, [{"ref": ref, "digest": digest}])


def _promote(mlops: Any, root: Path, version: str, stage: str) -> None:
    # The stage gate wants recorded tests; what is deployed is not what these tests test.
    force = ("--force", "--reason", "deploy tests")
    run = mlops("-C", str(root), "model", "promote", NAME, version, stage, *force)
    assert run.exit_code == 0, run.stderr


def _objects(text: str) -> list[dict[str, Any]]:
    return [o for o in yaml.safe_load_all(text) if o]


def test_render_a_stage_pins_the_recorded_digest(mlops: Any, project: Path) -> None:
    _push(project, "v0.1.0", DIGEST_1)
    _promote(mlops, project, "v0.1.0", "prod")
    before = tree_bytes(project)
    run = mlops("-C", str(project), "deploy", "render", f"{NAME}#prod")
    assert run.exit_code == 0, run.stderr
    dep, svc = _objects(run.stdout)
    assert (dep["kind"], svc["kind"]) == ("Deployment", "Service")
    container = dep["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == f"127.0.0.1:5000/{NAME}@{DIGEST_1}"
    assert container["securityContext"]["runAsUser"] == 10001
    notes = dep["metadata"]["annotations"]
    record = registry.load_record(open_project(project), NAME, "v0.1.0")
    assert notes["mlops.dev/version"] == "v0.1.0"
    assert notes["mlops.dev/artifact-sha256"] == record.artifact["sha256"]
    assert tree_bytes(project) == before  # render writes nothing

    doc = json.loads(mlops("-C", str(project), "deploy", "render", f"{NAME}#prod", "--json").stdout)
    assert (doc["command"], doc["version"], doc["digest"]) == ("deploy render", "v0.1.0", DIGEST_1)
    assert doc["objects"] == _objects(run.stdout)


def test_render_reads_the_record_not_the_workspace(mlops: Any, project: Path) -> None:
    _push(project, "v0.2.0", DIGEST_2)
    first = mlops("-C", str(project), "deploy", "render", f"{NAME}@v0.2.0").stdout
    (project / "models" / "model.skops").write_bytes(b"not the registered model")
    assert mlops("-C", str(project), "deploy", "render", NAME).stdout == first  # latest: v0.2.0


def test_a_version_never_pushed_is_refused_with_exit_3(mlops: Any, project: Path) -> None:
    run = mlops("-C", str(project), "deploy", "render", f"{NAME}@v0.1.0")
    assert run.exit_code == 3
    assert run.stdout == ""
    assert "has no pushed image digest" in run.stderr and "mlops image push" in run.stderr


@pytest.mark.parametrize(
    ("spec", "said"),
    [
        (f"{NAME}#prod", "no version of churn is in stage 'prod'"),
        (f"{NAME}@v9.9.9", "churn@v9.9.9 is not registered"),
        ("nope#prod", "no model 'nope'"),
        (f"{NAME}@workspace", "the workspace model has no pushed image"),
    ],
)
def test_specs_that_name_nothing_deployable_exit_3(
    mlops: Any, project: Path, spec: str, said: str
) -> None:
    run = mlops("-C", str(project), "deploy", "render", spec)
    assert run.exit_code == 3, run.stderr
    assert said in run.stderr and run.stdout == ""


def test_diff_shows_the_digest_change_between_stages(mlops: Any, project: Path) -> None:
    _push(project, "v0.1.0", DIGEST_1)
    _push(project, "v0.2.0", DIGEST_2)
    for version, stage in (("v0.1.0", "prod"), ("v0.2.0", "staging")):
        _promote(mlops, project, version, stage)
    run = mlops("-C", str(project), "deploy", "diff", f"{NAME}#prod", f"{NAME}#staging")
    assert run.exit_code == 0, run.stderr
    assert f"-        image: 127.0.0.1:5000/{NAME}@{DIGEST_1}" in run.stdout
    assert f"+        image: 127.0.0.1:5000/{NAME}@{DIGEST_2}" in run.stdout
    assert "--- churn#prod (v0.1.0)" in run.stdout

    strict = ("deploy", "diff", f"{NAME}#prod", f"{NAME}#staging", "--exit-code", "--json")
    run = mlops("-C", str(project), *strict)
    assert run.exit_code == 1
    doc = json.loads(run.stdout)
    assert doc["changed"] is True and doc["new"]["digest"] == DIGEST_2

    same = mlops(
        "-C", str(project), "deploy", "diff", f"{NAME}#prod", f"{NAME}@v0.1.0", "--exit-code"
    )
    assert (same.exit_code, same.stdout) == (0, "")
