"""Python wheels for an image, resolved on the host and cached, so the build needs no network.

`pip download --only-binary=:all:` for the base image's Python version, ABI and platform
(probed once per base image), pinned to the versions the model was trained with. A
wheelhouse is keyed by everything that decides its content, written to a temporary folder
and renamed into place when complete, so a cache hit is always a whole set of wheels.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from mlops_cli.common.errors import ExternalToolError, InputError
from mlops_cli.common.fs import atomic_write_text

CACHE_ENV = "MLOPS_WHEEL_CACHE"
LOCK_FILE = "requirements.lock"
_COMPLETE = ".complete"
_WHEEL = re.compile(r"^(?P<name>[^-]+)-(?P<version>[^-]+)(-\d[^-]*)?-[^-]+-[^-]+-[^-]+\.whl$")


@dataclass(frozen=True)
class Platform:
    """What a wheel must match to install in the image."""

    python: str  # "3.11"
    machine: str  # "x86_64", "aarch64"
    glibc: str | None  # "2.36"; None for a musl or unknown libc

    @property
    def abi(self) -> str:
        return "cp" + self.python.replace(".", "")

    def platform_tags(self) -> list[str]:
        """Every manylinux tag the image's glibc accepts, newest first."""
        if self.glibc is None:
            raise InputError(
                f"the base image's libc is not glibc (python {self.python}, {self.machine});"
                " mlops resolves manylinux wheels only",
                hint="use a Debian- or Ubuntu-based image such as python:3.11-slim",
            )
        major, minor = (int(p) for p in self.glibc.split(".")[:2])
        tags = [f"manylinux_{major}_{m}_{self.machine}" for m in range(minor, 4, -1)]
        legacy = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}
        tags += [f"{name}_{self.machine}" for m, name in legacy.items() if m <= minor]
        return tags


@dataclass(frozen=True)
class Wheelhouse:
    folder: Path
    pins: dict[str, str]  # what was asked for
    locked: dict[str, str]  # every wheel in the folder: name -> version
    cached: bool

    @property
    def wheels(self) -> list[Path]:
        return sorted(self.folder.glob("*.whl"))

    @property
    def lock_text(self) -> str:
        return "".join(f"{name}=={version}\n" for name, version in sorted(self.locked.items()))


def cache_root() -> Path:
    if env := os.environ.get(CACHE_ENV):
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mlops" / "wheels"


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def resolve_wheels(pins: dict[str, str], platform: Platform) -> Wheelhouse:
    """The cached wheelhouse for `pins` on `platform`, downloading it on a miss."""
    pins = {normalize(k): str(v) for k, v in sorted(pins.items())}
    key_src = json.dumps(
        {
            "pins": pins,
            "python": platform.python,
            "machine": platform.machine,
            "glibc": platform.glibc,
        },
        sort_keys=True,
    )
    key = hashlib.sha256(key_src.encode()).hexdigest()[:20]
    folder = cache_root() / f"cp{platform.python.replace('.', '')}-{platform.machine}-{key}"
    if (folder / _COMPLETE).is_file():
        return Wheelhouse(folder, pins, _locked(folder), cached=True)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        _download(pins, platform, tmp)
        locked = _locked(tmp)
        atomic_write_text(
            tmp / LOCK_FILE, "".join(f"{n}=={v}\n" for n, v in sorted(locked.items()))
        )
        (tmp / _COMPLETE).write_text(key_src + "\n")
        try:
            tmp.rename(folder)
        except OSError:  # another build finished the same wheelhouse first: use theirs
            if not (folder / _COMPLETE).is_file():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return Wheelhouse(folder, pins, _locked(folder), cached=False)


def _download(pins: dict[str, str], platform: Platform, dest: Path) -> None:
    requirements = dest / ".pins.txt"
    requirements.write_text("".join(f"{n}=={v}\n" for n, v in pins.items()))
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--disable-pip-version-check",
        "--no-input",
        "--progress-bar",
        "off",
        "--only-binary=:all:",
        "--implementation",
        "cp",
        "--python-version",
        platform.python,
        "--abi",
        platform.abi,
        "--abi",
        "abi3",
        "--abi",
        "none",
        *[arg for tag in platform.platform_tags() for arg in ("--platform", tag)],
        "--dest",
        str(dest),
        "-r",
        str(requirements),
    ]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800, check=False)
    except FileNotFoundError as exc:  # pragma: no cover - sys.executable always exists
        raise ExternalToolError(f"cannot run pip: {exc}") from exc
    except subprocess.TimeoutExpired as exc:
        raise ExternalToolError("pip download took more than 30 minutes; gave up") from exc
    finally:
        with contextlib.suppress(OSError):
            requirements.unlink()
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-8:])
        pinned = ", ".join(f"{n}=={v}" for n, v in pins.items())
        raise ExternalToolError(
            f"could not resolve wheels for python {platform.python} on {platform.machine}"
            f" ({pinned}):\n{tail}",
            hint="check the versions in the model's environment record and that a package"
            " index is reachable (pip's own configuration applies)",
        )


def _locked(folder: Path) -> dict[str, str]:
    locked: dict[str, str] = {}
    for wheel in folder.glob("*.whl"):
        match = _WHEEL.match(wheel.name)
        if match:
            locked[normalize(match["name"])] = match["version"]
    return locked
