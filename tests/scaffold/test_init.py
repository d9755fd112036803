"""`init_project` on real git and DVC: files, first commit, conflicts, rollback."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from mlops_cli.common.errors import ConflictError, InputError
from mlops_cli.dvc import repo as dvcrepo
from mlops_cli.gitio import repo as gitrepo
from mlops_cli.project.root import load_config
from mlops_cli.scaffold.init import init_project
from mlops_cli.scaffold.templates import load_template_dir, resolve_answers
from tests.conftest import tree_bytes
from tests.tpl import BASIC, make_template


@pytest.fixture
def tiny(tmp_path: Path):  # type: ignore[no-untyped-def]
    return load_template_dir(make_template(tmp_path / "tpl", BASIC), builtin=False)


def answers(tpl, dest: Path, **given: str):  # type: ignore[no-untyped-def]
    return resolve_answers(tpl, given, dest_name=dest.name)


def git(dest: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(dest), *args], capture_output=True, text=True, check=True
    ).stdout


def test_init_writes_commits_and_records_template(tmp_path: Path, tiny) -> None:  # type: ignore[no-untyped-def]
    dest = tmp_path / "proj"
    result = init_project(dest, tiny, answers(tiny, dest))
    assert (dest / "README.md").read_text() == "# proj\n\nhello\n"
    assert (dest / "src/proj/__init__.py").exists()
    assert (dest / ".dvc/config").exists()
    assert result.commit and git(dest, "rev-parse", "HEAD").strip() == result.commit
    assert git(dest, "status", "--porcelain") == ""
    config = load_config(dest / "mlops.yaml")
    assert config.template is not None
    assert config.template.version == "1.0.0"
    assert config.template.answers == {"project_name": "proj", "greeting": "hello"}


def test_conflicting_files_change_nothing(tmp_path: Path, tiny) -> None:  # type: ignore[no-untyped-def]
    dest = tmp_path / "proj"
    dest.mkdir()
    (dest / "README.md").write_text("mine\n")
    (dest / "notes.txt").write_text("keep me\n")
    before = tree_bytes(dest)
    with pytest.raises(ConflictError) as info:
        init_project(dest, tiny, answers(tiny, dest))
    assert info.value.exit_code == 3
    assert info.value.paths == ["README.md"]
    assert tree_bytes(dest) == before
    assert sorted(p.name for p in dest.iterdir()) == ["README.md", "notes.txt"]


def test_identical_file_is_not_a_conflict_and_overwrite_replaces(tmp_path: Path, tiny) -> None:  # type: ignore[no-untyped-def]
    dest = tmp_path / "proj"
    dest.mkdir()
    (dest / "README.md").write_text("# proj\n\nhello\n")
    (dest / "ci.yml").write_text("old\n")
    result = init_project(dest, tiny, answers(tiny, dest), overwrite=True, git=False)
    actions = {f.path: f.action for f in result.files}
    assert actions["README.md"] == "identical"
    assert actions["ci.yml"] == "overwrite"
    assert (dest / "ci.yml").read_text() == "run: echo ${{ github.sha }}\n"


def test_dry_run_writes_nothing(tmp_path: Path, tiny) -> None:  # type: ignore[no-untyped-def]
    dest = tmp_path / "proj"
    result = init_project(dest, tiny, answers(tiny, dest), dry_run=True)
    assert not dest.exists()
    assert {f.path for f in result.files} == {
        "README.md",
        "ci.yml",
        "mlops.yaml",
        "src/proj/__init__.py",
    }


@pytest.mark.parametrize("exc", [RuntimeError("boom"), KeyboardInterrupt()])
def test_failure_removes_a_created_folder(tmp_path: Path, tiny, monkeypatch, exc) -> None:  # type: ignore[no-untyped-def]
    def fail(*a: object, **k: object) -> None:
        raise exc

    monkeypatch.setattr(dvcrepo, "init", fail)
    dest = tmp_path / "proj"
    with pytest.raises(type(exc)):
        init_project(dest, tiny, answers(tiny, dest))
    assert not dest.exists()


def test_failure_restores_an_existing_folder(tmp_path: Path, tiny, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def fail(*a: object, **k: object) -> str:
        raise KeyboardInterrupt

    monkeypatch.setattr(gitrepo, "init_and_commit", fail)
    dest = tmp_path / "proj"
    dest.mkdir()
    (dest / "ci.yml").write_text("old\n")
    (dest / "notes.txt").write_text("keep\n")
    before = tree_bytes(dest)
    with pytest.raises(KeyboardInterrupt):
        init_project(dest, tiny, answers(tiny, dest), overwrite=True)
    assert tree_bytes(dest) == before
    assert sorted(p.name for p in dest.iterdir()) == ["ci.yml", "notes.txt"]


def test_inside_another_repository_is_refused(tmp_path: Path, tiny) -> None:  # type: ignore[no-untyped-def]
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    dest = tmp_path / "sub"
    with pytest.raises(InputError, match="inside the git work tree"):
        init_project(dest, tiny, answers(tiny, dest))
    assert not dest.exists()
    init_project(dest, tiny, answers(tiny, dest), git=False)
    assert (dest / "mlops.yaml").exists() and not (dest / ".git").exists()


def test_bad_variable_value(tmp_path: Path, tiny) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError, match="does not match"):
        resolve_answers(tiny, {"project_name": "Bad Name"}, dest_name="x")
    with pytest.raises(InputError, match="has no variable 'colour'"):
        resolve_answers(tiny, {"colour": "red"}, dest_name="x")


def test_missing_git_identity_fails_before_writing(tmp_path: Path, tiny, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    for var in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL"):
        monkeypatch.delenv(var)
    dest = tmp_path / "proj"
    with pytest.raises(InputError, match=r"git user\.name is not set"):
        init_project(dest, tiny, answers(tiny, dest))
    assert not dest.exists()


def test_second_init_over_a_project_is_a_conflict(tmp_path: Path, tiny) -> None:  # type: ignore[no-untyped-def]
    dest = tmp_path / "proj"
    init_project(dest, tiny, answers(tiny, dest))
    (dest / "notes.txt").write_text("pending work\n")
    before = tree_bytes(dest)
    with pytest.raises(ConflictError) as info:
        init_project(dest, tiny, answers(tiny, dest))
    assert "mlops.yaml" in info.value.paths
    assert tree_bytes(dest) == before
    assert len(git(dest, "log", "--format=%H").split()) == 1


def test_first_commit_holds_only_what_init_made(tmp_path: Path, tiny) -> None:  # type: ignore[no-untyped-def]
    dest = tmp_path / "proj"
    dest.mkdir()
    (dest / "notes.txt").write_text("mine, not for the scaffold commit\n")
    init_project(dest, tiny, answers(tiny, dest))
    committed = git(dest, "ls-files").split()
    assert "notes.txt" not in committed and "README.md" in committed
    assert "?? notes.txt" in git(dest, "status", "--porcelain")
