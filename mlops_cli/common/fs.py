"""Atomic writes, the repo lock, and path containment.

Every file mlops writes into a repository goes through `atomic_write_*` (STYLE.md rule 6): a
reader, a crash or a Ctrl-C sees the old file or the new one, never half of either.
Read-modify-write of shared state holds `repo_lock`.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import stat
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from mlops_cli.common.errors import BusyError, ConfigError, InputError, UnsafeError

LOCK_TIMEOUT_ENV = "MLOPS_LOCK_TIMEOUT"
DEFAULT_LOCK_TIMEOUT = 3.0
_POLL_SECONDS = 0.05
_MAX_HOLDER_BYTES = 64 * 1024


STATE_DIR = ".mlops"
_STATE_IGNORE = (
    "# Written by mlops: local state (lock, caches) that is never committed.\n"
    "# Version records under models/ are committed.\n"
    "/lock\n/cache/\n/.gitignore\n"
)


def ensure_state_dir(root: Path) -> Path:
    """`<root>/.mlops`, with a self-ignoring .gitignore for the local state in it.

    Like `.pytest_cache/.gitignore`: git status stays clean in any repository, whatever the
    project's own .gitignore says, while `.mlops/models/` records stay committable.
    """
    state = Path(root) / STATE_DIR
    state.mkdir(exist_ok=True)
    ignore = state / ".gitignore"
    if not ignore.exists():
        atomic_write_text(ignore, _STATE_IGNORE)
    return state


def user_cache_dir(root: Path) -> Path:
    """This user's cache folder for the project at `root`, outside the repository:
    `$XDG_CACHE_HOME/mlops/projects/<sha256 of the real path>`. Caches whose entries a
    reader trusts without re-checking (parsed records, the validated mlops.yaml) live here,
    where a hostile clone cannot plant them the way it can force-commit `.mlops/cache/`."""
    import hashlib
    import os

    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    key = hashlib.sha256(os.fsencode(os.path.realpath(root))).hexdigest()[:32]
    return Path(base) / "mlops" / "projects" / key


def sha256_file(path: Path) -> tuple[str, int]:
    """The sha256 hex digest and the size of a file, in one streaming read."""
    import hashlib

    digest, size = hashlib.sha256(), 0
    with Path(path).open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def atomic_write_bytes(path: Path, data: bytes, *, mode: int | None = None) -> None:
    """Replace `path` with `data`: readers see the old content or the new, never a mix.

    The file keeps the permission bits of the one it replaces (else `mode`, else what `open()`
    gives under the umask). A symlink at `path` is replaced, not written through, so a link
    cannot redirect a write out of the repository. A failed write (disk full, read-only,
    permission denied) raises InputError and leaves the old file untouched.
    """
    path = Path(path)
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if mode is None:
            mode = _existing_mode(path)
        # The pid in the name lets a later command tell a dead writer's leftover from a
        # live one's work in progress (common/tempsweep.py).
        fd, tmp = tempfile.mkstemp(
            prefix=f".{path.name}.{os.getpid()}-", suffix=".tmp", dir=path.parent
        )
        try:
            # mkstemp makes 0600; a config only its writer can read surprises every other
            # tool and user of the repository.
            os.fchmod(fd, mode)
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        Path(tmp).replace(path)
        tmp = None
    except BaseException as exc:
        if tmp is not None:
            with contextlib.suppress(OSError):
                Path(tmp).unlink()
        if isinstance(exc, OSError):
            raise InputError(f"cannot write {path}: {exc.strerror or exc}") from exc
        raise
    _fsync_dir(path.parent)


def atomic_write_text(path: Path, text: str, *, mode: int | None = None) -> None:
    """`atomic_write_bytes` for UTF-8 text, written exactly as given (no newline translation)."""
    atomic_write_bytes(path, text.encode("utf-8"), mode=mode)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _existing_mode(path: Path) -> int:
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return 0o666 & ~_current_umask()


def _current_umask() -> int:
    # os.umask() can only be read by setting it, which races with other threads creating
    # files; Linux exposes it read-only in /proc.
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o022


def _fsync_dir(directory: Path) -> None:
    # Makes the rename itself durable. Best effort: some filesystems refuse a directory fsync,
    # and by now the new content is in place either way.
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@dataclass
class _Held:
    fd: int
    depth: int


# Resolved lock path -> the open, flock-ed file and how many nested holders share it.
_held: dict[Path, _Held] = {}
_held_guard = threading.Lock()


@dataclass(frozen=True)
class _Holder:
    pid: int
    command: str
    host: str
    started: str


class RepoLock:
    """The repository-wide lock `<root>/.mlops/lock`, taken on `with` entry.

    It is an flock, so the kernel releases it when the holder dies, however it dies; the file
    only names the holder for messages. Nested locks in one process (any thread) share the
    one flock instead of deadlocking on it.
    """

    def __init__(
        self,
        root: Path,
        command: str,
        *,
        timeout: float | None = None,
        on_warning: Callable[[str], None] | None = None,
    ) -> None:
        self.path = Path(root) / ".mlops" / "lock"
        self.command = command
        self.timeout = _timeout_from_env() if timeout is None else max(0.0, timeout)
        self.on_warning = on_warning
        self._key: Path | None = None

    def acquire(self) -> None:
        """Take the lock, waiting up to `timeout` seconds; BusyError if it stays taken."""
        if self._key is not None:
            raise RuntimeError(f"this RepoLock already holds {self.path}")
        try:
            ensure_state_dir(self.path.parent.parent)
            key = self.path.resolve()
        except OSError as exc:
            raise InputError(f"cannot create the repo lock {self.path}: {exc.strerror}") from exc
        # Held while waiting, so a second thread re-enters our lock instead of racing its own
        # flock against ours and reporting this very process as the busy holder.
        with _held_guard:
            held = _held.get(key)
            if held is not None:
                held.depth += 1
            else:
                _held[key] = _Held(self._lock_file(), 1)
        self._key = key

    def release(self) -> None:
        key, self._key = self._key, None
        if key is None:
            return
        with _held_guard:
            if (held := _held.get(key)) is None:
                return
            held.depth -= 1
            if held.depth == 0:
                del _held[key]
                # Emptied before unlocking, so nobody reads us as the holder once we are gone.
                with contextlib.suppress(OSError):
                    os.ftruncate(held.fd, 0)
                # Explicit unlock: a forked child may share this descriptor and keep it open.
                with contextlib.suppress(OSError):
                    fcntl.flock(held.fd, fcntl.LOCK_UN)
                os.close(held.fd)

    def __enter__(self) -> RepoLock:
        self.acquire()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()

    def _open(self) -> int:
        # Never O_TRUNC: the holder's record must survive until we hold the lock ourselves.
        try:
            return os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise InputError(f"cannot open the repo lock {self.path}: {exc.strerror}") from exc

    def _lock_file(self) -> int:
        deadline = time.monotonic() + self.timeout
        fd = self._open()
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    if (remaining := deadline - time.monotonic()) <= 0:
                        raise self._busy(fd) from None
                    time.sleep(min(_POLL_SECONDS, remaining))
                    continue
                if _same_file(fd, self.path):
                    break
                # The file was deleted while we waited: a lock on the old inode excludes
                # nobody, so lock the file that is there now.
                old, fd = fd, self._open()
                os.close(old)
            self._claim(fd)
        except OSError as exc:  # ENOLCK on some network filesystems
            os.close(fd)
            raise InputError(f"cannot lock {self.path}: {exc.strerror}") from exc
        except BaseException:
            os.close(fd)
            raise
        return fd

    def _claim(self, fd: int) -> None:
        before = _read_holder(fd)
        me = _Holder(os.getpid(), self.command, _hostname(), _now())
        if before and (before.pid, before.host) != (me.pid, me.host) and self.on_warning:
            self.on_warning(
                f"recovered the repo lock left by pid {before.pid} ({before.command}),"
                " which is no longer running"
            )
        record = json.dumps(me.__dict__) + "\n"
        # Best effort: the flock is what excludes others; a full disk must not stop us.
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
            os.pwrite(fd, record.encode(), 0)
            os.fsync(fd)

    def _busy(self, fd: int) -> BusyError:
        holder, who = _read_holder(fd), "unknown holder"
        if holder is not None:
            who = f"pid {holder.pid} running '{holder.command}' since {holder.started}"
            if holder.host != _hostname():
                who += f" on {holder.host}"
        return BusyError(
            f"another mlops process holds the repo lock {self.path}: {who}",
            hint="wait for it to finish, or stop it",
        )


def repo_lock(
    root: Path,
    command: str,
    *,
    timeout: float | None = None,
    on_warning: Callable[[str], None] | None = None,
) -> RepoLock:
    """The repo lock of the project at `root`: `with repo_lock(root, "model register"):`.

    `timeout` defaults to $MLOPS_LOCK_TIMEOUT, else 3 seconds. `on_warning` hears about a
    lock recovered from a holder that died without releasing it.
    """
    return RepoLock(root, command, timeout=timeout, on_warning=on_warning)


def _same_file(fd: int, path: Path) -> bool:
    with contextlib.suppress(FileNotFoundError):
        ours, on_disk = os.fstat(fd), path.stat()
        return (ours.st_dev, ours.st_ino) == (on_disk.st_dev, on_disk.st_ino)
    return False


def _read_holder(fd: int) -> _Holder | None:
    try:
        info = json.loads(os.pread(fd, _MAX_HOLDER_BYTES, 0).decode("utf-8"))
    except (OSError, ValueError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return None
    if not isinstance(info, dict) or type(info.get("pid")) is not int:
        return None
    get = info.get
    return _Holder(
        info["pid"], str(get("command", "?")), str(get("host", "")), str(get("started", "?"))
    )


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _timeout_from_env() -> float:
    raw = os.environ.get(LOCK_TIMEOUT_ENV, "").strip()
    if not raw:
        return DEFAULT_LOCK_TIMEOUT
    with contextlib.suppress(ValueError):
        if (value := float(raw)) >= 0:  # also rejects nan; inf means wait forever
            return value
    raise ConfigError(
        f"{LOCK_TIMEOUT_ENV}={raw!r} is not a number of seconds",
        hint="set it to e.g. 10, or inf to wait forever, or unset it",
    )


def ensure_inside(root: Path, candidate: Path) -> Path:
    """Resolve `candidate` (relative to `root` unless absolute), following symlinks, and return
    it; UnsafeError if it lands outside `root`, e.g. through `..` or a symlink pointing out."""
    base = Path(root).resolve()
    try:
        target = (base / candidate).resolve()
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop, on Python 3.11
        raise UnsafeError(f"cannot resolve {candidate} inside {base}: {exc}") from exc
    if not target.is_relative_to(base):
        raise UnsafeError(
            f"{candidate} resolves to {target}, outside {base}",
            hint="keep paths inside the project; look for '..' or a symlink pointing out",
        )
    return target


def _hostname() -> str:
    import socket  # only a lock writer needs it: keeps five modules off the hook's start-up

    return socket.gethostname()
