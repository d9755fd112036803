"""Real git + DVC projects for the `mlops data` tests (helpers, not fixtures)."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

from mlops_cli.dvc.driver import remote_info
from mlops_cli.dvc.files import object_path
from mlops_cli.project.root import Project, open_project
from mlops_cli.scaffold.init import init_project
from mlops_cli.scaffold.templates import resolve_answers, resolve_template

CSV = b"id,price\n1,10.5\n2,3.25\n3,7.0\n"


def new_project(dest: Path) -> Project:
    """`mlops init -t minimal`: git, DVC and the default local remote, first commit made."""
    tpl = resolve_template("minimal", cwd=dest.parent)
    init_project(dest, tpl, resolve_answers(tpl, {}, dest_name=dest.name))
    return open_project(dest)


def reopen(project: Project) -> Project:
    return open_project(project.root)


def committed(project: Project, message: str = "data") -> Project:
    git(project.root, "commit", "-qm", message)
    return reopen(project)


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(root), *args], capture_output=True, text=True, check=True
    ).stdout


def dvc(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dvc", *args], cwd=root, capture_output=True, text=True
    )


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def md5(path: Path) -> str:
    digest = hashlib.md5()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def staged(root: Path) -> set[str]:
    return set(git(root, "diff", "--cached", "--name-only").split())


def remote_dir(root: Path) -> Path:
    url = remote_info(root, None).url
    assert url is not None
    return Path(url)


def remote_object(root: Path, md5_value: str) -> Path:
    return object_path(remote_dir(root), md5_value)


def clone(src: Path, dest: Path) -> Path:
    subprocess.run(["git", "clone", "-q", str(src), str(dest)], check=True)
    return dest


def big_file(path: Path, megabytes: int) -> Path:
    """A file of distinct 1 MB blocks (no two alike, so nothing can deduplicate it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    block = bytearray(hashlib.sha512(b"seed").digest() * (1 << 14))
    with path.open("wb") as fh:
        for i in range(megabytes):
            block[:8] = i.to_bytes(8, "little")
            fh.write(block)
    return path
