"""DVC's configuration, read the way DVC reads it, without importing DVC.

DVC merges four files, each shadowing the one before: system (`$DVC_SYSTEM_CONFIG_DIR`,
else `$XDG_CONFIG_DIRS`' first folder + `/dvc`, i.e. `/etc/xdg/dvc/config`), global
(`$DVC_GLOBAL_CONFIG_DIR`, else `${XDG_CONFIG_HOME:-~/.config}/dvc/config`), the repo's
`.dvc/config` and `.dvc/config.local`. A relative path in a file (a local remote's URL,
`cache.dir`) is relative to that file's folder. Every place in mlops that needs the
default remote, a remote's URL or the cache folder asks this module, so a remote set with
`dvc remote add --global -d` is seen everywhere DVC itself would see it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Setting:
    value: str
    folder: Path  # the folder of the file that set it: a relative path is relative to it


def config_files(root: Path) -> list[Path]:
    """DVC's config files for the repo at `root`, lowest precedence first."""
    system = os.environ.get("DVC_SYSTEM_CONFIG_DIR")
    if not system:
        xdg_dirs = os.environ.get("XDG_CONFIG_DIRS", "").split(os.pathsep)[0] or "/etc/xdg"
        system = str(Path(xdg_dirs) / "dvc")
    user = os.environ.get("DVC_GLOBAL_CONFIG_DIR")
    if not user:
        home = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
        user = str(Path(home) / "dvc")
    return [
        Path(system) / "config",
        Path(user) / "config",
        root / ".dvc" / "config",
        root / ".dvc" / "config.local",
    ]


_NAMED = re.compile(r'^\s*(remote|machine)\s*"(.*)"\s*$')


def load(root: Path) -> dict[str, dict[str, Setting]]:
    """Sections (`core`, `cache`, `remote NAME`) merged across the four files, parsed with
    configobj as DVC parses them (inline `# comments`, quoted values, lower-cased section
    and key names, `remote "NAME"` sections). An unreadable or malformed file is skipped:
    DVC itself reports it in detail when it runs."""
    from configobj import ConfigObj, ConfigObjError

    merged: dict[str, dict[str, Setting]] = {}
    for path in config_files(root):
        try:
            with path.open(encoding="utf-8") as fh:
                conf = ConfigObj(fh)
        except (OSError, ConfigObjError, UnicodeDecodeError):
            continue
        for section, values in conf.items():
            if not isinstance(values, dict):
                continue  # a key outside any section: DVC's schema rejects it
            named = _NAMED.match(section)
            key = f"{named[1]} {named[2]}" if named else section.lower()
            target = merged.setdefault(key, {})
            for name, value in values.items():
                if isinstance(value, dict):
                    continue
                text = ",".join(value) if isinstance(value, list) else str(value)
                target[name.lower()] = Setting(text.strip(), path.parent)
    return merged


def remote(root: Path, name: str | None) -> tuple[str | None, Setting | None]:
    """The remote `name`, else DVC's default (`core.remote`), and its URL: one read of the
    config files."""
    config = load(root)
    if not name:
        default = config.get("core", {}).get("remote")
        name = default.value if default else None
    if not name:
        return None, None
    return name, config.get(f"remote {name}", {}).get("url")


def local_path(setting: Setting) -> Path | None:
    """A local remote's folder (a plain or `file://` path), resolved as DVC does; None for
    a URL with another scheme (s3://, ssh://...)."""
    url = setting.value
    if url.startswith("file://"):
        url = url[len("file://") :]
    elif "://" in url:
        return None
    return (setting.folder / Path(url).expanduser()).resolve()


def cache_dir(root: Path) -> Path:
    """The local cache: `cache.dir` from the highest level that sets it, else `.dvc/cache`."""
    setting = load(root).get("cache", {}).get("dir")
    if setting and setting.value:
        return (setting.folder / Path(setting.value).expanduser()).resolve()
    return root / ".dvc" / "cache"
