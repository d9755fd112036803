"""mlops_cli.common.fs: atomic writes, the repo lock, path containment, on real temp dirs."""

from __future__ import annotations

import errno
import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mlops_cli.common.errors import BusyError, ConfigError, InputError, UnsafeError
from mlops_cli.common.fs import atomic_write_bytes, atomic_write_text, ensure_inside, repo_lock

REPO = Path(__file__).resolve().parents[2]
Spawn = Callable[..., "subprocess.Popen[str]"]

# Takes the lock in another process: argv = root, command, timeout, seconds to hold it.
HOLDER = """
import sys, time
from pathlib import Path
from mlops_cli.common.errors import BusyError
from mlops_cli.common.fs import repo_lock
try:
    with repo_lock(Path(sys.argv[1]), sys.argv[2], timeout=float(sys.argv[3])):
        print("locked", flush=True)
        time.sleep(float(sys.argv[4]))
except BusyError as exc:
    print(exc, flush=True)
    sys.exit(exc.exit_code)
"""


def _temp_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


# --- atomic writes ----------------------------------------------------------------------


def test_atomic_write_replaces_content_and_leaves_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "mlops.yaml"
    atomic_write_text(target, "old: 1\n")
    atomic_write_text(target, "new: 2\n")
    assert target.read_text() == "new: 2\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mlops.yaml"]


def test_atomic_write_creates_parent_folders(tmp_path: Path) -> None:
    target = tmp_path / ".mlops" / "models" / "churn" / "v1.0.0.yaml"
    atomic_write_bytes(target, b"model: churn\n")
    assert target.read_bytes() == b"model: churn\n"


def test_new_file_gets_umask_default_not_mkstemp_0600(tmp_path: Path) -> None:
    old_umask = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "a.yaml", "a: 1\n")
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE((tmp_path / "a.yaml").stat().st_mode) == 0o644


def test_existing_permissions_are_kept(tmp_path: Path) -> None:
    script = tmp_path / "train.sh"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o750)
    atomic_write_text(script, "#!/bin/sh\necho hi\n")
    assert stat.S_IMODE(script.stat().st_mode) == 0o750
    assert script.read_text() == "#!/bin/sh\necho hi\n"


def test_explicit_mode_applies_to_a_new_file(tmp_path: Path) -> None:
    atomic_write_bytes(tmp_path / "hook", b"#!/bin/sh\n", mode=0o755)
    assert stat.S_IMODE((tmp_path / "hook").stat().st_mode) == 0o755


def test_symlink_is_replaced_not_written_through(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("keep me\n")
    link = tmp_path / "repo" / "config.yaml"
    link.parent.mkdir()
    link.symlink_to(outside)
    atomic_write_text(link, "a: 1\n")
    assert not link.is_symlink()
    assert link.read_text() == "a: 1\n"
    assert outside.read_text() == "keep me\n"


@pytest.mark.parametrize("step", ["fsync", "replace"])
def test_interrupted_write_leaves_old_file_and_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    target = tmp_path / "dvc.lock"
    old = b"schema: '2.0'\nstages: {}\n" * 50
    target.write_bytes(old)

    def interrupt(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, step, interrupt)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_bytes(target, b"new content")
    monkeypatch.undo()
    assert target.read_bytes() == old
    assert _temp_files(tmp_path) == []


@pytest.mark.parametrize("step", ["write", "fsync"])
def test_disk_full_raises_input_error_and_keeps_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    target = tmp_path / "params.yaml"
    target.write_text("lr: 0.1\n")

    def disk_full(*args: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, step, disk_full)
    with pytest.raises(InputError) as info:
        atomic_write_text(target, "lr: 0.2\n")
    monkeypatch.undo()
    assert str(info.value) == f"cannot write {target}: No space left on device"
    assert info.value.exit_code == 3
    assert target.read_text() == "lr: 0.1\n"
    assert _temp_files(tmp_path) == []


def test_read_only_filesystem_raises_input_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # CI runs as root, where chmod does not stop writes; EROFS is what a read-only mount
    # gives, so raise it where the temp file is created. (Real read-only mounts: issue 7.)
    import tempfile

    (tmp_path / "a.yaml").write_text("a: 1\n")

    def read_only(*args: object, **kwargs: object) -> None:
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    with pytest.raises(InputError, match=r"cannot write .*a\.yaml: Read-only file system"):
        atomic_write_text(tmp_path / "a.yaml", "a: 2\n")
    monkeypatch.undo()
    assert (tmp_path / "a.yaml").read_text() == "a: 1\n"


def test_target_that_is_a_folder_raises_input_error(tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    with pytest.raises(InputError, match=r"cannot write .*models: Is a directory"):
        atomic_write_text(tmp_path / "models", "x")
    assert _temp_files(tmp_path) == []


# --- repo lock --------------------------------------------------------------------------


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Spawn]:
    procs: list[subprocess.Popen[str]] = []
    env = {**os.environ, "PYTHONPATH": str(REPO)}

    def start(command: str, *, timeout: float = 5.0, hold: float = 60.0) -> subprocess.Popen[str]:
        args = [sys.executable, "-c", HOLDER, str(tmp_path), command, str(timeout), str(hold)]
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True, env=env)
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        assert proc.stdout is not None
        proc.stdout.close()


def _hold(spawn: Spawn, command: str, **kwargs: float) -> subprocess.Popen[str]:
    proc = spawn(command, **kwargs)
    assert proc.stdout is not None
    assert proc.stdout.readline() == "locked\n"
    return proc


def _lockfile(root: Path) -> Path:
    return root / ".mlops" / "lock"


def test_busy_lock_names_holder_pid_and_command(tmp_path: Path, spawn: Spawn) -> None:
    holder = _hold(spawn, "model register")
    start = time.monotonic()
    with pytest.raises(BusyError) as info, repo_lock(tmp_path, "status", timeout=0.3):
        pytest.fail("took a lock another process holds")
    elapsed = time.monotonic() - start
    assert 0.3 <= elapsed < 2.0
    message = str(info.value)
    assert message.startswith(
        f"another mlops process holds the repo lock {_lockfile(tmp_path)}:"
        f" pid {holder.pid} running 'model register' since "
    )
    assert info.value.hint == "wait for it to finish, or stop it"
    assert info.value.exit_code == 5


def test_timeout_defaults_from_environment(
    tmp_path: Path, spawn: Spawn, monkeypatch: pytest.MonkeyPatch
) -> None:
    _hold(spawn, "data push")
    monkeypatch.setenv("MLOPS_LOCK_TIMEOUT", "0.2")
    start = time.monotonic()
    with pytest.raises(BusyError), repo_lock(tmp_path, "status"):
        pass
    assert 0.2 <= time.monotonic() - start < 1.5


def test_bad_timeout_in_environment_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLOPS_LOCK_TIMEOUT", "soon")
    with pytest.raises(ConfigError, match="MLOPS_LOCK_TIMEOUT='soon' is not a number"):
        repo_lock(tmp_path, "status")


def test_waits_for_a_holder_that_finishes(tmp_path: Path, spawn: Spawn) -> None:
    holder = _hold(spawn, "image build", hold=0.3)
    with repo_lock(tmp_path, "status", timeout=10):
        assert holder.poll() is not None or holder.wait(timeout=1) == 0
        assert json.loads(_lockfile(tmp_path).read_text())["pid"] == os.getpid()


def test_garbled_lock_file_says_unknown_holder(tmp_path: Path, spawn: Spawn) -> None:
    _hold(spawn, "model test")
    _lockfile(tmp_path).write_bytes(b"\x00\xffnot json")
    with pytest.raises(BusyError) as info:
        repo_lock(tmp_path, "status", timeout=0).acquire()
    assert info.value.message == (
        f"another mlops process holds the repo lock {_lockfile(tmp_path)}: unknown holder"
    )


def test_killed_holder_leaves_a_recoverable_lock(tmp_path: Path, spawn: Spawn) -> None:
    holder = _hold(spawn, "model register")
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    assert json.loads(_lockfile(tmp_path).read_text())["pid"] == holder.pid

    warnings: list[str] = []
    with repo_lock(tmp_path, "model promote", timeout=1, on_warning=warnings.append):
        record = json.loads(_lockfile(tmp_path).read_text())
    assert warnings == [
        f"recovered the repo lock left by pid {holder.pid} (model register),"
        " which is no longer running"
    ]
    assert record["pid"] == os.getpid()
    assert record["command"] == "model promote"
    assert set(record) == {"pid", "command", "host", "started"}


def test_clean_release_empties_the_file_and_warns_nobody(tmp_path: Path, spawn: Spawn) -> None:
    with repo_lock(tmp_path, "data add"):
        assert _lockfile(tmp_path).read_text() != ""
    assert _lockfile(tmp_path).read_bytes() == b""

    probe = spawn("status", timeout=0, hold=0)
    assert probe.wait(timeout=30) == 0

    warnings: list[str] = []
    with repo_lock(tmp_path, "data add", on_warning=warnings.append):
        pass
    assert warnings == []


def test_lock_is_reentrant_within_a_process(tmp_path: Path, spawn: Spawn) -> None:
    with repo_lock(tmp_path, "model register", timeout=0):
        with repo_lock(tmp_path, "model test", timeout=0):
            pass
        # The inner release must not have let go of the outer hold.
        assert json.loads(_lockfile(tmp_path).read_text())["command"] == "model register"
        probe = spawn("status", timeout=0, hold=0)
        assert probe.wait(timeout=30) == 5
        assert probe.stdout is not None
        assert f"pid {os.getpid()} running 'model register'" in probe.stdout.read()
    assert _lockfile(tmp_path).read_bytes() == b""


# --- ensure_inside ----------------------------------------------------------------------


def test_ensure_inside_accepts_paths_in_the_root(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    assert ensure_inside(tmp_path, Path("data/train.csv")) == tmp_path.resolve() / "data/train.csv"
    assert ensure_inside(tmp_path, tmp_path / "data") == tmp_path.resolve() / "data"


@pytest.mark.parametrize("candidate", ["../etc/passwd", "data/../../x", "/etc/passwd"])
def test_ensure_inside_refuses_escapes(tmp_path: Path, candidate: str) -> None:
    with pytest.raises(UnsafeError, match="outside") as info:
        ensure_inside(tmp_path, Path(candidate))
    assert info.value.exit_code == 4


def test_ensure_inside_follows_symlinks_out(tmp_path: Path) -> None:
    root = tmp_path / "project"
    root.mkdir()
    (root / "escape").symlink_to(tmp_path)
    with pytest.raises(UnsafeError, match="outside"):
        ensure_inside(root, Path("escape/secret"))


def test_another_thread_of_the_process_re_enters_the_lock(tmp_path: Path) -> None:
    # The lock excludes other processes; threads of one mlops process share it.
    outcome: list[str] = []

    def worker() -> None:
        with repo_lock(tmp_path, "worker", timeout=0):
            outcome.append("entered")

    with repo_lock(tmp_path, "model register", timeout=0):
        thread = threading.Thread(target=worker)
        thread.start()
        thread.join(timeout=10)
        assert json.loads(_lockfile(tmp_path).read_text())["command"] == "model register"
    assert outcome == ["entered"]
    assert _lockfile(tmp_path).read_bytes() == b""
