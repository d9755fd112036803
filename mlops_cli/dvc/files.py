"""DVC's own files, read without importing DVC: `.dvc` files, `dvc.lock`, the cache layout,
and DVC's md5 of a file or a folder.

`mlops data status` and the pre-push check run on every commit and push, so they must not pay
for `import dvc` (about a second). Everything here follows DVC 3's formats, untouched:

- an output hashed by DVC 3 carries `hash: md5`: a file's md5 is the plain md5 of its bytes;
  a folder's is the md5 of a JSON listing of its files (`[{"md5": ..., "relpath": ...}]`,
  sorted by relpath, `json.dumps(sort_keys=True)`) suffixed `.dir` (dvc-data's
  `Tree.digest`), and that listing is the `.dir` object in the cache;
- outputs written by DVC 2 (no `hash:` field) used md5 after dos2unix on text files and live
  at the cache's top level; they are marked `legacy` and left to DVC to hash.

File hashes are remembered in `.mlops/cache/md5.sqlite`, keyed by (path, size, mtime_ns,
inode), so an unchanged file is never read twice.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from mlops_cli.common.errors import ConfigError
from mlops_cli.common.yamlio import parse_yaml

CHUNK = 1024 * 1024
DIR_SUFFIX = ".dir"
# The stat cache's table, keyed by (path, size, mtime_ns, ctime_ns, inode).
_TABLE = "md5_by_stat"


@dataclass(frozen=True)
class Output:
    """One output recorded in a `.dvc` file or `dvc.lock`."""

    path: str  # posix, relative to the project root
    md5: str | None  # "ab12...", or "ab12....dir" for a folder; None when never hashed
    size: int | None
    nfiles: int | None
    source: str  # "data/x.csv.dvc" or "dvc.lock:prepare"
    legacy: bool = False  # hashed by DVC 2 (md5 after dos2unix)
    cache: bool = True  # `cache: false`: neither in the cache nor on a remote
    push: bool = True  # `push: false`: kept out of remotes on purpose

    @property
    def is_dir(self) -> bool:
        return bool(self.md5 and self.md5.endswith(DIR_SUFFIX))

    @property
    def pushable(self) -> bool:
        return bool(self.md5) and self.cache and self.push


def parse_outputs(text: str | bytes, source: str, base: str) -> list[Output]:
    """The outputs in the text of a `.dvc` file or a `dvc.lock` (named `source`), with paths
    made relative to the project root from `base`, the folder holding the file."""
    data = load_yaml(text, source)
    if not isinstance(data, dict):
        return []
    if PurePosixPath(source.partition(":")[0]).name == "dvc.lock":
        return Lock(data, source, base).outputs()
    wdir = data.get("wdir")
    folder = join_posix(base, wdir if isinstance(wdir, str) else ".")
    return outs_of(data.get("outs"), source, folder)


def outs_of(raw: Any, source: str, base: str) -> list[Output]:
    """The outputs in an `outs:` list of a `.dvc` file or a `dvc.lock` stage (flags as
    written there: `dvc.lock` does not repeat `cache`/`push`, see obligations.py)."""
    outs: list[Output] = []
    for item in raw if isinstance(raw, list) else []:
        if not isinstance(item, dict) or not isinstance(item.get("path"), str):
            continue
        md5 = item.get("md5")
        outs.append(
            Output(
                path=join_posix(base, item["path"]),
                md5=md5 if isinstance(md5, str) and md5 else None,
                size=_int(item.get("size")),
                nfiles=_int(item.get("nfiles")),
                source=source,
                legacy=item.get("hash") != "md5",
                cache=item.get("cache", True) is not False,
                push=item.get("push", True) is not False,
            )
        )
    return outs


class Lock:
    """The stages of a parsed `dvc.lock` (named `source`, in folder `base`): what each stage
    produced (outs), ran on (deps) and with (params)."""

    def __init__(self, data: Any, source: str = "dvc.lock", base: str = ".") -> None:
        stages = data.get("stages") if isinstance(data, dict) else None
        self.source, self.base = source, base
        self.stages: dict[str, dict[str, Any]] = {
            str(name): stage
            for name, stage in (stages.items() if isinstance(stages, dict) else [])
            if isinstance(stage, dict)
        }

    def outputs(self) -> list[Output]:
        return [out for name in self.stages for out in self.outs(name)]

    def outs(self, stage: str) -> list[Output]:
        raw = self.stages.get(stage, {}).get("outs")
        return outs_of(raw, f"{self.source}:{stage}", self.base)

    def producer(self, path: str) -> tuple[str, Output] | None:
        """The stage whose outs hold exactly `path` (relative to the root), and that out."""
        for name in self.stages:
            for out in self.outs(name):
                if out.path == path:
                    return name, out
        return None

    def deps(self, stage: str) -> dict[str, str | None]:
        """The stage's deps as recorded: path (relative to the root) -> md5."""
        entries = self.stages.get(stage, {}).get("deps")
        return {
            join_posix(self.base, d["path"]): d.get("md5")
            for d in (entries if isinstance(entries, list) else [])
            if isinstance(d, dict) and isinstance(d.get("path"), str)
        }

    def params(self, stage: str) -> dict[str, Any]:
        """The params the stage ran with; one params file's values directly, else by file."""
        files = self.stages.get(stage, {}).get("params") or {}
        if len(files) == 1:
            return dict(next(iter(files.values())) or {})
        return {str(k): v for k, v in files.items()}

    def upstream(self, stage: str) -> list[str]:
        """`stage` and every stage that produced one of its deps, transitively."""
        seen, todo = [stage], [stage]
        while todo:
            for dep in self.deps(todo.pop()):
                found = self.producer(dep)
                if found and found[0] not in seen:
                    seen.append(found[0])
                    todo.append(found[0])
        return seen


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def join_posix(base: str, rel: str) -> str:
    parts: list[str] = []
    for part in PurePosixPath(base, rel).parts:
        if part == "..":
            if parts:
                parts.pop()
        elif part not in (".", "/"):
            parts.append(part)
    return "/".join(parts) or "."


def read_outputs(root: Path, dvc_file: Path) -> list[Output]:
    """The outputs of one `.dvc` file or `dvc.lock` in the work tree ([] when it is absent)."""
    try:
        text = dvc_file.read_bytes()
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise ConfigError(f"cannot read {dvc_file}: {exc.strerror}") from None
    rel = dvc_file.relative_to(root).as_posix()
    return parse_outputs(text, rel, PurePosixPath(rel).parent.as_posix())


def outputs_covering(root: Path, rel_path: str) -> list[Output]:
    """The outputs that hold `rel_path`: its own `.dvc` file, a tracked parent folder's, and
    the `dvc.lock` files of the folders above it. Exact matches come first."""
    found: list[Output] = []
    parts = PurePosixPath(rel_path).parts
    for depth in range(len(parts), 0, -1):
        candidate = "/".join(parts[:depth])
        found += [o for o in read_outputs(root, root / f"{candidate}.dvc") if o.path == candidate]
    for depth in range(len(parts) - 1, -1, -1):
        lock = root.joinpath(*parts[:depth], "dvc.lock")
        found += [o for o in read_outputs(root, lock) if covers(o.path, rel_path)]
    return sorted(found, key=lambda o: o.path != rel_path)


def pipeline_stage(root: Path, rel_path: str) -> str | None:
    """The `dvc.yaml` stage that declares `rel_path` (or a folder holding it) as an output:
    a data set a pipeline makes, which `dvc repro` records in `dvc.lock`."""
    parts = PurePosixPath(rel_path).parts
    for depth in range(len(parts) - 1, -1, -1):
        rel = "/".join((*parts[:depth], "dvc.yaml"))
        try:
            data = load_yaml(root.joinpath(*parts[:depth], "dvc.yaml").read_bytes(), rel)
        except (OSError, ConfigError):
            continue
        stages = data.get("stages") if isinstance(data, dict) else None
        base = "/".join(parts[:depth]) or "."
        for name, stage in (stages if isinstance(stages, dict) else {}).items():
            outs = stage.get("outs") if isinstance(stage, dict) else None
            for item in outs if isinstance(outs, list) else []:
                out = next(iter(item), None) if isinstance(item, dict) else item
                if isinstance(out, str) and covers(join_posix(base, out), rel_path):
                    return str(name)
    return None


def covers(out_path: str, rel_path: str) -> bool:
    return rel_path == out_path or rel_path.startswith(out_path.rstrip("/") + "/")


def cache_dir(root: Path) -> Path:
    """The local DVC cache: `cache.dir` from DVC's config (any level), else `.dvc/cache`."""
    from mlops_cli.dvc.config import cache_dir as configured

    return configured(root)


def object_path(cache: Path, md5: str, *, legacy: bool = False) -> Path:
    """Where the object `md5` lives in a DVC 3 cache (or remote) folder."""
    base = cache if legacy else cache / "files" / "md5"
    return base / md5[:2] / md5[2:]


def dir_listing(cache: Path, md5: str, *, legacy: bool = False) -> list[dict[str, str]] | None:
    """The `.dir` object's listing of a tracked folder, or None when it is not in the cache."""
    try:
        listing = json.loads(object_path(cache, md5, legacy=legacy).read_bytes())
    except (OSError, ValueError):
        return None
    if not isinstance(listing, list):
        return None
    return [e for e in listing if isinstance(e, dict) and isinstance(e.get("md5"), str)]


class _Miss(Exception):
    """A file the stat cache does not know."""


class NeedsDvc(Exception):
    """This folder's hash depends on `.dvcignore` rules, which only DVC applies exactly."""


def has_dvcignore_rules(path: Path) -> bool:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return False
    return any(line.strip() and not line.lstrip().startswith("#") for line in lines)


def object_ids(cache: Path, out: Output) -> list[tuple[str, bool]] | None:
    """Every object an output needs: its own, plus a folder's files from its `.dir` listing
    (None when that listing is not in the local cache, so the files are unknown)."""
    if out.md5 is None:
        return []
    ids: list[tuple[str, bool]] = [(out.md5, out.legacy)]
    if out.is_dir:
        listing = dir_listing(cache, out.md5, legacy=out.legacy)
        if listing is None:
            return None
        ids += [(e["md5"], out.legacy) for e in listing]
    return ids


@dataclass(frozen=True)
class Digest:
    md5: str
    size: int
    nfiles: int | None  # a folder's file count; None for a file


class Hasher:
    """DVC's md5 of files and folders, remembered in a stat cache under `.mlops/cache/`.

    The cache is an optimisation only: any problem with it (read-only disk, a corrupt file)
    turns it off for the run, never fails the command.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self._db: sqlite3.Connection | None = None
        self._opened = False
        self.read_bytes = 0  # how much data had to be read: 0 when the cache knew everything

    def close(self) -> None:
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.commit()
                self._db.close()
        self._db = None

    def __enter__(self) -> Hasher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def digest(self, path: Path) -> Digest:
        """md5 of a file or a folder the way DVC computes it; FileNotFoundError if missing."""
        if path.is_dir():
            return self._dir_digest(path)
        st = path.stat()
        return Digest(self.file_md5(path, st), st.st_size, None)

    def cached_digest(self, path: Path) -> Digest | None:
        """The digest from the stat cache alone, or None if any file would have to be read."""
        try:
            if not path.is_dir():
                st = path.stat()
                md5 = self.lookup(path, st)
                return None if md5 is None else Digest(md5, st.st_size, None)
            before = self.read_bytes
            digest = self._dir_digest(path, read=False)
        except (OSError, NeedsDvc, _Miss):
            return None
        return digest if self.read_bytes == before else None

    def file_md5(self, path: Path, st: os.stat_result | None = None) -> str:
        st = st or path.stat()
        cached = self.lookup(path, st)
        if cached is not None:
            return cached
        md5 = hashlib.md5(usedforsecurity=False)
        with path.open("rb") as fh:
            while chunk := fh.read(CHUNK):
                md5.update(chunk)
        self.read_bytes += st.st_size
        value = md5.hexdigest()
        # Stat again: a file written while we read it must not be remembered with this hash.
        after = path.stat()
        if stat_key(after) == stat_key(st):
            self.remember(path, after, value)
        return value

    def _dir_digest(self, folder: Path, *, read: bool = True) -> Digest:
        if has_dvcignore_rules(self.root / ".dvcignore"):
            raise NeedsDvc(f"{self.root / '.dvcignore'} has rules")
        entries: list[dict[str, str]] = []
        size = 0
        known = self.known_under(folder)  # one query, not one per file
        for name, rel, st in _walk_stats(folder):
            if rel.rpartition("/")[2] == ".dvcignore":
                raise NeedsDvc(f"{name} may exclude files")
            size += st.st_size
            hit = known.get(name)
            md5 = hit[1] if hit is not None and hit[0] == stat_key(st) else None
            if md5 is None and read:
                md5 = self.file_md5(Path(name), st)
            if md5 is None:
                raise _Miss(name)
            entries.append({"md5": md5, "relpath": rel})
        entries.sort(key=lambda e: e["relpath"])
        raw = json.dumps(entries, sort_keys=True).encode()
        md5 = hashlib.md5(raw, usedforsecurity=False).hexdigest() + DIR_SUFFIX
        return Digest(md5, size, len(entries))

    def lookup(self, path: Path, st: os.stat_result) -> str | None:
        db = self._connect()
        if db is None:
            return None
        try:
            row = db.execute(
                f"SELECT md5 FROM {_TABLE} WHERE path = ? AND size = ? AND mtime_ns = ?"
                " AND ctime_ns = ? AND inode = ?",
                (str(path), *stat_key(st)),
            ).fetchone()
        except sqlite3.Error:
            self._disable()
            return None
        return str(row[0]) if row else None

    def known_under(self, folder: Path) -> dict[str, tuple[tuple[int, int, int, int], str]]:
        """Every remembered file under `folder`, by path: its stat key and md5 (one query)."""
        db = self._connect()
        if db is None:
            return {}
        prefix = str(folder).rstrip(os.sep) + os.sep
        upper = prefix[:-1] + chr(ord(os.sep) + 1)
        try:
            rows = db.execute(
                f"SELECT path, size, mtime_ns, ctime_ns, inode, md5 FROM {_TABLE}"
                " WHERE path >= ? AND path < ?",
                (prefix, upper),
            ).fetchall()
        except sqlite3.Error:
            self._disable()
            return {}
        return {str(r[0]): ((r[1], r[2], r[3], r[4]), str(r[5])) for r in rows}

    def remember_many(self, items: list[tuple[str, os.stat_result, str]]) -> None:
        """`remember` for many files in one statement."""
        rows = [(path, *stat_key(st), md5) for path, st, md5 in items if _settled(st)]
        if not rows or (db := self._connect()) is None:
            return
        try:
            db.executemany(
                f"INSERT OR REPLACE INTO {_TABLE} (path, size, mtime_ns, ctime_ns, inode, md5)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )
        except sqlite3.Error:
            self._disable()

    def remember(self, path: Path, st: os.stat_result, md5: str) -> None:
        """Record that the file with this stat has this md5 (unless it is too fresh to trust)."""
        if not _settled(st) or (db := self._connect()) is None:
            return
        try:
            db.execute(
                f"INSERT OR REPLACE INTO {_TABLE} (path, size, mtime_ns, ctime_ns, inode, md5)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (str(path), *stat_key(st), md5),
            )
        except sqlite3.Error:
            self._disable()

    def _connect(self) -> sqlite3.Connection | None:
        if self._opened:
            return self._db
        self._opened = True
        folder = self.root / ".mlops" / "cache"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(folder / "md5.sqlite", timeout=2.0)
            db.execute(
                f"CREATE TABLE IF NOT EXISTS {_TABLE} (path TEXT PRIMARY KEY, size INTEGER,"
                " mtime_ns INTEGER, ctime_ns INTEGER, inode INTEGER, md5 TEXT)"
            )
            old = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'md5'"
            if db.execute(old).fetchone():  # the table from before ctime was in the key
                db.execute("DROP TABLE md5")
        except (OSError, sqlite3.Error):
            return None
        self._db = db
        return db

    def _disable(self) -> None:
        self.close()
        self._opened = True


def stat_key(st: os.stat_result) -> tuple[int, int, int, int]:
    """What says a file is unchanged. The ctime is in it because an mtime can be set back
    (`os.utime`, `touch -r`, `cp -p`): an edit that restores the mtime still moves the ctime."""
    return st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino


def _settled(st: os.stat_result) -> bool:
    """A file modified within the file system's timestamp granularity of now could change
    again without its mtime moving (git's "racily clean" problem): do not remember it."""
    coarse = st.st_mtime_ns % 1_000_000_000 == 0  # whole seconds: ext3, some network mounts
    margin = 2_000_000_000 if coarse else 100_000_000
    return time.time_ns() - st.st_mtime_ns > margin


def _walk_stats(folder: Path) -> Iterator[tuple[str, str, os.stat_result]]:
    """What `walk_files` yields, as (path, relpath, stat) with plain strings: at 10,000
    files a Path each cost more than the `stat` calls (issue 14 profile). A symlinked folder
    is not entered (os.walk's default); a symlinked file is stat'ed through, as Path.stat."""
    pending = [(str(folder), "")]
    while pending:
        where, prefix = pending.pop()
        with os.scandir(where) as entries:
            for entry in entries:
                if entry.is_dir():
                    if not entry.is_symlink() and entry.name not in (".git", ".dvc"):
                        pending.append((entry.path, f"{prefix}{entry.name}/"))
                    continue
                yield entry.path, prefix + entry.name, entry.stat()


def walk_files(folder: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = [d for d in dirnames if d not in (".git", ".dvc")]
        for name in filenames:
            yield Path(dirpath, name)


def load_yaml(text: str | bytes, source: str = "dvc file") -> Any:
    """A DVC file's YAML through the guarded reader (on libyaml when PyYAML has it);
    ConfigError, naming `source`, if it is invalid or refused."""
    raw = text.encode("utf-8") if isinstance(text, str) else text
    return parse_yaml(raw, source, fast=True, yaml12_booleans=True).data
