"""Part 5 of issue 7: `data add`, `model register` and `image build` on a full and on a
read-only filesystem.

Each test mounts its own small tmpfs (root only), copies a trained project onto it, then
either fills it to a few KB free or remounts it read-only, and runs the command. Expected:
exit 3 with one `error:` line naming the problem, the source data byte-identical, every owned
file parsing, no tag without its record, no temp file. The mount is always undone.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mlops_cli.common.fs import _STATE_IGNORE
from tests.conftest import tree_bytes
from tests.faults.harness import git, owned_files_parse, run_mlops, tags_match_records, temp_files
from tests.modelproject import NAME, trained
from tests.required import unavailable

SIZE_MB = 96  # the trained project is ~30 MB
FREE_KB = 8
# How mlops (strerror) and git ("Out of diskspace") name the problem.
PROBLEMS = {
    "full": re.compile(r"No space left on device|out of disk ?space", re.I),
    "ro": re.compile(r"Read-only file system", re.I),
}
# Local state of git and DVC (loose objects, DVC's own rwlock) and mlops's git-ignored state
# folder (the lock file, created empty); its .gitignore is checked to be whole.
VOLATILE = (".git/", ".dvc/tmp/", ".mlops/lock", ".mlops/.gitignore")


def sh(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """A fresh tmpfs of SIZE_MB, unmounted at the end whatever happens."""
    if os.geteuid() != 0:
        unavailable("mounting a tmpfs needs root")
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    mounted = sh("mount", "-t", "tmpfs", "-o", f"size={SIZE_MB}m,mode=0755", "tmpfs", str(mnt))
    if mounted.returncode != 0:
        unavailable(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield mnt
    finally:
        if sh("umount", str(mnt)).returncode != 0:
            sh("umount", "-l", str(mnt))  # a process still inside: detach it now


def fill(mnt: Path) -> None:
    """Leave only FREE_KB free: write a filler until ENOSPC, then give FREE_KB back."""
    filler = mnt / "filler"
    with filler.open("wb") as fh:
        chunk = b"\0" * (1 << 20)
        try:
            while True:
                fh.write(chunk)
                fh.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC, exc
    size = filler.stat().st_size
    os.truncate(filler, max(0, size - FREE_KB * 1024))
    free = os.statvfs(mnt)
    assert free.f_bavail * free.f_frsize <= 4 * FREE_KB * 1024


def make_ro(mnt: Path) -> None:
    out = sh("mount", "-o", "remount,ro", str(mnt))
    if out.returncode != 0:
        unavailable(f"cannot remount the tmpfs read-only: {out.stderr.strip()}")


def prepare(
    mnt: Path,
    base: Path,
    mode: str,
    extra: dict[str, bytes] | None = None,
    first: list[str] | None = None,
) -> Path:
    root = Path(shutil.copytree(base, mnt / NAME, symlinks=True))
    for rel, data in (extra or {}).items():
        (root / rel).write_bytes(data)
    if first:
        out = run_mlops(first, root)
        assert out.returncode == 0, out.stderr
    if mode == "full":
        fill(mnt)
    else:
        make_ro(mnt)
    return root


def check_refused(out: Any, mode: str, root: Path, before: dict[str, bytes]) -> None:
    err = out.stderr
    assert out.returncode == 3, f"exit {out.returncode}:\n{err}"
    assert "Traceback" not in err and "internal error" not in err, err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and PROBLEMS[mode].search(lines[0]), err
    owned_files_parse(root)
    tags_match_records(root)
    assert not temp_files(root)
    assert not list((root / ".dvc").rglob(".*.tmp")), "a DVC temp file was left in .dvc/"
    ignore = root / ".mlops" / ".gitignore"
    assert not ignore.exists() or ignore.read_text() == _STATE_IGNORE
    after = {k: v for k, v in tree_bytes(root).items() if not k.startswith(VOLATILE)}
    kept = {k: v for k, v in before.items() if not k.startswith(VOLATILE)}
    assert sorted(set(after) - set(kept)) == [], "files appeared"
    assert sorted(set(kept) - set(after)) == [], "files vanished"
    assert [k for k in kept if after[k] != kept[k]] == [], "files changed"


@pytest.fixture(scope="module")
def model_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return trained(tmp_path_factory)


MODES = pytest.mark.parametrize("mode", ["full", "ro"])


@pytest.mark.slow
@MODES
def test_data_add(model_base: Path, small_fs: Path, mode: str) -> None:
    data = os.urandom(256 * 1024)
    root = prepare(small_fs, model_base, mode, {"data/raw/new.bin": data})
    before = tree_bytes(root)
    out = run_mlops(["data", "add", "data/raw/new.bin"], root)
    check_refused(out, mode, root, before)
    assert (root / "data/raw/new.bin").read_bytes() == data


@pytest.mark.slow
@MODES
def test_model_register(model_base: Path, small_fs: Path, mode: str) -> None:
    root = prepare(small_fs, model_base, mode)
    before = tree_bytes(root)
    out = run_mlops(["model", "register", NAME, "--version", "v1.0.0"], root)
    check_refused(out, mode, root, before)
    assert not git(root, "tag", "--list").strip()


@pytest.mark.slow
@pytest.mark.docker
@MODES
def test_image_build_reads_the_project_only(
    docker_env: Any, trained_project: Path, small_fs: Path, mode: str
) -> None:
    """The build context and wheelhouse live elsewhere (TMPDIR, the wheel cache), and a
    build records nothing (a push records the digest): a full or read-only project builds,
    byte for byte unchanged."""
    register = ["model", "register", NAME, "--version", "v1.0.0"]
    root = prepare(small_fs, trained_project, mode, first=register)
    before = tree_bytes(root)
    out = run_mlops(["image", "build", f"{NAME}@v1.0.0"], root)
    assert out.returncode == 0, out.stderr
    assert tree_bytes(root) == before


@pytest.mark.slow
@pytest.mark.docker
def test_image_build_with_no_room_for_its_context(
    docker_env: Any,
    trained_project: Path,
    small_fs: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """TMPDIR (where the build context is assembled) on the full fs: exit 3, nothing left.
    (A read-only TMPDIR is not a case: Python's tempfile falls back to /tmp.)"""
    root = Path(shutil.copytree(trained_project, tmp_path / NAME, symlinks=True))
    (small_fs / "tmp").mkdir()
    fill(small_fs)
    monkeypatch.setenv("TMPDIR", str(small_fs / "tmp"))
    before = tree_bytes(root)
    out = run_mlops(["image", "build", NAME], root)
    check_refused(out, "full", root, before)
    assert not list((small_fs / "tmp").iterdir()), "the build context was left behind"
