"""`gitio/objects.py`, the one `git cat-file --batch` reader, on real blobs: binary content,
missing objects, names with spaces, trees between blobs, duplicates, `--batch-check`."""

from __future__ import annotations

from pathlib import Path

from mlops_cli.gitio.objects import blob_ids, read_blobs, read_objects
from tests.gitio.conftest import g

BINARY = bytes(range(256)) * 3 + b"\n\nmissing\n"


def _commit_files(repo: Path) -> None:
    (repo / "dir").mkdir()
    (repo / "dir" / "my data.csv.dvc").write_text("outs:\n- md5: abc\n")
    (repo / "bin.dat").write_bytes(BINARY)
    (repo / "empty").write_bytes(b"")
    g(repo, "add", "-A")
    g(repo, "commit", "-q", "-m", "files")


def test_blobs_by_rev_path_and_by_sha(repo: Path) -> None:
    _commit_files(repo)
    sha = g(repo, "rev-parse", "HEAD:bin.dat")
    found = read_objects(
        repo, ["HEAD:bin.dat", "HEAD:dir/my data.csv.dvc", "HEAD:empty", sha, "HEAD~1:a.txt"]
    )
    assert found == {
        "HEAD:bin.dat": BINARY,
        "HEAD:dir/my data.csv.dvc": b"outs:\n- md5: abc\n",
        "HEAD:empty": b"",
        sha: BINARY,
        "HEAD~1:a.txt": b"a\n",
    }
    assert list(found) == [
        "HEAD:bin.dat",
        "HEAD:dir/my data.csv.dvc",
        "HEAD:empty",
        sha,
        "HEAD~1:a.txt",
    ]


def test_missing_objects_are_left_out_and_the_rest_still_read(repo: Path) -> None:
    _commit_files(repo)
    specs = [
        "HEAD:no such file",  # missing, with spaces: `HEAD:no such file missing`
        "HEAD:no such",  # `HEAD:no such missing`: three fields, like a found object's
        "HEAD:bin.dat",
        "HEAD:dir/absent.dvc",
        "0" * 40,  # a sha nobody has
        "HEAD:dir/my data.csv.dvc",
        "no-such-rev:a.txt",
        "HEAD:a.txt",
    ]
    found = read_objects(repo, specs)
    assert found == {
        "HEAD:bin.dat": BINARY,
        "HEAD:dir/my data.csv.dvc": b"outs:\n- md5: abc\n",
        "HEAD:a.txt": b"a\n",
    }


def test_trees_and_commits_are_skipped_not_misread(repo: Path) -> None:
    _commit_files(repo)
    found = read_objects(repo, ["HEAD:dir", "HEAD", "HEAD:bin.dat", "HEAD^{tree}", "HEAD:a.txt"])
    assert found == {"HEAD:bin.dat": BINARY, "HEAD:a.txt": b"a\n"}


def test_duplicates_empty_and_newline_names(repo: Path) -> None:
    assert read_objects(repo, []) == {}
    assert read_objects(repo, ["HEAD:a.txt", "HEAD:a.txt"]) == {"HEAD:a.txt": b"a\n"}
    # A name with a newline cannot be asked (git reads one per line): it counts as missing
    # and does not shift the answers of the others.
    assert read_objects(repo, ["HEAD:a\n.txt", "HEAD:a.txt"]) == {"HEAD:a.txt": b"a\n"}


def test_read_blobs_at_a_rev(repo: Path) -> None:
    _commit_files(repo)
    got = read_blobs(repo, "HEAD", ["bin.dat", "nope", "dir/my data.csv.dvc"])
    assert got == {"bin.dat": BINARY, "dir/my data.csv.dvc": b"outs:\n- md5: abc\n"}
    assert read_blobs(repo, "HEAD~1", ["bin.dat", "a.txt"]) == {"a.txt": b"a\n"}


def test_blob_ids(repo: Path) -> None:
    _commit_files(repo)
    got = blob_ids(repo, ["HEAD:bin.dat", "HEAD:no such", "HEAD:dir", "HEAD:dir/my data.csv.dvc"])
    assert got == {
        "HEAD:bin.dat": g(repo, "rev-parse", "HEAD:bin.dat"),
        "HEAD:dir/my data.csv.dvc": g(repo, "rev-parse", "HEAD:dir/my data.csv.dvc"),
    }
    assert blob_ids(repo, []) == {}
