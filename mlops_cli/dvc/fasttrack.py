"""`dvc add FOLDER` in DVC 3's own formats, without importing DVC: hashed in parallel threads,
each file read once when its object is new, in bounded memory.

DVC itself costs about as much as the work for a folder of many small files (0.6 ms a file
at 10,000 x 4 KiB, issue 14): an import of about a second, then per file a state-database
query, a hash, a copy through a temporary file, two chmods. What this module writes is
byte for byte what `dvc add` writes, so every DVC command reads it unchanged:

- the cache objects: each file's bytes at `files/md5/<2>/<30>`, mode 0444, copied through a
  `.<random>.tmp` in the same folder (the name DVC uses, so a killed copy is swept the same
  way), and the `.dir` listing (`Hasher`'s, dvc-data's `Tree.as_bytes`);
- the `.dvc` file, in DVC's key order (`md5`, `size`, `nfiles`, `hash`, `path`).

Anything this path does not reproduce exactly goes to DVC instead (`unsupported` says why):
`.dvcignore` rules, a symlink or special file in the folder, a link cache type or a shared
cache, a `.dvc` file with more than the fields above, a folder name YAML would not keep as
a plain string. tests/dvc/test_fasttrack.py compares every byte with a real `dvc add` and
runs `dvc status`, `dvc push`, `dvc pull` and `dvc checkout` on the result, so the day DVC
changes its formats, those tests fail.
"""

# Plain string paths and os calls: at 10,000 files a Path per file costs more than the
# system calls themselves (the issue 14 profile of `data add`).
# ruff: noqa: PTH101, PTH103, PTH105, PTH108, PTH110, PTH116, PTH118, PTH120, PTH123
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import stat
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops_cli.dvc.config import load as load_config
from mlops_cli.dvc.files import (
    CHUNK,
    DIR_SUFFIX,
    Digest,
    Hasher,
    cache_dir,
    has_dvcignore_rules,
    load_yaml,
    stat_key,
)

# A folder name written into the .dvc file unquoted, as DVC (ruamel) writes it, and read
# back as the same string by any YAML loader.
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,200}")
_YAML_SPECIAL = re.compile(
    r"(?i)(y|yes|n|no|true|false|on|off|null|~|[-+]?[0-9_.]+([eE][-+]?[0-9]+)?|0x[0-9a-f_]+"
    r"|0o?[0-7_]+|[-+]?\.inf|\.nan|[0-9_:]+)"
)
_DVC_FILE_KEYS = {"md5", "size", "nfiles", "hash", "path"}
CACHE_MODE = 0o444  # dvc-data's LocalHashFileDB.CACHE_MODE
SMALL = 1 << 20  # a file up to this size is read into memory once: hash, then write


class Changed(Exception):
    """A file changed while it was read: DVC decides, from a fresh look."""


@dataclass(frozen=True)
class Plan:
    folder: Path
    files: list[tuple[str, str, os.stat_result]]  # (path, relpath, stat), sorted by relpath


def unsupported(root: Path, target: Path, dvc_file: Path) -> str | None:
    """Why this folder must go through DVC, or None when this module writes what DVC would."""
    if target.is_symlink() or not target.is_dir():
        return "not a plain folder"
    name = target.name
    if not _PLAIN_NAME.fullmatch(name) or _YAML_SPECIAL.fullmatch(name):
        return f"the name {name!r} needs YAML quoting"
    if has_dvcignore_rules(root / ".dvcignore"):
        return ".dvcignore has rules"
    settings = load_config(root)
    cache = settings.get("cache", {})
    if set(cache) - {"dir"}:
        return f"cache settings {sorted(set(cache) - {'dir'})}"
    if "no_scm" in settings.get("core", {}):
        return "core.no_scm is set"
    if dvc_file.exists() or dvc_file.is_symlink():
        return _foreign_dvc_file(dvc_file, name)
    return None


def _foreign_dvc_file(dvc_file: Path, name: str) -> str | None:
    """None when the existing `.dvc` file holds only what this module would write again."""
    if dvc_file.is_symlink() or not dvc_file.is_file():
        return f"{dvc_file.name} is not a plain file"
    try:
        doc = load_yaml(dvc_file.read_bytes(), str(dvc_file))
    except Exception:  # any doubt: DVC reads it and says what is wrong
        return f"{dvc_file.name} does not parse"
    outs = doc.get("outs") if isinstance(doc, dict) else None
    if set(doc or {}) != {"outs"} or not isinstance(outs, list) or len(outs) != 1:
        return f"{dvc_file.name} has more than one output or other sections"
    out = outs[0]
    if not isinstance(out, dict) or set(out) - _DVC_FILE_KEYS:
        return f"{dvc_file.name} has fields DVC keeps (desc, meta, remote, push, ...)"
    if out.get("path") != name or out.get("hash", "md5") != "md5":
        return f"{dvc_file.name} is not DVC 3's record of {name}"
    return None


def plan(target: Path) -> Plan | None:
    """Every file in the folder with its stat, or None when one is not a regular file, a
    folder is a symlink, or a `.dvcignore` is inside (DVC's walk decides those)."""
    files: list[tuple[str, str, os.stat_result]] = []
    pending = [(str(target), "")]
    while pending:
        folder, prefix = pending.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    if entry.name not in (".git", ".dvc"):  # as DVC's walk, and walk_files
                        pending.append((entry.path, f"{prefix}{entry.name}/"))
                    continue
                st = entry.stat(follow_symlinks=False)
                if entry.name == ".dvcignore" or not stat.S_ISREG(st.st_mode):
                    return None  # a symlink (to a file or a folder), a socket, a .dvcignore
                files.append((entry.path, prefix + entry.name, st))
    files.sort(key=lambda f: f[1])
    return Plan(target, files)


def track_folder(root: Path, hasher: Hasher, files: Plan, *, workers: int = 8) -> Digest:
    """Put every file of the folder and its `.dir` listing into the cache; the folder's
    digest. Changed when a file moved under us (nothing is recorded for it)."""
    objects = cache_dir(root) / "files" / "md5"
    remembered = hasher.known_under(files.folder)
    known = [
        hit[1] if (hit := remembered.get(path)) is not None and hit[0] == stat_key(st) else None
        for path, _, st in files.files
    ]
    todo = [
        (path, st)
        for (path, _, st), md5 in zip(files.files, known, strict=True)
        if md5 is None or not os.path.exists(_object(objects, md5))
    ]
    results: dict[str, str] = {}
    if todo:
        # One batch per thread, not a future per file: at 10,000 small files the futures'
        # locks cost more than the reads and writes (which release the GIL) themselves.
        workers = max(1, min(workers, len(todo)))
        batches = [todo[i::workers] for i in range(workers)]
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for batch in pool.map(lambda jobs: [_ingest(objects, *job) for job in jobs], batches):
                results.update(batch)
    entries: list[dict[str, str]] = []
    learned: list[tuple[str, os.stat_result, str]] = []
    size = 0
    for (path, rel, st), md5 in zip(files.files, known, strict=True):
        value = results.get(path, md5)
        assert value is not None
        if md5 is None:
            learned.append((path, st, value))
        hasher.read_bytes += st.st_size if path in results else 0
        entries.append({"md5": value, "relpath": rel})
        size += st.st_size
    hasher.remember_many(learned)
    raw = json.dumps(entries, sort_keys=True).encode("utf-8")
    digest = hashlib.md5(raw, usedforsecurity=False).hexdigest() + DIR_SUFFIX
    dest = _object(objects, digest)
    if not os.path.exists(dest):
        _write_object(dest, [raw])
    return Digest(digest, size, len(entries))


def dvc_file_text(name: str, digest: Digest) -> str:
    """The `.dvc` file `dvc add` writes for a folder (DVC 3: `hash: md5`)."""
    return (
        f"outs:\n- md5: {digest.md5}\n  size: {digest.size}\n  nfiles: {digest.nfiles}\n"
        f"  hash: md5\n  path: {name}\n"
    )


def _object(objects: Path, md5: str) -> str:
    return f"{objects}/{md5[:2]}/{md5[2:]}"


def _ingest(objects: Path, path: str, st: os.stat_result) -> tuple[str, str]:
    """Hash one file and copy it into the cache under its md5 unless the object is there."""
    with open(path, "rb", buffering=0) as src:
        if stat_key(os.fstat(src.fileno())) != stat_key(st):
            raise Changed(path)
        if st.st_size <= SMALL:
            data = src.read()
            md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
            chunks: Any = [data]
        else:
            digest = hashlib.md5(usedforsecurity=False)
            for chunk in _chunks(src):
                digest.update(chunk)
            md5 = digest.hexdigest()
            chunks = None
        dest = _object(objects, md5)
        if not os.path.exists(dest):
            if chunks is None:
                src.seek(0)
                chunks = _chunks(src)
            _write_object(dest, chunks, expect=md5)
    if stat_key(os.stat(path)) != stat_key(st):
        raise Changed(path)
    return path, md5


def _chunks(src: Any) -> Iterator[bytes]:
    while chunk := src.read(CHUNK):
        yield chunk


def _write_object(dest: str, chunks: Any, *, expect: str | None = None) -> None:
    """Write an object through `.<random>.tmp` beside it, read-only, then rename: a reader
    never sees half an object. With `expect`, the bytes written must hash to it."""
    folder = os.path.dirname(dest)
    os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, f".{secrets.token_hex(11)}.tmp")
    check = hashlib.md5(usedforsecurity=False) if expect is not None else None
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                out.write(chunk)
                if check is not None:
                    check.update(chunk)
        if check is not None and check.hexdigest() != expect:
            raise Changed(dest)
        os.chmod(tmp, CACHE_MODE)
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
