"""The prediction log: a sample of what the model saw and answered, as JSON lines.

Off unless $MLOPS_PREDICTION_LOG names a folder. Each sampled row becomes one line

  {"timestamp": "2026-12-04T02:10:00.123456Z", "model": "churn", "version": "v0.3.0",
   "inputs": {"tenure": 3, "plan": "basic"}, "prediction": "yes"}

in `predictions-<host>-<pid>-<seq>.jsonl` (the "mlops prediction log, JSON lines" format of
docs/monitoring.md; `mlops monitor drift --data DIR` reads every `*.jsonl` in the folder).
A file grows to at most $MLOPS_PREDICTION_LOG_MAX_BYTES (default 64 MiB) and then the next
one is opened; each server process keeps its newest $MLOPS_PREDICTION_LOG_FILES (default 5)
and deletes older ones of its own name, so the folder holds at most FILES x MAX_BYTES per
process (a restarted container, same host and pid, counts its previous files too).

A request never waits for the log: rows go into a bounded queue
($MLOPS_PREDICTION_LOG_QUEUE_ROWS, default 10,000) that one writer thread drains. When the
queue is full, or the folder cannot be written, rows are dropped and counted
(`mlops_prediction_log_dropped_rows_total{reason}`), never raised.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import random
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

LOG_ENV = "MLOPS_PREDICTION_LOG"
SAMPLE_ENV = "MLOPS_PREDICTION_LOG_SAMPLE"
MAX_BYTES_ENV = "MLOPS_PREDICTION_LOG_MAX_BYTES"
FILES_ENV = "MLOPS_PREDICTION_LOG_FILES"
EXCLUDE_ENV = "MLOPS_PREDICTION_LOG_EXCLUDE"
QUEUE_ENV = "MLOPS_PREDICTION_LOG_QUEUE_ROWS"
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
DEFAULT_FILES = 5
DEFAULT_QUEUE_ROWS = 10_000
SUFFIX = ".jsonl"
log = logging.getLogger("mlops.runtime")

# (reason, rows) -> None: how the app counts what the log could not write.
Dropped = Callable[[str, int], None]


@dataclass(frozen=True)
class LogConfig:
    folder: Path
    sample: float = 1.0
    max_bytes: int = DEFAULT_MAX_BYTES
    files: int = DEFAULT_FILES
    exclude: frozenset[str] = field(default_factory=frozenset)
    queue_rows: int = DEFAULT_QUEUE_ROWS

    @classmethod
    def from_env(cls) -> LogConfig | None:
        folder = os.environ.get(LOG_ENV, "").strip()
        if not folder:
            return None
        exclude = frozenset(
            c.strip() for c in os.environ.get(EXCLUDE_ENV, "").split(",") if c.strip()
        )
        return cls(
            Path(folder),
            sample=_env_number(SAMPLE_ENV, 1.0, float, lambda v: 0.0 <= v <= 1.0),
            max_bytes=_env_number(MAX_BYTES_ENV, DEFAULT_MAX_BYTES, int, lambda v: v > 0),
            files=_env_number(FILES_ENV, DEFAULT_FILES, int, lambda v: v > 0),
            exclude=exclude,
            queue_rows=_env_number(QUEUE_ENV, DEFAULT_QUEUE_ROWS, int, lambda v: v > 0),
        )


class PredictionLog:
    """Sample rows on the request's thread; write them on the log's own thread."""

    def __init__(
        self,
        config: LogConfig,
        model: str,
        version: str | None,
        *,
        written: Callable[[int], None] = lambda n: None,
        dropped: Dropped = lambda reason, n: None,
    ) -> None:
        self.config, self.model, self.version = config, model, version
        self.written, self.dropped = written, dropped
        self.prefix = file_prefix(socket.gethostname(), os.getpid())
        self.pending: deque[list[dict[str, Any]]] = deque()
        self.pending_rows = 0
        self.cond = threading.Condition()
        self.random = random.Random()
        self.file: IO[bytes] | None = None
        self.size = 0
        self.seq = 0
        self.done = 0  # rows of the current batch written or dropped so far
        self.last_warning = 0.0
        try:
            config.folder.mkdir(parents=True, exist_ok=True)
            self.seq = max((n for _, n in self._own_files()), default=0)
        except OSError as exc:  # the writer retries per batch; serving goes on
            self._warn(f"cannot create the prediction log folder {config.folder}: {exc}")
        self.thread = threading.Thread(target=self._run, name="mlops-prediction-log", daemon=True)
        self.thread.start()

    def submit(self, records: list[dict[str, Any]], predictions: list[Any]) -> None:
        """Queue a sample of the rows; never blocks, never raises on a full queue."""
        sample = self.config.sample
        if sample <= 0.0:
            return
        stamp = _now()
        chosen = [i for i in range(len(records)) if sample >= 1.0 or self.random.random() < sample]
        if not chosen:
            return
        with self.cond:  # a first look at the room, so a full queue costs no copying
            room = self.config.queue_rows - self.pending_rows
        batch = [self._row(stamp, records[i], predictions[i]) for i in chosen[: max(room, 0)]]
        with self.cond:
            room = self.config.queue_rows - self.pending_rows  # other requests may have come
            batch = batch[: max(room, 0)]
            if batch:
                self.pending.append(batch)
                self.pending_rows += len(batch)
                self.cond.notify()
        full = len(chosen) - len(batch)
        if full:
            self.dropped("queue_full", full)

    def _row(self, stamp: str, record: dict[str, Any], prediction: Any) -> dict[str, Any]:
        # Serialised on the writer thread; here only the row's own dict is copied, so a
        # later change to the request's records cannot reach the log.
        inputs = {k: v for k, v in record.items() if k not in self.config.exclude}
        row = {"timestamp": stamp, "model": self.model, "version": self.version}
        return {**row, "inputs": inputs, "prediction": prediction}

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every queued row is written or dropped (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while self.pending_rows and time.monotonic() < deadline:
                self.cond.wait(0.05)
            return not self.pending_rows

    def _run(self) -> None:
        while True:
            with self.cond:
                while not self.pending:
                    self.cond.wait()
                batch = self.pending[0]
            self.done = 0
            try:
                self._write(batch)
            except Exception as exc:  # a full disk, a folder gone: drop, count, keep going
                self._close()
                self._warn(f"cannot write the prediction log in {self.config.folder}: {exc}")
                self.dropped("write_error", len(batch) - self.done)
            with self.cond:
                self.pending.popleft()
                self.pending_rows -= len(batch)
                self.cond.notify_all()

    def _write(self, batch: list[dict[str, Any]]) -> None:
        written = 0
        try:
            for row in batch:
                data = (json.dumps(row, allow_nan=False, default=str) + "\n").encode("utf-8")
                if len(data) > self.config.max_bytes:
                    self.dropped("too_large", 1)
                    self.done += 1
                    continue
                if self.file is None or self.size + len(data) > self.config.max_bytes:
                    self._rotate()
                assert self.file is not None
                self.file.write(data)
                self.size += len(data)
                written += 1
            if self.file is not None:
                self.file.flush()  # whole lines on disk after each batch, for a reader
        finally:
            # Rows still in the buffer when a flush fails count as written: the OS may
            # still have taken some of them, and counting them twice would be worse.
            self.done += written
            if written:
                self.written(written)

    def _rotate(self) -> None:
        self._close()
        self.config.folder.mkdir(parents=True, exist_ok=True)
        self.seq += 1
        path = self.config.folder / f"{self.prefix}{self.seq:06d}{SUFFIX}"
        self.file = path.open("ab")
        self.size = self.file.tell()
        for old, _ in self._own_files()[: -self.config.files]:
            with contextlib.suppress(FileNotFoundError):
                old.unlink()

    def _own_files(self) -> list[tuple[Path, int]]:
        """This process's files, oldest first."""
        pattern = re.compile(re.escape(self.prefix) + r"(\d+)" + re.escape(SUFFIX) + "$")
        found = []
        for path in self.config.folder.iterdir():
            if match := pattern.match(path.name):
                found.append((path, int(match.group(1))))
        return sorted(found, key=lambda item: item[1])

    def _close(self) -> None:
        if self.file is not None:
            with contextlib.suppress(OSError):
                self.file.close()
            self.file = None
            self.size = 0

    def _warn(self, message: str) -> None:
        now = time.monotonic()
        if now - self.last_warning >= 60 or not self.last_warning:  # once a minute at most
            self.last_warning = now
            log.warning("%s; rows are dropped until it can", message)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def file_prefix(host: str, pid: int) -> str:
    """What the names of one process's files start with: `predictions-<host>-<pid>-`."""
    return f"predictions-{re.sub(r'[^A-Za-z0-9_.]', '_', host) or 'host'}-{pid}-"


def _env_number(
    name: str, default: Any, kind: Callable[[str], Any], ok: Callable[[Any], bool]
) -> Any:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = kind(text)
    except ValueError:
        value = None
    if value is None or not ok(value):
        log.warning("ignoring %s=%r; using %s", name, text, default)
        return default
    return value
