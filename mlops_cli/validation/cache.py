"""The validation cache: an unchanged file against an unchanged schema costs a few `stat`s.

Two layers of small JSON files under the user's cache folder for the project
(`$XDG_CACHE_HOME/mlops/projects/<sha256 of its real path>/validation/`, common/fs.py
`user_cache_dir`), each written atomically and on its own, so concurrent runs (a hook and a
terminal) need no lock: the worst a race does is write the same entry twice. Never inside
the repository: a clone can force-commit files into `.mlops/cache/`, and a planted result
entry would make `mlops validate` in a CI job pass data that breaks its schema
(tests/security/test_planted_caches.py).

- `stat/<sha1 of the path>.json`: a file's size, mtime_ns, ctime_ns and inode with the
  sha256 of its content, so the content hash of an unchanged file is found without reading
  it. ctime is there because mtime can be set back (`os.utime`, `touch -r`, `cp -p`, `rsync
  -t`): an edit that restores the mtime still moves the ctime, which no user call can set.
- `results/<key>.json`: the outcome of validating content X against schema Y, where the key
  is the sha256 of (content hash, schema hash, file format, the versions of mlops and of
  the libraries that decide a verdict: pandera, polars, pandas, pyarrow).

This module imports only the standard library: a cache hit must not load pandas, polars or
pandera, and `mlops validate --hook` answers from it before Typer is even imported.
"""

from __future__ import annotations

import codecs
import contextlib
import hashlib
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops_cli import __version__
from mlops_cli.common.errors import InputError
from mlops_cli.common.fs import atomic_write_text, user_cache_dir

# A file modified this recently may still change within the same timestamp tick after we
# hash it (git calls this "racily clean"): its stat entry is not trusted, so not written.
RACY_NS = 2_000_000_000
_BLOCK = 1 << 20
# Bumped when the shape of a result entry changes, so an old entry is a miss, not a crash.
_FORMAT = 1


def cache_dir(root: Path) -> Path:
    return user_cache_dir(Path(root)) / "validation"


@dataclass(frozen=True)
class FileStat:
    size: int
    mtime_ns: int
    ctime_ns: int
    ino: int

    @classmethod
    def of(cls, path: Path) -> FileStat:
        st = Path(path).stat()
        return cls(st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


@dataclass(frozen=True)
class Scan:
    """What one read of a file found: its content hash and, if asked, its first non-UTF-8 byte."""

    sha256: str
    size: int
    bad_utf8_offset: int | None = None


def scan_file(path: Path, *, check_utf8: bool = False) -> Scan:
    """Hash `path` in one streaming read; with `check_utf8`, also find its first invalid byte.

    The UTF-8 check costs almost nothing on ASCII data: `bytes.isascii` runs at memory speed,
    and only blocks with other bytes go through the decoder.
    """
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")() if check_utf8 else None
    bad: int | None = None
    size = 0
    with Path(path).open("rb", buffering=0) as f:
        while block := f.read(_BLOCK):
            digest.update(block)
            if decoder is not None and bad is None:
                pending = len(decoder.getstate()[0])
                if pending or not block.isascii():
                    try:
                        decoder.decode(block)
                    except UnicodeDecodeError as exc:
                        bad = max(0, size + exc.start - pending)
            size += len(block)
    if decoder is not None and bad is None:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            bad = size - len(decoder.getstate()[0])
    return Scan(f"sha256:{digest.hexdigest()}", size, bad)


def _stat_entry(root: Path, rel: str) -> Path:
    name = hashlib.sha1(rel.encode("utf-8"), usedforsecurity=False).hexdigest()
    return cache_dir(root) / "stat" / f"{name}.json"


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):  # missing, unreadable, or half-written by a crashed writer
        return None
    return data if isinstance(data, dict) else None


def cached_hash(root: Path, rel: str, st: FileStat) -> str | None:
    """The content hash recorded for `rel` when its stat was `st`, if it still is."""
    entry = _read_json(_stat_entry(root, rel))
    if entry is None or entry.get("path") != rel:
        return None
    if (entry.get("size"), entry.get("mtime_ns"), entry.get("ctime_ns"), entry.get("ino")) != (
        st.size,
        st.mtime_ns,
        st.ctime_ns,
        st.ino,
    ):
        return None
    value = entry.get("sha256")
    return value if isinstance(value, str) else None


def remember_hash(root: Path, rel: str, before: FileStat, content_hash: str, path: Path) -> None:
    """Record `content_hash` for `rel`, unless the file changed while it was read or so
    recently that a change within the same timestamp tick would go unseen. Only the mtime
    decides "recently", as in git: a ctime is never set back, so a later change moves it."""
    try:
        after = FileStat.of(path)
    except OSError:
        return
    if after != before or time.time_ns() - after.mtime_ns < RACY_NS:
        return
    entry = {"path": rel, **after.__dict__, "sha256": content_hash}
    _write(_stat_entry(root, rel), entry)


def file_hash(root: Path, rel: str, path: Path) -> str:
    """The content hash of `path`, from the stat cache when the file is unchanged."""
    st = FileStat.of(path)
    if (known := cached_hash(root, rel, st)) is not None:
        return known
    content_hash = scan_file(path).sha256
    remember_hash(root, rel, st, content_hash, path)
    return content_hash


def refresh_hash(root: Path, rel: str, path: Path, *, check_utf8: bool) -> bool:
    """Re-hash a file whose stat entry is missing or stale (a checkout or a `touch` moved
    its mtime) and record its new stat, so the next run needs no read. True when the entry
    now matches the file. Safe without the repo lock: the entry is replaced whole
    (temp file + `os.replace`), so racing runs write the same verified content.

    The content is always hashed before the new stat is recorded: a touched file whose
    bytes changed gets the hash of its new bytes, whose result is then not in the cache.
    With `check_utf8`, a file with a byte that is not UTF-8 gets no entry: the full command
    reads it again and says where that byte is."""
    try:
        st = FileStat.of(path)
        if cached_hash(root, rel, st) is not None:
            return True
        scan = scan_file(path, check_utf8=check_utf8)
    except OSError:
        return False
    if scan.bad_utf8_offset is not None:
        return False
    remember_hash(root, rel, st, scan.sha256, path)
    return cached_hash(root, rel, st) is not None


def bytes_hash(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


# The libraries whose upgrade may change a verdict (coercion, a check's semantics, parsing).
ENGINE = ("pandera", "polars", "pandas", "pyarrow")
CONFIG_ENGINE = ("pydantic",)  # what decides that mlops.yaml is valid, beside mlops itself
_engine: dict[str, str] | None = None


def engine_version(name: str) -> str:
    """The installed version of `name`, one of ENGINE or CONFIG_ENGINE, without importing
    it (a cache hit must not; importlib.metadata alone costs ~50 ms): the version is in its
    `*.dist-info` (or old `*.egg-info`) folder's name, and the first one on sys.path is the
    one Python would import. `?` when it is not installed."""
    global _engine
    if _engine is None:
        found: dict[str, str] = {}
        for entry in sys.path:
            with contextlib.suppress(OSError), os.scandir(entry or ".") as names:
                for item in names:
                    stem, dot, kind = item.name.rpartition(".")
                    if not dot or kind not in ("dist-info", "egg-info"):
                        continue
                    dist, _, version = stem.partition("-")
                    found.setdefault(dist.lower().replace("_", "-"), version)
        _engine = {name: found.get(name, "?") for name in ENGINE + CONFIG_ENGINE}
    return _engine.get(name, "?")


def engine_versions() -> str:
    """`pandera=0.35.0,polars=2.1.0,...`: what a cached verdict was reached with."""
    return ",".join(f"{name}={engine_version(name)}" for name in ENGINE)


def result_key(content_hash: str, schema_hash: str, fmt: str) -> str:
    text = (
        f"{_FORMAT}\0{content_hash}\0{schema_hash}\0{fmt}\0mlops {__version__}\0{engine_versions()}"
    )
    return hashlib.sha256(text.encode()).hexdigest()


def _result_entry(root: Path, key: str) -> Path:
    return cache_dir(root) / "results" / key[:2] / f"{key}.json"


def load_result(root: Path, key: str) -> dict[str, Any] | None:
    entry = _read_json(_result_entry(root, key))
    if entry is None or entry.get("key") != key:
        return None
    return entry


def store_result(root: Path, key: str, result: dict[str, Any]) -> None:
    _write(_result_entry(root, key), {"key": key, **result})


def config_marker(root: Path, config_bytes: bytes) -> Path:
    """A marker that these exact `mlops.yaml` bytes passed validation by this mlops and
    pydantic, so the hooks' fast paths may trust them without loading pydantic."""
    versions = f"\0mlops {__version__}\0{CONFIG_ENGINE[0]} {engine_version(CONFIG_ENGINE[0])}"
    key = hashlib.sha256(config_bytes + versions.encode()).hexdigest()
    return cache_dir(root) / "config" / key


def mark_config_valid(root: Path, config_bytes: bytes) -> None:
    marker = config_marker(root, config_bytes)
    if not marker.exists():
        with contextlib.suppress(OSError, InputError):
            atomic_write_text(marker, "")


def _write(path: Path, entry: dict[str, Any]) -> None:
    # A cache that cannot be written (read-only checkout, full disk) only costs speed.
    with contextlib.suppress(OSError, InputError):
        atomic_write_text(path, json.dumps(entry, separators=(",", ":")) + "\n")
