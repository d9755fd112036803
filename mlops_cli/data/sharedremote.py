"""Is the DVC remote one a teammate can reach? `mlops init` points a new project at a folder
under the user's home (dvcdata.default_remote): right for one person on one machine, out of
reach for a second clone elsewhere, for teammates and for CI.

`mlops doctor` reports it on every run (a diagnosis shows the state); the first
`mlops data push` to such a remote says it once per user and remote, remembered in the
user's state folder (docs/design-decisions.md, "A private remote is said once").
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from mlops_cli.common.progress import Reporter
from mlops_cli.dvc.driver import RemoteInfo

SHARED_NAME = "shared"


@dataclass(frozen=True)
class PrivateRemote:
    """A local-folder remote in a home directory (this user's, or the one `init` wrote)."""

    name: str
    folder: Path

    @property
    def problem(self) -> str:
        return (
            f"DVC remote {self.name!r} is {self.folder}, a folder in a home directory:"
            " teammates, other machines and CI cannot reach it"
        )

    @property
    def fix(self) -> str:
        return (
            f"set a shared remote: `dvc remote add -d --force {SHARED_NAME} URL` (s3://...,"
            f" ssh://..., a shared folder), then `remote: {SHARED_NAME}` in mlops.yaml"
        )

    @property
    def message(self) -> str:
        return f"{self.problem}; {self.fix}"


def private_remote(info: RemoteInfo) -> PrivateRemote | None:
    """`info` as a `PrivateRemote` when it is a local folder under the user's home or data
    folder, or in the place `mlops init` puts another user's default remote (a clone of
    their project carries their path); None for any other remote, a local folder elsewhere
    (a shared mount, $MLOPS_REMOTES_DIR pointing at one) included."""
    folder = info.local_folder
    if folder is None or info.name is None:
        return None
    folder = folder.resolve()
    personal = [Path.home()]
    if os.environ.get("XDG_DATA_HOME"):
        personal.append(Path(os.environ["XDG_DATA_HOME"]))
    inside = any(_within(folder, base) for base in personal)
    scaffolded = "/.local/share/mlops/remotes/" in f"{folder.as_posix()}/"
    return PrivateRemote(info.name, folder) if inside or scaffolded else None


def warn_first_push(info: RemoteInfo, reporter: Reporter) -> PrivateRemote | None:
    """Before a push: warn when the remote is private, the first time only (per user and
    remote URL). A state folder that cannot be written means the warning comes again."""
    private = private_remote(info)
    if private is None:
        return None
    marker = _marker(str(private.folder))
    if marker.exists():
        return private
    reporter.warn(private.message)
    try:
        from mlops_cli.common.fs import atomic_write_text

        marker.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(marker, f"{private.folder}\n")
    except OSError:
        pass  # told again next time: better than failing a push over a reminder
    return private


def _marker(key: str) -> Path:
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]
    return Path(state) / "mlops" / "told" / f"private-remote-{digest}"


def _within(path: Path, base: Path) -> bool:
    try:
        path.relative_to(base.resolve())
    except ValueError:
        return False
    return True
