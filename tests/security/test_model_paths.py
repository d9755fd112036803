"""Issue 13 part 5: a model path in a cloned `mlops.yaml` (or version record) stays inside
the project, as data paths do. An absolute path, a `..` escape and a symlink pointing out
are refused (exit 4, "outside") by every command that reads the model file, even when the
file out there is a perfectly good model."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from mlops_cli.common.errors import UnsafeError
from mlops_cli.project.root import open_project
from mlops_cli.registry import records
from tests.modelproject import NAME, build_env, commit_all, copy_of, edit_config, tool, trained

MODEL = "models/model.skops"
COMMANDS = {
    "register": ["model", "register", NAME],
    "test": ["test", NAME],
    "image build": ["image", "build", NAME],
    "serve": ["serve", NAME, "--port", "0"],
}


def _escape(project: Path, outside: Path, kind: str) -> None:
    """Point the model at a copy of it outside the project, the way `kind` says."""
    outside.mkdir()
    shutil.copy2(project / MODEL, outside / "model.skops")
    if kind == "absolute":
        edit_config(project, f"path: {MODEL}", f"path: {outside / 'model.skops'}")
    elif kind == "dotdot":
        up = Path("..") / ".." / outside.name / "model.skops"  # from the project root
        assert (project / up).resolve() == (outside / "model.skops").resolve()
        edit_config(project, f"path: {MODEL}", f"path: {up.as_posix()}")
    else:
        (project / "models/link.skops").symlink_to(outside / "model.skops")
        edit_config(project, f"path: {MODEL}", "path: models/link.skops")
    commit_all(project, f"the model path leaves the project ({kind})")


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return trained(tmp_path_factory)


@pytest.mark.parametrize("kind", ["absolute", "dotdot", "symlink"])
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_model_path_out_of_the_project_is_refused(
    base: Path, tmp_path: Path, kind: str, command: str
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    project = copy_of(base, work)
    _escape(project, tmp_path / "elsewhere", kind)
    env = build_env(tmp_path / "home")
    try:
        done = subprocess.run(
            [tool("mlops"), *COMMANDS[command]],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,  # `serve` accepting the model would listen forever
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"`mlops {command}` accepted a model outside the project")
    assert done.returncode == 4, (done.stdout, done.stderr)
    assert "outside" in done.stderr and "hint: keep paths inside the project" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_record_artifact_path_out_of_the_project_is_refused(base: Path, tmp_path: Path) -> None:
    """A version record is as writable as mlops.yaml: its artifact path is contained too,
    and its sha256 must be one (it names a file in `.mlops/`)."""
    project = open_project(copy_of(base, tmp_path))
    outside = tmp_path / "elsewhere.skops"
    shutil.copy2(project.root / MODEL, outside)
    sha = records.sha256_file(outside)[0]
    record = records.VersionRecord(
        model=NAME,
        version="v9.9.9",
        created="2026-01-01T00:00:00Z",
        git={"commit": "HEAD"},
        artifact={"path": str(outside), "format": "skops", "sha256": sha},
    )
    with pytest.raises(UnsafeError, match="outside"):
        records.materialize(project, record)
    for bad in ("../../etc/passwd", "abc"):
        forged = records.replace(record, artifact={**record.artifact, "path": MODEL, "sha256": bad})
        with pytest.raises(records.InputError, match="no valid artifact sha256"):
            records.materialize(project, forged)


def test_a_symlink_inside_the_project_is_fine(base: Path, tmp_path: Path) -> None:
    project = copy_of(base, tmp_path)
    (project / "models/link.skops").symlink_to("model.skops")
    edit_config(project, f"path: {MODEL}", "path: models/link.skops")
    resolved = records.resolve(open_project(project), f"{NAME}@workspace")
    assert resolved.artifact == project / "models/link.skops"  # its own name, not the target's
