"""validation/cache.py on real files: the stat layer (hits, and misses on every field that
can betray an edit), the result layer, damaged entries, and concurrent writers.

The end-to-end use (a second `validate` that reads neither data nor schema) is tested in
tests/validation/test_validate.py; here each layer is tested on its own.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import multiprocessing
import os
import time
from pathlib import Path
from typing import Any

import pytest

from mlops_cli.validation import cache

OLD_NS = 1_600_000_000 * 10**9  # 2020: far outside the racy window


def _old_file(root: Path, rel: str, data: bytes) -> Path:
    """A file whose mtime is long past, so its stat entry is trusted and written."""
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, ns=(OLD_NS, OLD_NS))
    return path


def _sha(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


def _no_scan(*_a: object, **_k: object) -> cache.Scan:
    raise AssertionError("the file was read although the stat cache knew it")


def _stat_entries(root: Path) -> list[Path]:
    return sorted((cache.cache_dir(root) / "stat").glob("*.json"))


# -- scan_file ---------------------------------------------------------------------------------


def test_scan_hashes_the_content_and_finds_no_bad_byte_in_utf8(tmp_path: Path) -> None:
    data = "id,name\n1,Zoë\n2,東京\n".encode()
    path = _old_file(tmp_path, "a.csv", data)
    scan = cache.scan_file(path, check_utf8=True)
    assert scan == cache.Scan(_sha(data), len(data), None)
    assert cache.scan_file(path).bad_utf8_offset is None  # not asked: not checked


@pytest.mark.parametrize(
    ("data", "offset"),
    [
        (b"abc\xffdef", 3),
        (b"ok\n" + b"\xc3", 3),  # a truncated two-byte sequence at the very end
        (b"x" * ((1 << 20) - 1) + "é".encode() + b"\xfe", 1 << 20 | 1),  # é split by a block
        (b"y" * (1 << 20) + b"\x80", 1 << 20),  # the bad byte opens the second block
    ],
)
def test_scan_finds_the_first_invalid_utf8_byte(tmp_path: Path, data: bytes, offset: int) -> None:
    path = _old_file(tmp_path, "bad.csv", data)
    scan = cache.scan_file(path, check_utf8=True)
    assert scan.bad_utf8_offset == offset
    assert scan.sha256 == _sha(data) and scan.size == len(data)


# -- the stat layer ----------------------------------------------------------------------------


def test_an_unchanged_file_is_hashed_from_the_stat_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _old_file(tmp_path, "data/a.csv", b"a,b\n1,2\n")
    assert cache.file_hash(tmp_path, "data/a.csv", path) == _sha(b"a,b\n1,2\n")
    [entry] = _stat_entries(tmp_path)
    recorded = json.loads(entry.read_text())
    assert recorded["path"] == "data/a.csv" and recorded["sha256"] == _sha(b"a,b\n1,2\n")
    monkeypatch.setattr(cache, "scan_file", _no_scan)
    assert cache.file_hash(tmp_path, "data/a.csv", path) == _sha(b"a,b\n1,2\n")


@pytest.mark.parametrize("field", ["size", "mtime_ns", "ctime_ns", "ino"])
def test_any_changed_stat_field_is_a_miss(tmp_path: Path, field: str) -> None:
    path = _old_file(tmp_path, "a.csv", b"1\n")
    cache.file_hash(tmp_path, "a.csv", path)
    st = cache.FileStat.of(path)
    assert cache.cached_hash(tmp_path, "a.csv", st) == _sha(b"1\n")
    moved = dataclasses.replace(st, **{field: getattr(st, field) + 1})
    assert cache.cached_hash(tmp_path, "a.csv", moved) is None


def test_a_grown_file_is_read_again(tmp_path: Path) -> None:
    path = _old_file(tmp_path, "a.csv", b"1\n")
    cache.file_hash(tmp_path, "a.csv", path)
    _old_file(tmp_path, "a.csv", b"1\n2\n")  # same (old) mtime, new size
    assert cache.file_hash(tmp_path, "a.csv", path) == _sha(b"1\n2\n")


def test_a_replaced_file_with_the_same_size_and_mtime_is_read_again(tmp_path: Path) -> None:
    path = _old_file(tmp_path, "a.csv", b"1\n")
    cache.file_hash(tmp_path, "a.csv", path)
    new = _old_file(tmp_path, "a.csv.new", b"2\n")  # made while the old one exists: new inode
    os.replace(new, path)
    assert cache.FileStat.of(path).mtime_ns == OLD_NS
    assert cache.file_hash(tmp_path, "a.csv", path) == _sha(b"2\n")


def test_an_edit_that_restores_the_mtime_is_read_again(tmp_path: Path) -> None:
    path = _old_file(tmp_path, "a.csv", b"1\n")
    cache.file_hash(tmp_path, "a.csv", path)
    before = cache.FileStat.of(path)
    while time.time_ns() < before.ctime_ns + 50_000_000:  # past the kernel's coarse clock tick
        time.sleep(0.01)
    _old_file(tmp_path, "a.csv", b"2\n")  # in place: same inode, size and mtime
    after = cache.FileStat.of(path)
    assert (after.ino, after.size, after.mtime_ns) == (before.ino, before.size, before.mtime_ns)
    assert after.ctime_ns != before.ctime_ns
    assert cache.file_hash(tmp_path, "a.csv", path) == _sha(b"2\n")


def test_a_recently_modified_file_gets_no_stat_entry(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes(b"1\n")
    future = time.time_ns() + 60 * 10**9  # inside the racy window whatever the clock does
    os.utime(path, ns=(future, future))
    assert cache.file_hash(tmp_path, "a.csv", path) == _sha(b"1\n")
    assert _stat_entries(tmp_path) == []


def test_a_file_that_changed_while_it_was_read_gets_no_stat_entry(tmp_path: Path) -> None:
    path = _old_file(tmp_path, "a.csv", b"1\n")
    before = cache.FileStat.of(path)
    _old_file(tmp_path, "a.csv", b"1\n2\n")
    cache.remember_hash(tmp_path, "a.csv", before, _sha(b"1\n"), path)
    assert _stat_entries(tmp_path) == []
    cache.remember_hash(tmp_path, "a.csv", before, _sha(b"1\n"), tmp_path / "gone.csv")
    assert _stat_entries(tmp_path) == []


@pytest.mark.parametrize(
    "damage",
    [
        b"",
        b'{"path": "a.csv", "size"',  # half-written
        b"[1, 2]",
        b"\xff\xfe not json",
        "wrong path",
        "sha256 not a string",
    ],
)
def test_a_damaged_stat_entry_is_a_miss_and_is_rewritten(
    tmp_path: Path, damage: bytes | str
) -> None:
    path = _old_file(tmp_path, "a.csv", b"1\n")
    cache.file_hash(tmp_path, "a.csv", path)
    [entry] = _stat_entries(tmp_path)
    good = json.loads(entry.read_text())
    if damage == "wrong path":  # another path's entry under this name (a sha1 collision)
        entry.write_text(json.dumps({**good, "path": "b.csv"}))
    elif damage == "sha256 not a string":
        entry.write_text(json.dumps({**good, "sha256": 12}))
    else:
        assert isinstance(damage, bytes)
        entry.write_bytes(damage)
    assert cache.cached_hash(tmp_path, "a.csv", cache.FileStat.of(path)) is None
    assert cache.file_hash(tmp_path, "a.csv", path) == _sha(b"1\n")
    assert json.loads(entry.read_text()) == good


def test_an_unwritable_cache_costs_only_speed(tmp_path: Path) -> None:
    where = cache.cache_dir(tmp_path)
    where.parent.mkdir(parents=True, exist_ok=True)
    where.write_text("a file where the cache folder would go")
    path = _old_file(tmp_path, "a.csv", b"1\n")
    assert cache.file_hash(tmp_path, "a.csv", path) == _sha(b"1\n")
    cache.store_result(tmp_path, "k" * 64, {"passed": True})
    assert cache.load_result(tmp_path, "k" * 64) is None
    cache.mark_config_valid(tmp_path, b"name: x\n")
    assert not cache.config_marker(tmp_path, b"name: x\n").exists()


# -- the result layer --------------------------------------------------------------------------


def test_a_stored_result_is_loaded_by_its_key_only(tmp_path: Path) -> None:
    key = cache.result_key(_sha(b"data"), _sha(b"schema"), "csv")
    cache.store_result(tmp_path, key, {"passed": False, "failures": [{"check": "x"}]})
    assert cache.load_result(tmp_path, key) == {
        "key": key,
        "passed": False,
        "failures": [{"check": "x"}],
    }
    other = cache.result_key(_sha(b"data"), _sha(b"schema"), "parquet")
    assert cache.load_result(tmp_path, other) is None


def test_a_result_entry_under_the_wrong_name_or_damaged_is_a_miss(tmp_path: Path) -> None:
    key, other = "a" * 64, "a" * 63 + "b"
    cache.store_result(tmp_path, key, {"passed": True})
    entry = next((cache.cache_dir(tmp_path) / "results").rglob("*.json"))
    moved = entry.with_name(f"{other}.json")
    moved.write_bytes(entry.read_bytes())  # a copy under another key's name
    assert cache.load_result(tmp_path, other) is None
    entry.write_bytes(entry.read_bytes()[:10])
    assert cache.load_result(tmp_path, key) is None


def test_the_result_key_covers_everything_that_decides_a_verdict(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    base = ("sha256:1", "sha256:2", "csv")
    key = cache.result_key(*base)
    assert key == cache.result_key(*base)
    assert len({key, cache.result_key("sha256:9", *base[1:])}) == 2
    assert len({key, cache.result_key(base[0], "sha256:9", base[2])}) == 2
    assert len({key, cache.result_key(*base[:2], "parquet")}) == 2
    monkeypatch.setattr(cache, "__version__", "0.0.0-other")
    assert cache.result_key(*base) != key
    monkeypatch.undo()
    versions = {name: cache.engine_version(name) for name in cache.ENGINE}
    monkeypatch.setattr(cache, "_engine", {**versions, "pandera": "0.0.1"})
    assert cache.result_key(*base) != key


def test_engine_versions_come_from_the_first_dist_info_on_sys_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    (first / "pandera-9.9.9.dist-info").mkdir(parents=True)
    (first / "Polars-2.0.0.dist-info").mkdir()
    (second / "pandera-1.0.0.dist-info").mkdir(parents=True)
    (second / "pyarrow-3.0.0.egg-info").mkdir()
    (second / "pandas-stubs").mkdir()
    monkeypatch.setattr("sys.path", [str(first), str(tmp_path / "missing"), str(second)])
    monkeypatch.setattr(cache, "_engine", None)
    assert cache.engine_versions() == "pandera=9.9.9,polars=2.0.0,pandas=?,pyarrow=3.0.0"
    assert cache.engine_version("numpy") == "?"


def test_the_installed_engine_versions_are_found() -> None:
    from importlib.metadata import version

    for name in cache.ENGINE:
        assert cache.engine_version(name) == version(name)


def test_a_config_marker_names_these_bytes_and_this_mlops(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache.mark_config_valid(tmp_path, b"name: x\n")
    assert cache.config_marker(tmp_path, b"name: x\n").is_file()
    assert not cache.config_marker(tmp_path, b"name: y\n").exists()
    monkeypatch.setattr(cache, "__version__", "0.0.0-other")
    assert not cache.config_marker(tmp_path, b"name: x\n").exists()


# -- concurrent writers ------------------------------------------------------------------------

_RESULT: dict[str, Any] = {"passed": False, "failures": [{"row": i} for i in range(2000)]}


def _rewrite(root: str, key: str, times: int) -> None:
    for _ in range(times):
        cache.store_result(Path(root), key, _RESULT)


def test_concurrent_writers_never_show_a_reader_a_partial_entry(tmp_path: Path) -> None:
    """The module needs no lock because each entry is replaced whole: once an entry exists,
    every read sees all of it, however many runs rewrite it at the same time."""
    key = "c" * 64
    cache.store_result(tmp_path, key, _RESULT)
    expected = {"key": key, **_RESULT}
    ctx = multiprocessing.get_context("spawn")
    writers = [ctx.Process(target=_rewrite, args=(str(tmp_path), key, 150)) for _ in range(3)]
    for w in writers:
        w.start()
    reads = 0
    try:
        while any(w.is_alive() for w in writers) or reads < 50:
            assert cache.load_result(tmp_path, key) == expected
            reads += 1
    finally:
        for w in writers:
            w.join()
    assert [w.exitcode for w in writers] == [0, 0, 0]
    folder = cache.cache_dir(tmp_path) / "results" / key[:2]
    assert [p.name for p in folder.iterdir()] == [f"{key}.json"]  # no temp file left behind
