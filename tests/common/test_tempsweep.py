"""Temp files of atomic writes killed mid-way are removed by the next command, and only
those: a live writer's temp file, or a file that merely looks like one, stays."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from mlops_cli.common import tempsweep
from mlops_cli.common.fs import atomic_write_text, user_cache_dir
from tests.valdata import write_project


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid  # reaped: no such process now (pid reuse within the test is negligible)


def test_an_atomic_writer_killed_mid_write_leaves_a_temp_the_next_command_removes(
    tmp_path: Path, mlops: Any
) -> None:
    project = write_project(tmp_path / "proj")
    target = project / "mlops.yaml"
    before = target.read_bytes()
    # A real writer, SIGKILLed while its temp file exists (it blocks on a FIFO mid-write).
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from mlops_cli.common import fs\n"
        "def blocking(fd, data):\n"
        "    open(sys.argv[2]).read()\n"
        "fs._write_all = blocking\n"
        "fs.atomic_write_bytes(Path(sys.argv[1]), b'half')\n"
    )
    writer = subprocess.Popen([sys.executable, "-c", code, str(target), str(fifo)])
    for _ in range(400):
        if list(project.glob(".mlops.yaml.*.tmp")):
            break
        time.sleep(0.05)
    leftovers = list(project.glob(".mlops.yaml.*.tmp"))
    assert leftovers, "the writer never made its temp file"
    assert tempsweep.TEMP_NAME.match(leftovers[0].name)
    assert not tempsweep.sweep([project]), "a live writer's temp file was removed"
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    assert target.read_bytes() == before
    assert list(project.glob(".mlops.yaml.*.tmp")) == leftovers

    nxt = mlops("-C", str(project), "validate", "customers")  # any command that opens it
    assert nxt.exit_code == 0, nxt.stderr
    assert not list(project.glob(".mlops.yaml.*.tmp"))


def test_only_dead_writers_files_in_the_folders_mlops_writes(tmp_path: Path) -> None:
    root = write_project(tmp_path / "proj")
    from mlops_cli.project.root import Project, load_config

    project = Project(root=root, config=load_config(root / "mlops.yaml"))
    dead = dead_pid()
    records = root / ".mlops" / "models" / "churn"
    records.mkdir(parents=True)
    results = user_cache_dir(root) / "validation" / "results" / "ab"
    results.mkdir(parents=True)
    data_dir = (root / next(iter(project.config.datasets.values())).path).parent
    gone = [
        root / f".mlops.yaml.{dead}-abc123_x.tmp",
        records / f".v1.yaml.{dead}-zz99zz99.tmp",
        results / f".{'e' * 64}.json.{dead}-q1w2e3r4.tmp",
        data_dir / f".customers.csv.dvc.{dead}-a1b2c3d4.tmp",
    ]
    kept = [
        root / f".mlops.yaml.{os.getppid()}-abc123_x.tmp",  # a live process
        root / ".mlops.yaml.tmp",  # no pid: not ours
        root / f"notes.{dead}-abc.tmp",  # not a dot file
        data_dir / "sub" / f".x.{dead}-abcdefgh.tmp",  # inside a data folder: not listed
    ]
    for path in gone + kept:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
    removed = tempsweep.sweep_project(project)
    assert sorted(removed) == sorted(gone)
    assert all(p.exists() for p in kept)
    assert not any(p.exists() for p in gone)


def test_atomic_write_names_its_temp_file_with_its_pid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []
    real = os.replace

    def spy(src: Any, dst: Any) -> None:
        seen.append(Path(src).name)
        real(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    atomic_write_text(tmp_path / "f.yaml", "a: 1\n")
    assert len(seen) == 1
    match = tempsweep.TEMP_NAME.match(seen[0])
    assert match and int(match["pid"]) == os.getpid(), seen


def test_paths_in_mlops_yaml_never_point_the_sweep_outside_the_project(tmp_path: Path) -> None:
    """A cloned mlops.yaml may name `../x` or `/abs/x`, and `.mlops/models/<m>` may be a
    symlink: none of them lets the sweep delete anything outside the project."""
    from mlops_cli.project.root import Project, load_config

    root = write_project(tmp_path / "proj")
    outside, absolute = tmp_path / "outside", tmp_path / "abs"
    config = root / "mlops.yaml"
    config.write_text(
        config.read_text()
        + f"  up:\n    path: ../outside/x.csv\n  there:\n    path: {absolute}/y.csv\n"
    )
    project = Project(root=root, config=load_config(config))
    dead = dead_pid()
    models = root / ".mlops" / "models"
    models.mkdir(parents=True)
    (models / "linked").symlink_to(tmp_path / "linked-target", target_is_directory=True)
    victims = [
        outside / f".x.csv.dvc.{dead}-abcdefgh.tmp",
        absolute / f".y.csv.dvc.{dead}-abcdefgh.tmp",
        tmp_path / "linked-target" / f".v1.yaml.{dead}-abcdefgh.tmp",
    ]
    for path in victims:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("not mlops' to delete")
    ours = root / f".mlops.yaml.{dead}-abcdefgh.tmp"
    ours.write_text("x")
    assert tempsweep.sweep_project(project) == [ours]
    assert all(p.exists() for p in victims)
