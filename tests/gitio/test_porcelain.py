"""`gitio/porcelain.py`, the one `git status --porcelain=v1 -z` reader, on real `git status`
output: renames, copies, spaces, newlines, a leading `->`, non-UTF-8 names."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from mlops_cli.gitio.porcelain import changes, parse
from tests.gitio.conftest import g


def _status(root: Path) -> bytes:
    cmd = ["git", "-C", str(root), "status", "--porcelain=v1", "-z", "--untracked-files=all"]
    return subprocess.run(cmd, capture_output=True, check=True).stdout


def test_every_kind_of_change_with_awkward_names(repo: Path) -> None:
    for name in ("with space.txt", "line\nbreak.txt", "old name.txt", "gone.txt", "-> arrow.txt"):
        (repo / name).write_text(name + "\n")
    g(repo, "add", "-A")
    g(repo, "commit", "-q", "-m", "names")
    g(repo, "mv", "old name.txt", "new name.txt")  # staged rename: R + its source
    (repo / "with space.txt").write_text("changed\n")  # unstaged: " M"
    (repo / "line\nbreak.txt").write_text("staged\n")
    g(repo, "add", "line\nbreak.txt")  # staged: "M "
    (repo / "gone.txt").unlink()  # " D"
    (repo / "new\nuntracked file.csv").write_text("x\n")  # "??"
    (repo / "-> arrow.txt").write_text("changed\n")
    found = changes(repo, ["."])
    assert found == {
        "new name.txt": "R ",
        "with space.txt": " M",
        "line\nbreak.txt": "M ",
        "gone.txt": " D",
        "new\nuntracked file.csv": "??",
        "-> arrow.txt": " M",
    }
    assert "old name.txt" not in found  # the rename's source is not an entry


def test_pathspecs_limit_and_nothing_asked_is_nothing(repo: Path) -> None:
    (repo / "a.txt").write_text("changed\n")
    (repo / "b.txt").write_text("new\n")
    assert changes(repo, ["b.txt"]) == {"b.txt": "??"}
    assert changes(repo, ["*.txt"]) == {"a.txt": " M", "b.txt": "??"}
    assert changes(repo, []) == {}
    assert changes(repo, ["a.txt", "b.txt"]) == parse(_status(repo))


def test_a_copy_and_a_rename_followed_by_more_entries(repo: Path) -> None:
    (repo / "big.txt").write_text("".join(f"line {i}\n" for i in range(50)))
    g(repo, "add", "big.txt")
    g(repo, "commit", "-q", "-m", "big")
    g(repo, "mv", "big.txt", "moved.txt")
    (repo / "z.txt").write_text("after\n")
    raw = _status(repo)
    assert b"moved.txt\0big.txt\0" in raw  # -z: the new name, then the source
    assert parse(raw) == {"moved.txt": "R ", "z.txt": "??"}
    # A copy record (X = C) has the same shape: its source is skipped too.
    assert parse(b"C  copy.txt\0orig.txt\0?? z\0") == {"copy.txt": "C ", "z": "??"}


def test_non_utf8_names(repo: Path) -> None:
    raw_name = b"caf\xe9.csv"  # Latin-1, not UTF-8
    with open(os.path.join(os.fsencode(repo), raw_name), "wb") as f:
        f.write(b"x\n")
    escaped = changes(repo, ["."])
    (name,) = escaped
    assert os.fsencode(name) == raw_name and (repo / name).is_file()  # round-trips
    assert changes(repo, ["."], errors="replace") == {"caf\ufffd.csv": "??"}
    assert escaped[name] == "??"


def test_ignored_files_are_listed_only_when_asked(repo: Path) -> None:
    (repo / ".gitignore").write_text("*.log\n")
    (repo / "x.log").write_text("x\n")
    assert "x.log" not in changes(repo, ["."])
    assert parse(b"!! x.log\0") == {"x.log": "!!"}


def test_short_and_empty_records_are_skipped() -> None:
    assert parse(b"") == {}
    assert parse(b"\0\0?? \0M  a\0") == {"a": "M "}
