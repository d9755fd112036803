"""dvc/fasttrack.py against real DVC: `mlops data add FOLDER` without DVC must write what
`dvc add FOLDER` writes, byte for byte (the `.dvc` file, `.gitignore`, every cache object and
its mode), and DVC's own commands must accept the result: `dvc status`, `dvc push`, `dvc
pull` into a fresh clone, `dvc checkout`. When DVC changes its formats these fail."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from mlops_cli.common.progress import NullReporter
from mlops_cli.data import datasets as data
from mlops_cli.dvc import fasttrack
from mlops_cli.dvc.files import Hasher, cache_dir
from mlops_cli.project.root import open_project
from tests.datarepo import clone, committed, dvc, git, new_project, reopen, write

PAST = 1_600_000_000  # far outside the "racily clean" window: stat entries are trusted


class Notes(NullReporter):
    def __init__(self) -> None:
        self.lines: list[str] = []

    def detail(self, message: str) -> None:
        self.lines.append(message)


def _folder(root: Path) -> Path:
    """Names whose order differs between a string sort and a path-parts sort, nesting, an
    empty file, a non-ASCII name and a file larger than fasttrack.SMALL (streamed)."""
    folder = root / "data" / "many"
    files = {
        "a-b/x.txt": b"dash\n",
        "a/b.txt": b"slash\n",
        "a/c/deep.bin": bytes(range(256)) * 4,
        "empty.txt": b"",
        "zo\u00eb \u6771\u4eac.csv": "id,name\n1,Zo\u00eb\n".encode(),
        "same1.txt": b"duplicate\n",
        "same2.txt": b"duplicate\n",
        "big.bin": os.urandom(fasttrack.SMALL + 12_345),
    }
    for rel, content in files.items():
        os.utime(write(folder / rel, content), (PAST, PAST))
    return folder


def _cache(root: Path) -> dict[str, tuple[bytes, int]]:
    base = cache_dir(root)
    return {
        p.relative_to(base).as_posix(): (p.read_bytes(), stat.S_IMODE(p.stat().st_mode))
        for p in sorted(base.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def twins(tmp_path: Path) -> tuple[Path, Path]:
    """Two identical projects with the same folder, not added yet."""
    first = new_project(tmp_path / "mine").root
    _folder(first)
    second = tmp_path / "theirs"
    shutil.copytree(first, second, symlinks=True)
    return first, second


def test_mlops_writes_what_dvc_add_writes(twins: tuple[Path, Path]) -> None:
    mine, theirs = twins
    notes = Notes()
    result = data.add(open_project(mine), mine / "data/many", reporter=notes)
    assert not [n for n in notes.lines if "added through DVC" in n], notes.lines
    run = dvc(theirs, "add", "data/many")
    assert run.returncode == 0, run.stderr
    for rel in ("data/many.dvc", "data/.gitignore"):
        assert (mine / rel).read_bytes() == (theirs / rel).read_bytes(), rel
    assert _cache(mine) == _cache(theirs)  # every object, its bytes and its mode (0444)
    assert result.md5 and result.nfiles == 8
    # DVC sees it as its own: nothing to commit, nothing changed.
    status = dvc(mine, "status", "data/many.dvc")
    assert status.returncode == 0 and "changed" not in status.stdout, status.stdout


def test_dvc_push_pull_and_checkout_accept_it(tmp_path: Path) -> None:
    project = new_project(tmp_path / "proj")
    root = project.root
    folder = _folder(root)
    data.add(project, folder)
    committed(reopen(project), "many")
    assert dvc(root, "push").returncode == 0
    # A teammate's clone: `dvc pull` rebuilds the folder from what mlops wrote.
    other = clone(root, tmp_path / "other")
    pulled = dvc(other, "pull")
    assert pulled.returncode == 0, pulled.stderr
    theirs = {p.relative_to(other / "data/many"): p.read_bytes() for p in _files(other)}
    assert theirs == {p.relative_to(folder): p.read_bytes() for p in _files(root)}
    # `dvc checkout` restores it from the cache mlops filled.
    shutil.rmtree(folder)
    assert dvc(root, "checkout", "data/many.dvc").returncode == 0
    assert {p.relative_to(folder): p.read_bytes() for p in _files(root)} == theirs
    assert dvc(root, "status", "-c").stdout.strip() in ("", "Cache and remote 'local' are in sync.")


def _files(root: Path) -> list[Path]:
    return sorted(p for p in (root / "data/many").rglob("*") if p.is_file())


def test_a_re_add_after_a_change_rewrites_the_dvc_file_as_dvc_would(
    twins: tuple[Path, Path],
) -> None:
    mine, theirs = twins
    data.add(open_project(mine), mine / "data/many")
    assert dvc(theirs, "add", "data/many").returncode == 0
    for root in (mine, theirs):
        os.utime(write(root / "data/many/a/b.txt", b"changed\n"), (PAST, PAST))
        write(root / "data/many/new/file.txt", b"new\n")
    notes = Notes()
    again = data.add(open_project(mine), mine / "data/many", reporter=notes)
    assert again.changed and not [n for n in notes.lines if "through DVC" in n]
    assert dvc(theirs, "add", "data/many").returncode == 0
    assert (mine / "data/many.dvc").read_bytes() == (theirs / "data/many.dvc").read_bytes()
    assert _cache(mine) == _cache(theirs)


@pytest.mark.parametrize("case", ["symlink", "dvcignore", "desc", "name"])
def test_what_fasttrack_does_not_reproduce_goes_through_dvc(tmp_path: Path, case: str) -> None:
    project = new_project(tmp_path / "proj")
    root = project.root
    name = "1.0" if case == "name" else "many"  # YAML reads an unquoted 1.0 as a number
    folder = root / "data" / name
    write(folder / "a.txt", b"a\n")
    if case == "symlink":
        (folder / "link.txt").symlink_to(folder / "a.txt")
    elif case == "dvcignore":
        write(root / ".dvcignore", b"*.tmp\n")
        write(folder / "skip.tmp", b"ignored\n")
    elif case == "desc":
        assert dvc(root, "add", f"data/{name}").returncode == 0
        dvc_file = root / f"data/{name}.dvc"
        dvc_file.write_text(dvc_file.read_text().replace("- md5:", "- desc: kept\n  md5:"))
        write(folder / "b.txt", b"b\n")
    notes = Notes()
    data.add(reopen(project), folder, reporter=notes)
    assert [n for n in notes.lines if "added through DVC" in n], notes.lines
    if case == "desc":
        assert "desc: kept" in (root / f"data/{name}.dvc").read_text()  # DVC kept it
    if case == "dvcignore":
        assert "skip.tmp" not in str(_cache(root))
    assert dvc(root, "status", f"data/{name}.dvc").stdout.count("changed") == 0


def test_a_file_that_changes_while_it_is_read_is_refused(tmp_path: Path) -> None:
    project = new_project(tmp_path / "proj")
    folder = _folder(project.root)
    files = fasttrack.plan(folder)
    assert files is not None
    with (folder / "a/b.txt").open("ab") as fh:
        fh.write(b"more\n")
    with Hasher(project.root) as hasher, pytest.raises(fasttrack.Changed):
        fasttrack.track_folder(project.root, hasher, files, workers=2)
    # No temporary copy is left in the cache, and nothing was remembered.
    assert not list(cache_dir(project.root).rglob(".*.tmp"))


def test_a_folder_git_tracks_files_in_goes_through_dvc(tmp_path: Path) -> None:
    project = new_project(tmp_path / "proj")
    root = project.root
    write(root / "data/many/a.txt", b"a\n")
    git(root, "add", "data/many/a.txt")
    notes = Notes()
    with pytest.raises(Exception, match=r"tracked by git|already tracked|SCM"):
        data.add(reopen(project), root / "data/many", reporter=notes)
    assert [n for n in notes.lines if "git tracks files inside" in n]
    assert not (root / "data/many.dvc").exists()


def test_the_unsupported_reasons(tmp_path: Path) -> None:
    project = new_project(tmp_path / "proj")
    root = project.root
    for name in ("yes", "1.0", "null", "1e3", "has space", "-dash"):
        folder = root / "data" / name
        folder.mkdir(parents=True)
        assert fasttrack.unsupported(root, folder, root / f"data/{name}.dvc"), name
    plain = root / "data" / "plain_1.v2"
    plain.mkdir()
    assert fasttrack.unsupported(root, plain, root / "data/plain_1.v2.dvc") is None
    (root / ".dvc" / "config").write_text(
        (root / ".dvc" / "config").read_text() + "[cache]\n    type = hardlink\n"
    )
    assert "cache settings" in (fasttrack.unsupported(root, plain, root / "x.dvc") or "")


def test_the_dvc_cache_temp_sweep_matches_fasttrack_temps(tmp_path: Path) -> None:
    """A killed copy leaves `.<random>.tmp` where driver._remove_cache_temps looks."""
    objects = tmp_path / "files" / "md5"
    with pytest.raises(fasttrack.Changed):
        fasttrack._write_object(str(objects / "ab" / "cd"), [b"x"], expect="0" * 32)
    assert not list(objects.rglob("*"))[1:]  # only the prefix folder: the temp was removed
    real_tmp_name = f".{'a' * 22}.tmp"
    assert list(objects.glob("*/.*.tmp")) == []
    (objects / "ab" / real_tmp_name).write_bytes(b"x")
    assert [p.name for p in objects.glob("*/.*.tmp")] == [real_tmp_name]


@pytest.mark.parametrize("name", ["yes", "no", "on", "Off"])
def test_a_folder_yaml_11_would_read_as_a_boolean(tmp_path: Path, name: str) -> None:
    """DVC (ruamel, YAML 1.2) writes `path: yes` unquoted; mlops reads its .dvc files with
    YAML 1.2's booleans, so `data add` and status see the folder, not `True`."""
    project = new_project(tmp_path / "proj")
    root = project.root
    write(root / "data" / name / "a.txt", b"a\n")
    result = data.add(reopen(project), root / "data" / name)
    assert result.path == f"data/{name}" and result.md5.endswith(".dir")
    assert f"path: {name}\n" in (root / f"data/{name}.dvc").read_text()
    assert data.add(reopen(project), root / "data" / name).changed is False
