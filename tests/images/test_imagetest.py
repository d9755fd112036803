"""images/imagetest.py without Docker: which model and file an image must carry before its
tests run, and what `test_image` hands to `modeltest.run.run_checks`.

The Docker boundary is faked here (`dockerd.connect` returns a client whose only image has
the labels a test gives it, and `running` yields a container that was never started); the
projects, the model files and the registry records are real (tests/modelproject.py).

The real-Docker path is tested elsewhere, against the daemon the test services run:
tests/images/test_build.py::test_declared_model_tests_pass_through_the_container builds the
image and runs `test_image` through the container (every check family, and the refusal
once the workspace model is retrained), and tests/test_adopt.py runs
`mlops test MODEL@VERSION --image REF --json` end to end in an adopted repository.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from mlops_cli.common.errors import InputError
from mlops_cli.images import imagetest
from mlops_cli.images.container import HttpPredictor, RunningImage
from mlops_cli.modeltest import run as modelrun
from mlops_cli.project.root import Project, open_project
from mlops_cli.registry.records import WORKSPACE, resolve
from mlops_cli.runtime.model import sha256_file
from tests.modelproject import NAME, copy_of, trained, weak

REF = "127.0.0.1:5000/churn:test"


class FakeDocker:
    """The Docker boundary: one image with `labels`, and whether a container was started."""

    def __init__(self, labels: dict[str, str] | None) -> None:
        self.labels = labels
        self.started: list[str] = []
        self.checked: list[dict[str, Any]] = []
        self.connected = False

    def client(self) -> Any:
        self.connected = True
        image = SimpleNamespace(labels=self.labels)
        return SimpleNamespace(images=SimpleNamespace(get=lambda ref: image))

    @contextmanager
    def running(self, ref: str, *, reporter: Any, client: Any) -> Iterator[RunningImage]:
        self.started.append(ref)
        yield RunningImage(ref, "c0ffee", "http://127.0.0.1:9", "bridge")

    def run_checks(self, project: Project, name: str, predictor: Any, **kw: Any) -> str:
        self.checked.append({"project": project, "name": name, "predictor": predictor, **kw})
        return "the report"


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Any:
    def install(labels: dict[str, str] | None) -> FakeDocker:
        docker = FakeDocker(labels)
        monkeypatch.setattr(imagetest.dockerd, "connect", docker.client)
        monkeypatch.setattr(imagetest, "running", docker.running)
        monkeypatch.setattr(modelrun, "run_checks", docker.run_checks)
        return docker

    return install


@pytest.fixture
def project(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Project:
    """`churn` trained in the workspace, no version registered."""
    return open_project(copy_of(trained(tmp_path_factory), tmp_path))


def _labels(model: str | None, sha: str | None, size: str | None = "1234") -> dict[str, str]:
    labels = {"mlops.model": model, "mlops.artifact.sha256": sha, "mlops.artifact.bytes": size}
    return {k: v for k, v in labels.items() if v is not None}


def _workspace_sha(project: Project) -> str:
    return sha256_file(project.root / project.config.models[NAME].path)


def test_an_image_of_the_workspace_model_is_tested_through_its_container(
    project: Project, fake: Any
) -> None:
    docker = fake(_labels(NAME, _workspace_sha(project)))
    assert imagetest.test_image(project, NAME, REF) == "the report"
    assert docker.started == [REF]
    [call] = docker.checked
    assert call["name"] == NAME and call["version"] is None  # a bare name: the workspace
    assert isinstance(call["predictor"], HttpPredictor)
    assert call["predictor"].url == "http://127.0.0.1:9"
    assert call["artifact"] == {
        "path": project.config.models[NAME].path,
        "sha256": _workspace_sha(project),
        "bytes": 1234,
        "image": REF,
    }
    assert call["target"] == f"{REF} (bridge network)"


@pytest.mark.parametrize("size", [None, "0", ""])
def test_an_unknown_size_is_recorded_as_none(project: Project, fake: Any, size: str) -> None:
    docker = fake(_labels(NAME, _workspace_sha(project), size))
    imagetest.test_image(project, NAME, REF)
    assert docker.checked[0]["artifact"]["bytes"] is None


@pytest.mark.parametrize(
    ("labels", "says"),
    [
        (None, "serves model (none: not built by mlops), not churn"),
        ({}, "serves model (none: not built by mlops), not churn"),
        ({"mlops.model": "fraud"}, "serves model fraud, not churn"),
    ],
)
def test_an_image_of_another_model_is_refused_before_it_runs(
    project: Project, fake: Any, labels: dict[str, str] | None, says: str
) -> None:
    docker = fake(labels)
    with pytest.raises(InputError, match=re.escape(says)) as err:
        imagetest.test_image(project, NAME, REF)
    assert f"build it with `mlops image build {NAME}`" in str(err.value)
    assert docker.started == [] and docker.checked == []


def test_an_image_of_another_model_file_is_refused_before_it_runs(
    project: Project, fake: Any
) -> None:
    docker = fake(_labels(NAME, "f" * 64))
    with pytest.raises(InputError, match=f"carries model file sha256 {'f' * 12}, not the") as err:
        imagetest.test_image(project, NAME, REF)
    assert _workspace_sha(project)[:12] in str(err.value)
    assert docker.started == [] and docker.checked == []
    fake(_labels(NAME, None))  # no sha label at all: not the file either
    with pytest.raises(InputError, match="carries model file sha256 None"):
        imagetest.test_image(project, NAME, REF)


def test_a_registered_version_is_checked_against_its_record(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, fake: Any
) -> None:
    """In `weak`, v1.0.0 is registered and the workspace holds a retrained model: the
    image of v1.0.0 must carry the recorded file, not the workspace's."""
    project = open_project(copy_of(weak(tmp_path_factory), tmp_path))
    recorded = resolve(project, f"{NAME}@v1.0.0")
    assert recorded.record is not None
    sha = recorded.record.artifact["sha256"]
    assert sha != _workspace_sha(project)
    docker = fake(_labels(NAME, sha))
    imagetest.test_image(project, f"{NAME}@v1.0.0", REF)
    assert docker.checked[0]["version"] == "v1.0.0"
    docker = fake(_labels(NAME, _workspace_sha(project)))
    with pytest.raises(InputError, match="carries model file sha256"):
        imagetest.test_image(project, f"{NAME}#prod", REF)  # a stage names the same version
    imagetest.test_image(project, NAME, REF)  # a bare name is the workspace, not the latest
    assert [c["version"] for c in docker.checked] == [None]


def test_a_bad_spec_fails_before_docker_is_asked(project: Project, fake: Any) -> None:
    docker = fake(_labels(NAME, _workspace_sha(project)))
    with pytest.raises(InputError, match="no registered version"):
        imagetest.test_image(project, f"{NAME}@latest", REF)
    with pytest.raises(InputError):
        imagetest.test_image(project, "no-such-model", REF)
    assert not docker.connected


def test_expected_sha_of_a_record_a_file_or_nothing(project: Project, tmp_path: Path) -> None:
    workspace = resolve(project, f"{NAME}@{WORKSPACE}")
    assert imagetest._expected_sha(workspace) == _workspace_sha(project)
    missing = SimpleNamespace(record=None, artifact=tmp_path / "gone.skops")
    assert imagetest._expected_sha(missing) is None  # nothing to compare: the label decides
    record = SimpleNamespace(artifact={"sha256": "a" * 64})
    assert imagetest._expected_sha(SimpleNamespace(record=record, artifact=None)) == "a" * 64
    empty = SimpleNamespace(artifact={"sha256": ""})
    assert imagetest._expected_sha(SimpleNamespace(record=empty, artifact=None)) is None
