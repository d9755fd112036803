"""The registry at scale (issue 14): records parsed by libyaml or the pure-Python loader
give the same records; the record cache is an optimisation that never fails a command;
`register`'s duplicate check trusts the sha256 in tag messages and reads the record of a
tag without one; `status` reads every model's records in a few git calls."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlops_cli.common import yamlio
from mlops_cli.common.errors import ConfigError, InputError
from mlops_cli.common.fs import user_cache_dir
from mlops_cli.project.root import open_project
from mlops_cli.registry import recordcache
from mlops_cli.registry import records as registry
from mlops_cli.registry.register import register
from mlops_cli.registry.stages import deprecate
from mlops_cli.status.status import project_status
from tests.modelproject import NAME, copy_of, git, state_of, weak

REL = f".mlops/models/{NAME}/v1.0.0.yaml"


@pytest.fixture
def registered(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Path:
    """v1.0.0 registered, tested (recorded) and in prod, a worse model trained on top."""
    return copy_of(weak(tmp_path_factory), tmp_path)


def _real_records(project: Path) -> list[bytes]:
    """The record as `test --record` left it (HEAD) and as `register` wrote it (its tag)."""
    at_head = (project / REL).read_bytes()
    at_tag = subprocess.run(
        ["git", "cat-file", "blob", f"{NAME}@v1.0.0:{REL}"],
        cwd=project,
        check=True,
        capture_output=True,
    ).stdout
    assert at_head != at_tag and b"tests: null" in at_tag and b"passed: true" in at_head
    return [at_head, at_tag]


# -- libyaml and the pure-Python loader ------------------------------------------------


def test_libyaml_and_the_pure_python_loader_read_real_records_alike(
    registered: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert yaml.__with_libyaml__, "PyYAML without libyaml: records are parsed 10x slower"
    for raw in _real_records(registered):
        slow = yamlio.parse_yaml(raw, REL, fast=False)
        fast = yamlio.parse_yaml(raw, REL, fast=True)
        assert fast.data == slow.data and fast.positions == slow.positions
        assert registry.parse_record(raw, REL) == registry.VersionRecord.from_dict(slow.data, REL)
    # The fast path really is libyaml's: with the pure-Python composer gone, it still reads.
    with monkeypatch.context() as m:
        m.setattr(yamlio, "_compose", _refuse)
        assert registry.parse_record(raw, REL).version == "v1.0.0"
    # Without libyaml (PyYAML built without it) the same records come from the fallback.
    monkeypatch.setattr(yamlio, "_C_LOADER", None)
    for raw in _real_records(registered):
        expected = registry.VersionRecord.from_dict(yaml.safe_load(raw), REL)
        assert registry.parse_record(raw, REL) == expected


def _refuse(*_: Any) -> None:
    raise AssertionError("the pure-Python composer ran")


def test_parse_each_gives_each_record_its_own_error(registered: Path) -> None:
    good, _ = _real_records(registered)
    bad = good.replace(b"\nartifact:", b"\nartifact: [\n", 1)
    with registry.RecordReader(registered) as reader:
        got = reader.parse_each({"a": (good, "a.yaml"), "b": (bad, "b.yaml"), "c": (good, "c")})
    assert isinstance(got["a"], registry.VersionRecord) and got["c"] == got["a"]
    assert isinstance(got["b"], ConfigError) and "b.yaml" in got["b"].message


# -- the record cache ------------------------------------------------------------------


def _listed(project: Path) -> list[dict[str, Any]]:
    return [r.to_dict() for r in registry.list_versions(open_project(project))]


def _parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []
    real = yamlio.parse_yaml

    def counting(raw: bytes, source: str, **kw: Any) -> Any:
        seen.append(source)
        return real(raw, source, **kw)

    monkeypatch.setattr(registry, "parse_yaml", counting)
    return seen


def test_a_record_parsed_once_is_a_look_up_after(
    registered: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = _parses(monkeypatch)
    first = _listed(registered)
    assert seen == [REL] and first[0]["sha256"] and first[0]["tests_passed"] is True
    assert _listed(registered) == first and seen == [REL]  # the second list parsed nothing
    assert (user_cache_dir(registered) / recordcache.FILE).is_file()


@pytest.fixture
def cache_file(registered: Path) -> Iterator[Path]:
    path = user_cache_dir(registered) / recordcache.FILE
    yield path
    for folder in (path.parent, path.parent.parent):
        if folder.is_dir():
            folder.chmod(0o755)


# Permissions stop a user, not root (CI runs as root): there the unopenable cache is made
# with "a folder" and "a file above" instead, and the permission cases are not collected
# (a skip would fail CI, where every collected test must run).
DAMAGES = ["corrupt", "truncated", "foreign", "a folder", "a file above"]
if os.geteuid() != 0:
    DAMAGES += ["read-only", "no folder"]


@pytest.mark.parametrize("damage", DAMAGES)
def test_a_broken_cache_is_passed_over_silently(
    registered: Path, cache_file: Path, monkeypatch: pytest.MonkeyPatch, damage: str
) -> None:
    expected = _listed(registered)  # fills the cache
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    if damage == "corrupt":
        cache_file.write_bytes(b"this is not a sqlite database\n" * 100)
    elif damage == "truncated":
        cache_file.write_bytes(cache_file.read_bytes()[:200])
    elif damage == "read-only":
        cache_file.unlink()
        cache_file.parent.chmod(stat.S_IRUSR | stat.S_IXUSR)
    elif damage == "no folder":
        cache_file.unlink()
        cache_file.parent.rmdir()
        cache_file.parent.parent.chmod(stat.S_IRUSR | stat.S_IXUSR)  # cannot be made again
    elif damage == "a folder":  # cannot be opened, as root too
        cache_file.unlink()
        cache_file.mkdir()
    elif damage == "a file above":  # the folder cannot be made, as root too
        cache_file.unlink()
        cache_file.parent.rmdir()
        cache_file.parent.write_bytes(b"")
    else:  # a table of the same name but another shape
        cache_file.unlink()
        with sqlite3.connect(cache_file) as db:
            db.execute(f"CREATE TABLE {recordcache._TABLE} (oid TEXT, other TEXT)")
        db.close()
    seen = _parses(monkeypatch)
    assert _listed(registered) == expected
    assert seen == [REL]  # parsed, since the cache could not answer
    doc = project_status(open_project(registered))
    assert [m.latest for m in doc.models] == ["v1.0.0"]


def test_the_cache_is_keyed_by_content_so_an_edit_is_never_stale(registered: Path) -> None:
    _listed(registered)
    text = (registered / REL).read_text().replace("passed: true", "passed: false", 1)
    (registered / REL).write_text(text)
    git(registered, "commit", "-qam", "edit the record")
    assert _listed(registered)[0]["tests_passed"] is False


# -- register's duplicate check --------------------------------------------------------


def _retag_without_sha(project: Path, tag: str) -> None:
    """Replace `tag` by an annotated tag with GTO's own message (no `artifact:` line)."""
    target = git(project, "rev-parse", f"{tag}^{{commit}}")
    message = git(project, "tag", "-l", "--format=%(contents)", tag)
    assert "sha256:" in message
    git(project, "tag", "-d", tag)
    name, _, version = tag.partition("@")
    git(project, "tag", "-a", tag, target, "-m", f"Registering artifact {name} version {version}")


def test_the_duplicate_check_reads_the_record_of_a_tag_without_a_sha256(
    registered: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = open_project(registered)
    done = register(p, NAME, bump="minor")  # the retrained model, v1.1.0
    _retag_without_sha(registered, done.tag)
    before = state_of(registered)
    seen = _parses(monkeypatch)
    with pytest.raises(InputError, match=r"churn@v1.1.0 registers this very artifact"):
        register(p, NAME, bump="minor")
    assert state_of(registered) == before
    assert seen == [done.record_path]  # only the tag without a sha256 had its record read
    deprecate(p, done.tag)  # a deprecated version does not count, with or without a sha256
    assert register(p, NAME, bump="minor").tag == f"{NAME}@v1.2.0"


def test_the_duplicate_check_reads_tag_messages_not_records(
    registered: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = open_project(registered)
    seen = _parses(monkeypatch)
    done = register(p, NAME, bump="minor")  # the retrained model: another artifact
    assert done.tag == f"{NAME}@v1.1.0"
    with pytest.raises(InputError, match=r"churn@v1.1.0 registers this very artifact"):
        register(p, NAME, bump="minor")
    assert seen == []  # both checks read the tag messages' sha256, no record
