"""DVC driven in-process for `mlops data`: track a path, push, pull with hash verification,
and ask a remote which objects it holds. `dvc` is imported inside each function.

DVC's messages go through `dvcrepo._quiet_dvc`, so stdout stays clean for `--json`.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops_cli.common.errors import BusyError, ExternalToolError, InputError
from mlops_cli.common.fs import atomic_write_bytes, atomic_write_text
from mlops_cli.common.progress import Reporter
from mlops_cli.dvc import config as dvcconfig
from mlops_cli.dvc.repo import _dvc_error, _quiet_dvc

NO_REMOTE_HINT = (
    "configure one with `dvc remote add -d NAME URL` and name it in mlops.yaml (`remote: NAME`)"
)


@dataclass(frozen=True)
class RemoteInfo:
    name: str | None  # None: DVC's default (`core.remote`) is not set either
    url: str | None  # as written in DVC's config
    folder: Path | None = None  # the config file's folder: a relative `url` is relative to it

    @property
    def local_folder(self) -> Path | None:
        """The remote's folder when it is a local one (plain or `file://` path)."""
        if not self.url or self.folder is None:
            return None
        return dvcconfig.local_path(dvcconfig.Setting(self.url, self.folder))


def remote_info(root: Path, name: str | None) -> RemoteInfo:
    """The remote `name` (else DVC's default `core.remote`) and its URL, read from DVC's
    config files, all four levels, without importing DVC (dvcconfig.py)."""
    found, url = dvcconfig.remote(root, name)
    return RemoteInfo(found, url.value, url.folder) if url else RemoteInfo(found, None)


def _repo(root: Path, remote: str | None = None, verify: bool = False) -> Any:
    from dvc.repo import Repo

    # verify: every object downloaded is re-hashed, and one that does not match is discarded
    # instead of being checked out (DVC's remote option `verify`, forced on for pulls).
    remote_config = {"verify": True} if verify else None
    return Repo(str(root), remote=remote, remote_config=remote_config)


@contextlib.contextmanager
def _dvc_errors(action: str) -> Iterator[None]:
    from dvc.config import NoRemoteError, RemoteNotFoundError
    from dvc.exceptions import DvcException
    from dvc.lock import LockError

    try:
        yield
    except LockError:
        raise BusyError(
            "another DVC process holds the lock of this repository (.dvc/tmp/lock)",
            hint="wait for it to finish, then retry",
        ) from None
    except NoRemoteError:
        raise InputError(
            f"dvc {action}: no DVC remote is configured", hint=NO_REMOTE_HINT
        ) from None
    except RemoteNotFoundError as exc:
        raise InputError(
            f"dvc {action}: {exc}", hint="`dvc remote list` shows the remotes"
        ) from None
    except DvcException as exc:
        raise _dvc_error(action, exc) from None
    except ImportError as exc:
        missing = missing_plugin(str(exc))
        if missing is None:
            raise
        raise missing from None


# DVC's words when a remote's URL scheme needs a plugin that is not installed
# (dvc_objects.fs.known_implementations).
_PLUGIN = re.compile(r"^(\w+) is supported, but requires '(dvc-[\w-]+)' to be installed")
EXTRAS = {"dvc-s3": "s3"}  # plugins mlops-cli brings with an extra (pyproject.toml)


def missing_plugin(message: str) -> InputError | None:
    """The InputError for DVC's "requires 'dvc-s3' to be installed", naming what to install
    (mlops' own extra when it has one); None for any other ImportError (a bug: exit 70)."""
    found = _PLUGIN.match(message)
    if found is None:
        return None
    scheme, package = found.groups()
    extra = EXTRAS.get(package)
    install = f"pip install 'mlops-cli[{extra}]'" if extra else f"pip install {package}"
    return InputError(
        f"this DVC remote is a {scheme}:// URL, which needs the {package} package; it is not"
        " installed in this environment",
        hint=f"run `{install}`",
    )


@contextlib.contextmanager
def _atomic_dvc_files() -> Iterator[None]:
    """DVC rewrites a `.dvc` file in place (`open(path, "w+")`), so a crash or Ctrl-C at that
    moment leaves it truncated (STYLE.md names this weak spot). For the duration, its dumper
    writes a temp file and renames it instead: the `.dvc` file is the old one or the new one.
    """
    import dvc.dvcfile as dvcfile
    from dvc.utils.serialize import dumps_yaml

    original = getattr(dvcfile, "dump_yaml", None)
    if original is None:  # a DVC that moved it: keep its own behaviour rather than break
        yield
        return

    def dump_yaml(path: Any, data: Any, fs: Any = None, **kwargs: Any) -> Any:
        if fs is not None or kwargs:
            return original(path, data, fs=fs, **kwargs)
        atomic_write_text(Path(path), dumps_yaml(data))
        return None

    dvcfile.dump_yaml = dump_yaml
    try:
        yield
    finally:
        dvcfile.dump_yaml = original


def track(root: Path, target: Path, reporter: Reporter) -> None:
    """`dvc add target`: hash it, copy it into the cache, write `target.dvc` (atomically)
    and add it to `.gitignore`. The object is in the cache before the `.dvc` file names it.

    `relink=False`: by default DVC then deletes the user's file and puts a copy of the cache
    object in its place; killed between the two, the file is gone (its bytes only in the
    cache, under a hash no `.dvc` file names yet). The user's file is left alone instead,
    which also saves a full copy of the data. With a link cache type (`cache.type`
    hardlink/symlink) `dvc checkout --relink` turns it into a link later.
    """
    from mlops_cli.dvc.files import Hasher

    started = time.time()
    with (
        _quiet_dvc(reporter),
        _dvc_errors("add"),
        _atomic_dvc_files(),
        _repo(root) as repo,
        Hasher(root) as hasher,
    ):
        repo.state = VouchedState(repo.state, hasher)
        for _, odb in repo.cache.by_scheme():  # each cache holds its own reference
            if getattr(odb, "state", None) is not None:
                odb.state = repo.state
        # Copies a killed add (SIGKILL, power loss) left behind; only in the repository's own
        # cache, which no other repository writes (the caller holds the repo lock).
        _remove_cache_temps(root, since=None)
        _repair_rwlock(root, reporter)
        try:
            repo.add([str(target)], relink=False)
        except BaseException:
            # DVC copies into the cache through `.<random>.tmp` and leaves it behind when the
            # copy fails (disk full, Ctrl-C): remove ours while DVC's repo lock is still held.
            _remove_cache_temps(root, since=started)
            raise


class VouchedState:
    """DVC's state database, trusted only where mlops' own stat cache agrees.

    DVC remembers a file's hash keyed by its inode, mtime and size, and a folder's by the
    newest mtime and total size of its files, not by ctime: a file edited in place whose
    mtime was set back (`touch -r`, `cp -p`, `os.utime`) keeps its old hash there, and `dvc
    add` would record the old content (issue 13 item 7). A hash from DVC's state is used only
    when `files.Hasher`, keyed by ctime too, records the same md5 for the file as it is now;
    a folder's is never used, so DVC rebuilds it from its files' (vouched) hashes.
    """

    def __init__(self, state: Any, hasher: Any) -> None:
        self._state = state
        self._hasher = hasher

    def __getattr__(self, name: str) -> Any:
        return getattr(self._state, name)

    def _vouched(self, path: str, hash_info: Any) -> bool:
        try:
            st = Path(path).stat()
        except OSError:
            return False
        if not stat.S_ISREG(st.st_mode):
            return False
        known = self._hasher.lookup(Path(path), st)
        return known is not None and getattr(hash_info, "value", None) == known

    def get(self, path: str, fs: Any, info: Any = None) -> tuple[Any, Any]:
        meta, hash_info = self._state.get(path, fs, info)
        if hash_info is None or not self._vouched(path, hash_info):
            return None, None
        return meta, hash_info

    def get_many(self, items: Iterable[str], fs: Any, infos: Any) -> Iterator[tuple[Any, ...]]:
        for path, meta, hash_info in self._state.get_many(items, fs, infos):
            if hash_info is not None and self._vouched(path, hash_info):
                yield path, meta, hash_info
            else:
                yield path, None, None


def _repair_rwlock(root: Path, reporter: Reporter) -> None:
    """DVC rewrites `.dvc/tmp/rwlock` in place; a DVC killed mid-write (SIGKILL) leaves it
    empty or cut, and every later DVC command fails on it. Its entries only describe DVC
    operations in flight, so a file that stays unreadable is removed (DVC reads a missing
    one as "no locks"). Read twice, apart, so a live writer's brief truncation is spared."""
    import json

    path = Path(root) / ".dvc" / "tmp" / "rwlock"
    for attempt in range(2):
        try:
            json.loads(path.read_text(encoding="utf-8"))
            return
        except FileNotFoundError:
            return
        except (OSError, ValueError):
            if attempt == 0:
                time.sleep(0.2)
    with contextlib.suppress(OSError):
        path.unlink()
        reporter.warn(f"removed {path.relative_to(root)}, left unreadable by a killed DVC")


def _remove_cache_temps(root: Path, since: float | None) -> None:
    """Remove DVC's `.<random>.tmp` copies from the cache: those made since `since`, or
    (`since=None`) all of them when the cache is the repository's own `.dvc/cache`."""
    from mlops_cli.dvc.files import cache_dir

    cache = cache_dir(root)
    if since is None and cache != Path(root) / ".dvc" / "cache":
        return  # a shared cache: another repository's add may be writing there right now
    for tmp in (cache / "files" / "md5").glob("*/.*.tmp"):
        with contextlib.suppress(OSError):
            if since is None or tmp.stat().st_mtime >= since - 1:
                tmp.unlink()


def push(
    root: Path, remote: str | None, reporter: Reporter, *, revs: list[str] | None = None
) -> int:
    """`dvc push` of everything the workspace references, and of the commits `revs` (DVC's
    own `--rev`); the number of objects uploaded."""
    with _quiet_dvc(reporter), _dvc_errors("push"), _repo(root, remote) as repo:
        return int(repo.push(remote=remote, revs=revs or None) or 0)


def fetch(root: Path, remote: str | None, reporter: Reporter) -> tuple[int, int]:
    """`dvc fetch` into the local cache with hash verification: every object downloaded is
    re-hashed, and one that does not match is discarded. (objects fetched, failures)"""
    from dvc.exceptions import DownloadError

    with _quiet_dvc(reporter), _dvc_errors("fetch"), _repo(root, remote, verify=True) as repo:
        try:
            return int(repo.fetch(remote=remote) or 0), 0
        except DownloadError as exc:
            return 0, int(getattr(exc, "amount", 1) or 1)


@dataclass(frozen=True)
class CheckoutOutcome:
    added: list[str]
    modified: list[str]
    failed: list[str]  # paths DVC did not check out (e.g. local changes it will not overwrite)


def checkout(root: Path, targets: list[str], reporter: Reporter) -> CheckoutOutcome:
    """`dvc checkout` of these outputs (root-relative paths), whose objects are all cached.

    Never of one whose object is missing: DVC deletes the workspace copy before it finds
    out that it has nothing to put in its place.
    """
    from dvc.exceptions import CheckoutError

    if not targets:
        return CheckoutOutcome([], [], [])
    with _quiet_dvc(reporter), _dvc_errors("checkout"), _repo(root) as repo:
        try:
            result = repo.checkout(targets=[str(root / t) for t in targets])
        except CheckoutError as exc:
            result = {**exc.result, "failed": list(exc.target_infos)}

    def rel(paths: list[Any]) -> list[str]:
        # DVC names paths relative to the process's working folder; ours are root-relative.
        out = []
        for p in paths:
            full = Path(os.path.normpath(Path.cwd() / str(p).rstrip("/")))
            out.append(full.relative_to(root).as_posix() if full.is_relative_to(root) else str(p))
        return out

    return CheckoutOutcome(
        rel(result.get("added", [])), rel(result.get("modified", [])), rel(result.get("failed", []))
    )


def remote_has(
    root: Path, remote: str | None, oids: Iterable[tuple[str, bool]], reporter: Reporter
) -> set[tuple[str, bool]]:
    """Which of the objects `(md5, legacy)` the remote holds."""
    wanted = set(oids)
    if not wanted:
        return set()
    found: set[tuple[str, bool]] = set()
    with _quiet_dvc(reporter), _dvc_errors("status"), _repo(root, remote) as repo:
        for legacy in (False, True):
            batch = sorted(md5 for md5, leg in wanted if leg is legacy)
            if not batch:
                continue
            hash_name = "md5-dos2unix" if legacy else "md5"
            odb = repo.cloud.get_remote_odb(remote, "status", hash_name=hash_name)
            try:
                present = odb.oids_exist(batch)
            except Exception as exc:  # a remote that cannot be reached: auth, network, path
                raise ExternalToolError(
                    f"cannot list remote {remote or '(default)'}: {type(exc).__name__}: {exc}"
                ) from None
            found |= {(md5, legacy) for md5 in present}
    return found


def dir_digest(root: Path, target: Path, reporter: Reporter) -> str:
    """A folder's md5 as DVC computes it, `.dvcignore` rules applied (the slow, exact path)."""
    from dvc_data.hashfile.build import build

    with _quiet_dvc(reporter), _dvc_errors("status"), _repo(root) as repo:
        _, _, obj = build(
            repo.cache.local, str(target), repo.fs, "md5", ignore=repo.dvcignore, dry_run=True
        )
        return str(obj.hash_info.value)


DEFAULT_REMOTE = "local"
REMOTES_DIR_ENV = "MLOPS_REMOTES_DIR"
_RECORD_MARK = "# Written by `mlops init`"


@dataclass(frozen=True)
class DefaultRemote:
    name: str
    url: str


def default_remote(config_text: str, project: str) -> DefaultRemote | None:
    """The local folder remote `mlops init` configures, unless mlops.yaml names one already.

    It lives outside the project, at an absolute path under the user's data folder
    ($MLOPS_REMOTES_DIR, else $XDG_DATA_HOME/mlops/remotes, else ~/.local/share/...), so
    every clone on this machine pulls from it and `git clean` or deleting the work tree
    cannot take the only copy with it. The random suffix keeps two projects of the same
    name apart (`dvc gc -c` on one must never delete the other's objects).
    """
    import os
    import secrets

    from mlops_cli.common.yamlio import parse_yaml

    data = parse_yaml(config_text.encode("utf-8"), "mlops.yaml").data
    if isinstance(data, dict) and data.get("remote"):
        return None
    base = os.environ.get(REMOTES_DIR_ENV)
    if not base:
        data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
        base = str(Path(data_home) / "mlops" / "remotes")
    folder = Path(base).expanduser().absolute() / f"{project}-{secrets.token_hex(4)}"
    return DefaultRemote(DEFAULT_REMOTE, str(folder))


def with_remote_setting(config_text: str, name: str) -> str:
    """mlops.yaml with `remote: NAME`, placed before the template record `init` appends."""
    from mlops_cli.project.configedit import append_setting

    comment = "DVC remote of `mlops data push/pull` (`dvc remote list` shows where it is)."
    head, mark, record = config_text.partition(_RECORD_MARK)
    if not mark:
        return append_setting(config_text, "remote", name, comment)
    return append_setting(head.rstrip("\n") + "\n", "remote", name, comment) + "\n" + mark + record


@contextlib.contextmanager
def dvc_locked(root: Path, reporter: Reporter) -> Iterator[None]:
    """Hold DVC's own repository lock (`.dvc/tmp/lock`), as `dvc gc` does: no `dvc add`,
    `dvc repro` or `dvc pull` of another process writes the cache meanwhile (BusyError)."""
    with _quiet_dvc(reporter), _dvc_errors("gc"), _repo(root) as repo, repo.lock:
        yield


_HASHES = (("md5", False), ("md5-dos2unix", True))  # DVC 3's layout, DVC 2's


def remote_objects(root: Path, remote: str, reporter: Reporter) -> list[tuple[str, bool]]:
    """Every object `(md5, legacy)` on the remote, listed by DVC's own object database of
    it (what `dvc gc -c` lists); ExternalToolError when it cannot be listed."""
    found: list[tuple[str, bool]] = []
    with _quiet_dvc(reporter), _dvc_errors("gc"), _repo(root, remote) as repo:
        for hash_name, legacy in _HASHES:
            odb = repo.cloud.get_remote_odb(remote, "gc -c", hash_name=hash_name)
            try:
                found += [(str(oid), legacy) for oid in odb.all()]
            except Exception as exc:  # a remote that cannot be reached: auth, network, path
                raise ExternalToolError(
                    f"cannot list remote {remote}: {type(exc).__name__}: {exc}",
                    hint="nothing was removed; check the remote (`mlops doctor`) and retry",
                ) from None
    return found


def fetch_listings(
    root: Path, remote: str, oids: Iterable[tuple[str, bool]], cache: Path, reporter: Reporter
) -> set[tuple[str, bool]]:
    """Download these folder listings (`(md5 ending in .dir, legacy)`) from the remote into
    the local cache, each one verified (a listing's md5 is that of its bytes) and written
    atomically, read-only as DVC leaves its objects. The ones fetched; ExternalToolError when
    the remote cannot be reached."""
    import hashlib

    from mlops_cli.dvc.files import object_path

    wanted = sorted(set(oids))
    fetched: set[tuple[str, bool]] = set()
    if not wanted:
        return fetched
    with _quiet_dvc(reporter), _dvc_errors("fetch"), _repo(root, remote) as repo:
        for hash_name, legacy in _HASHES:
            batch = [md5 for md5, leg in wanted if leg is legacy]
            if not batch:
                continue
            odb = repo.cloud.get_remote_odb(remote, "fetch", hash_name=hash_name)
            for md5 in batch:
                try:
                    data = odb.fs.cat_file(odb.oid_to_path(md5))
                except FileNotFoundError:
                    continue
                except Exception as exc:  # a remote that cannot be reached: auth, network
                    raise ExternalToolError(
                        f"cannot read remote {remote}: {type(exc).__name__}: {exc}",
                        hint="nothing was removed; check the remote (`mlops doctor`) and retry",
                    ) from None
                if hashlib.md5(data, usedforsecurity=False).hexdigest() != md5.removesuffix(".dir"):
                    reporter.warn(f"remote {remote}: folder listing {md5} is corrupt; not used")
                    continue
                atomic_write_bytes(object_path(cache, md5, legacy=legacy), data, mode=0o444)
                fetched.add((md5, legacy))
    return fetched


def remote_remove(
    root: Path, remote: str, oids: Iterable[tuple[str, bool]], reporter: Reporter
) -> None:
    """Delete these objects from the remote through DVC's file system of it (as `dvc gc -c`
    does: folder listings first), then drop DVC's index of what the remote holds."""
    from dvc_data.hashfile.db import get_index

    wanted = sorted(set(oids), key=lambda o: not o[0].endswith(".dir"))
    if not wanted:
        return
    with _quiet_dvc(reporter), _dvc_errors("gc"), _repo(root, remote) as repo:
        for hash_name, legacy in _HASHES:
            odb = repo.cloud.get_remote_odb(remote, "gc -c", hash_name=hash_name)
            paths = [odb.oid_to_path(md5) for md5, leg in wanted if leg is legacy]
            if paths:
                odb.fs.remove(paths)
                with contextlib.suppress(Exception):
                    get_index(odb).clear()
