"""End to end, as a user runs it: the installed entry point, real git, real DVC."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO_ROOT


def tool(name: str) -> str:
    beside = Path(sys.executable).with_name(name)
    return str(beside) if beside.exists() else name


def sh(*cmd: str, cwd: Path, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        list(cmd),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, f"{cmd} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return proc


def check_trained_project(project: Path, dvc: str) -> None:
    """What a user sees after `dvc repro`: a clean pipeline, a loadable model, good metrics."""
    status = sh(dvc, "status", "--json", cwd=project)
    assert json.loads(status.stdout or "{}") == {}, status.stdout
    holdout = json.loads((project / "metrics/holdout.json").read_text())
    config = yaml.safe_load((project / "mlops.yaml").read_text())
    floors = config["models"][project.name]["tests"]["metrics"]
    for metric, bound in floors.items():
        if "min" in bound and metric in holdout:
            assert holdout[metric] >= bound["min"], (metric, holdout[metric], bound)
    assert (project / "models/model.skops").stat().st_size > 0
    env = json.loads((project / "models/environment.json").read_text())
    assert "scikit-learn" in env["packages"]


@pytest.mark.slow
@pytest.mark.parametrize("dataset", ["breast_cancer", "wine"])
def test_sklearn_classifier_trains_end_to_end(mlops: Any, tmp_path: Path, dataset: str) -> None:
    out = mlops("init", "churn", "--set", f"dataset={dataset}", cwd=tmp_path)
    assert out.exit_code == 0, out.stderr
    assert out.stdout == ""  # progress goes to stderr
    project = tmp_path / "churn"
    log = sh("git", "log", "--format=%s", cwd=project).stdout
    assert log.strip() == "Scaffold from mlops template sklearn-classifier 1.2.0"
    tracked = sh("git", "ls-files", cwd=project).stdout.split()
    assert "data/raw/data.csv.dvc" in tracked and "data/raw/data.csv" not in tracked
    assert mlops("config", "check", cwd=project).exit_code == 0
    sh(tool("dvc"), "repro", cwd=project)
    check_trained_project(project, tool("dvc"))
    import skops.io as sio

    model_path = project / "models/model.skops"
    untrusted = sio.get_untrusted_types(file=model_path)
    assert all(t.startswith(("sklearn.", "numpy.")) for t in untrusted), untrusted


@pytest.mark.slow
def test_minimal_template(mlops: Any, tmp_path: Path) -> None:
    out = mlops("init", "tiny", "--template", "minimal", cwd=tmp_path)
    assert out.exit_code == 0, out.stderr
    assert mlops("config", "check", cwd=tmp_path / "tiny").exit_code == 0
    assert sh("git", "status", "--porcelain", cwd=tmp_path / "tiny").stdout == ""


def test_python_dash_m(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "mlops_cli", "templates", "list", "--json"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["schema_version"] == 1


@pytest.mark.slow
def test_wheel_installs_in_a_fresh_venv_and_scaffolds(tmp_path: Path) -> None:
    """The wheel carries the templates: init + dvc repro from that installation alone."""
    dist = tmp_path / "dist"
    sh(
        sys.executable,
        "-m",
        "build",
        "--wheel",
        "--outdir",
        str(dist),
        str(REPO_ROOT),
        cwd=tmp_path,
    )
    wheel = next(dist.glob("mlops_cli-*.whl"))
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    py = env_dir / "bin/python"
    # Dependencies come from the package index (or pip's cache); the package itself only
    # from the wheel just built, never from this checkout.
    sh(str(py), "-m", "pip", "install", "--quiet", str(wheel), cwd=tmp_path, timeout=1200)
    work = tmp_path / "work"
    work.mkdir()
    # Run from a folder outside the checkout so nothing can import it by accident.
    where = sh(
        str(py), "-c", "import mlops_cli, os; print(os.path.dirname(mlops_cli.__file__))", cwd=work
    ).stdout.strip()
    assert str(env_dir) in where
    sh(str(env_dir / "bin/mlops"), "init", "churn", cwd=work)
    project = work / "churn"
    env = {**os.environ, "PATH": f"{env_dir / 'bin'}:{os.environ['PATH']}"}
    proc = subprocess.run(
        [str(env_dir / "bin/dvc"), "repro"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr
    check_trained_project(project, str(env_dir / "bin/dvc"))
