"""Sweep the temp files of atomic writes whose writer died (SIGKILL, power loss).

`fs.atomic_write_bytes` writes `.<name>.<pid>-<random>.tmp` beside its target and renames
it into place; only a process killed between the two leaves one behind. A later command
removes it when the pid in its name is no longer running, so no lock is needed: a live
writer's temp file (a hook caching a result, a `data add` in another terminal) is never
touched. Only the folders mlops writes into are listed, never a data folder's contents:
the project root, `.mlops/` and its model records and validation cache folders, and the
parents of the data sets and models declared in `mlops.yaml`, where their `.dvc` files
live.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlops_cli.project.root import Project

TEMP_NAME = re.compile(r"^\..+\.(?P<pid>\d+)-[A-Za-z0-9_]+\.tmp$")


def sweep(folders: Iterable[Path]) -> list[Path]:
    """Remove dead writers' temp files directly in `folders`; the paths removed."""
    removed: list[Path] = []
    for folder in dict.fromkeys(folders):
        with contextlib.suppress(OSError), os.scandir(folder) as entries:
            for entry in entries:
                match = TEMP_NAME.match(entry.name)
                if match is None or not entry.is_file(follow_symlinks=False):
                    continue
                if _alive(int(match["pid"])):
                    continue
                with contextlib.suppress(OSError):
                    Path(entry.path).unlink()
                    removed.append(Path(entry.path))
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True  # another user's process, or not a pid we can ask about: keep it
    return True


def project_folders(project: Project) -> list[Path]:
    root = project.root
    state = root / ".mlops"
    folders = [root, state]
    models = state / "models"
    with contextlib.suppress(OSError):
        folders += [d for d in models.iterdir() if d.is_dir()]
    folders.append(models)
    config = project.config
    paths = [d.path for d in config.datasets.values()] + [m.path for m in config.models.values()]
    folders += [(root / path).parent for path in paths]
    return folders


def cache_folders(project: Project) -> list[Path]:
    """The validation cache's folders, in the user's cache folder for the project (its path
    comes from the project's real path, never from a file the clone holds)."""
    from mlops_cli.common.fs import user_cache_dir

    cache = user_cache_dir(project.root) / "validation"
    folders = [cache / "stat", cache / "config"]
    with contextlib.suppress(OSError):
        folders += [d for d in (cache / "results").iterdir() if d.is_dir()]
    return folders


def sweep_project(project: Project) -> list[Path]:
    """Only real folders inside the project: a data set's path in a cloned `mlops.yaml`
    (absolute, `..`) or a symlinked folder must not point the sweep anywhere else; and the
    validation cache's own folders."""
    root = project.root.resolve()
    inside = cache_folders(project)
    for folder in project_folders(project):
        with contextlib.suppress(OSError, ValueError):
            if folder.is_symlink() or not folder.resolve().is_relative_to(root):
                continue
            inside.append(folder)
    return sweep(inside)
