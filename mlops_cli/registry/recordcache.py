"""Parsed version records remembered by their git blob id, so a thousand records cost a
thousand look-ups, not a thousand YAML parses.

A record's git blob id is the SHA-1 of its bytes (`git hash-object`), so an entry can never
go stale: other bytes are another key. The store is `records.sqlite` in this user's cache
folder for the project (`common.fs.user_cache_dir`, outside the repository: a clone could
force-commit a forged `.mlops/cache/records.sqlite`, whose entries would be believed for
the real records' blob ids, and sqlite would parse a file the attacker wrote), holding for
each blob the parsed record as JSON and a small summary (what `mlops model list` shows) beside it.
Only records that parsed and whose data JSON gives back exactly (str keys, no dates or
binary) are stored; anything else is parsed every time, so every error message is the
parser's own.

The cache is an optimisation only: any problem with it (read-only disk, a corrupt or locked
file) turns it off for the run and the records are parsed, never fails the command.
Concurrent writers are safe: sqlite serialises them, and two writers of one key write the
same value. This module knows nothing of what a record means (`records.py` does).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from mlops_cli.common.errors import InputError
from mlops_cli.common.fs import user_cache_dir

# Bumped when the stored shape changes (or the parse of a record could give other data):
# an older table is dropped, its entries are misses, never wrong.
FORMAT = 2  # 2: summaries say `tests_failed`
_TABLE = f"records_v{FORMAT}"
FILE = "records.sqlite"
_BATCH = 500  # keys per SELECT (sqlite's default limit on parameters is 999 or more)


def blob_id(raw: bytes) -> str:
    """git's object id of a blob holding `raw` (what `git hash-object` prints)."""
    return hashlib.sha1(b"blob %d\0" % len(raw) + raw, usedforsecurity=False).hexdigest()


def json_exact(value: Any) -> bool:
    """Whether `json.loads(json.dumps(value))` gives `value` back with the same types."""
    stack = [value]
    while stack:
        item = stack.pop()
        if item is None or isinstance(item, (bool, int, str)):
            continue
        if isinstance(item, float):
            if not math.isfinite(item):
                return False
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            if not all(isinstance(k, str) for k in item):
                return False
            stack.extend(item.values())
        else:  # a date, a timestamp, bytes, a tuple: JSON would change it
            return False
    return True


class RecordStore:
    """blob id -> (record data, summary), in one sqlite file in the user's cache folder."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._db: sqlite3.Connection | None = None
        self._opened = False
        self._pending: list[tuple[str, str, str]] = []

    def __enter__(self) -> RecordStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def data(self, oids: Iterable[str]) -> dict[str, Any]:
        """blob id -> the record data stored for it, for those the store has."""
        return {k: json.loads(v) for k, v in self._select("data", oids).items()}

    def summaries(self, oids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """blob id -> the summary stored for it, for those the store has."""
        return {k: json.loads(v) for k, v in self._select("summary", oids).items()}

    def put(self, oid: str, data: Any, summary: dict[str, Any]) -> None:
        """Remember `data` (and its `summary`) for blob `oid`, written on `close`; data that
        JSON would not give back exactly is not remembered."""
        if json_exact(data) and json_exact(summary):
            self._pending.append((oid, json.dumps(data), json.dumps(summary)))

    def close(self) -> None:
        """Write what `put` gathered, in one transaction, and close the file."""
        pending, self._pending = self._pending, []
        if pending and (db := self._connect()) is not None:
            try:
                with db:
                    db.executemany(
                        f"INSERT OR REPLACE INTO {_TABLE} (oid, data, summary) VALUES (?, ?, ?)",
                        pending,
                    )
            except sqlite3.Error:
                self._disable()
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
        self._db = None

    def _select(self, column: str, oids: Iterable[str]) -> dict[str, str]:
        wanted = list(dict.fromkeys(oids))
        if not wanted or (db := self._connect()) is None:
            return {}
        found: dict[str, str] = {}
        try:
            for start in range(0, len(wanted), _BATCH):
                part = wanted[start : start + _BATCH]
                marks = ",".join("?" * len(part))
                rows = db.execute(
                    f"SELECT oid, {column} FROM {_TABLE} WHERE oid IN ({marks})", part
                )
                found.update((str(oid), str(value)) for oid, value in rows)
        except sqlite3.Error:
            self._disable()
            return {}
        return found

    def _connect(self) -> sqlite3.Connection | None:
        if self._opened:
            return self._db
        self._opened = True
        try:
            folder = user_cache_dir(self.root)
            folder.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(folder / FILE, timeout=2.0)
            db.execute(
                f"CREATE TABLE IF NOT EXISTS {_TABLE}"
                " (oid TEXT PRIMARY KEY, data TEXT NOT NULL, summary TEXT NOT NULL)"
            )
            old = db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'records_v%'"
                " AND name != ?",
                (_TABLE,),
            ).fetchall()
            for (name,) in old:
                db.execute(f'DROP TABLE "{name}"')
        except (OSError, sqlite3.Error, InputError):  # InputError: a read-only .mlops/
            return None
        self._db = db
        return db

    def _disable(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            if self._db is not None:
                self._db.close()
        self._db = None
        self._opened = True
        self._pending = []
