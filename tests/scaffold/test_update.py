"""`mlops template update` with two real versions of a template and a user-edited project."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from mlops_cli.common.errors import InputError
from mlops_cli.project.root import open_project
from mlops_cli.scaffold.init import init_project
from mlops_cli.scaffold.templates import load_template_dir, resolve_answers
from mlops_cli.scaffold.update import update_project
from tests.conftest import tree_bytes
from tests.tpl import make_template

SPEC = """\
name: evolving
version: {version}
variables:
  project_name: {{type: str, default: demo}}
"""
CONFIG_V1 = "".join(f"setting_{i} = {i}\n" for i in range(1, 9))
V1 = {
    "mlops.yaml.jinja": "schema_version: 1\nproject: {{ project_name }}\n",
    "README.md.jinja": "# {{ project_name }}\n\nIntro line.\n",
    "config.txt": CONFIG_V1,
    "obsolete.txt": "to be dropped\n",
    "edited-then-dropped.txt": "x\n",
}
V2 = {
    "mlops.yaml.jinja": "schema_version: 1\nproject: {{ project_name }}\nstages: [dev, prod]\n",
    "README.md.jinja": "# {{ project_name }}\n\nBetter intro line.\n",
    "config.txt": CONFIG_V1.replace("setting_8 = 8", "setting_8 = 80"),
    "added.txt": "new in v2\n",
}


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(cwd), *args], capture_output=True, text=True, check=True
    ).stdout


def release(repo: Path, files: dict[str, str], version: str) -> None:
    """Make the template folder hold exactly `files` at `version`, commit, tag."""
    shutil.rmtree(repo / "project", ignore_errors=True)
    make_template(repo, files, SPEC.format(version=version))
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", f"release {version}")
    git(repo, "tag", f"v{version}")


@pytest.fixture
def edited_project(tmp_path: Path) -> tuple[Path, Path]:
    repo = tmp_path / "tpl"
    repo.mkdir()
    git(repo, "init", "-q")
    release(repo, V1, "1.0.0")
    dest = tmp_path / "proj"
    tpl = load_template_dir(repo, builtin=False)
    init_project(dest, tpl, resolve_answers(tpl, {}, dest_name="proj"))
    # The user edits: a line the template will not touch, the line it will, one file it drops.
    config = (dest / "config.txt").read_text().replace("setting_1 = 1", "setting_1 = 100")
    (dest / "config.txt").write_text(config)
    (dest / "README.md").write_text("# proj\n\nMy own intro line.\n")
    (dest / "edited-then-dropped.txt").write_text("x\nmine\n")
    config_yaml = dest / "mlops.yaml"
    config_yaml.write_text("# my notes on this project\n" + config_yaml.read_text())
    git(dest, "commit", "-qam", "my edits")
    release(repo, {**V2}, "1.1.0")
    return repo, dest


def outcomes(result: Any) -> dict[str, str]:
    return {f.path: f.outcome for f in result.files}


def test_update_merges_keeps_edits_and_marks_conflicts(edited_project: tuple[Path, Path]) -> None:
    _repo, dest = edited_project
    result = update_project(open_project(dest))
    assert result.base_source.startswith("git tag v1.0.0")
    assert outcomes(result) == {
        "README.md": "conflict",
        "added.txt": "added",
        "config.txt": "merged",
        "edited-then-dropped.txt": "kept",
        "mlops.yaml": "merged",
        "obsolete.txt": "removed",
    }
    config = (dest / "config.txt").read_text()
    assert "setting_1 = 100" in config and "setting_8 = 80" in config
    readme = (dest / "README.md").read_text()
    assert "<<<<<<< yours" in readme and "My own intro line." in readme
    assert "Better intro line." in readme and ">>>>>>> template" in readme
    assert not (dest / "obsolete.txt").exists()
    assert (dest / "edited-then-dropped.txt").read_text() == "x\nmine\n"
    assert (dest / "added.txt").read_text() == "new in v2\n"
    project = open_project(dest)
    assert project.config.template is not None
    assert project.config.template.version == "1.1.0"
    assert project.config.stages == ["dev", "prod"]
    assert (dest / "mlops.yaml").read_text().startswith("# my notes on this project\n")
    assert "README.md" in git(dest, "status", "--porcelain")  # left for review, not committed


def test_dry_run_changes_nothing_and_shows_diffs(edited_project: tuple[Path, Path]) -> None:
    _, dest = edited_project
    before = tree_bytes(dest)
    result = update_project(open_project(dest), dry_run=True)
    assert tree_bytes(dest) == before
    diffs = {f.path: f.diff for f in result.files}
    assert "+setting_8 = 80" in diffs["config.txt"]
    assert "-to be dropped" in diffs["obsolete.txt"]


def test_dirty_tree_is_refused(edited_project: tuple[Path, Path]) -> None:
    _, dest = edited_project
    (dest / "config.txt").write_text("uncommitted\n")
    before = tree_bytes(dest)
    with pytest.raises(InputError, match="uncommitted changes") as info:
        update_project(open_project(dest))
    assert info.value.exit_code == 3
    assert tree_bytes(dest) == before


def test_without_tags_the_scaffold_commit_is_the_base(
    edited_project: tuple[Path, Path], tmp_path: Path
) -> None:
    repo, dest = edited_project
    untagged = tmp_path / "untagged"
    shutil.copytree(repo, untagged, ignore=shutil.ignore_patterns(".git"))
    result = update_project(open_project(dest), template_ref=str(untagged))
    assert result.base_source.startswith("scaffold commit")
    got = outcomes(result)
    assert got["config.txt"] == "merged" and got["README.md"] == "conflict"
    assert "setting_1 = 100" in (dest / "config.txt").read_text()


def test_same_version_is_a_no_op(tmp_path: Path) -> None:
    repo = tmp_path / "tpl"
    repo.mkdir()
    git(repo, "init", "-q")
    release(repo, V1, "1.0.0")
    dest = tmp_path / "proj"
    tpl = load_template_dir(repo, builtin=False)
    init_project(dest, tpl, resolve_answers(tpl, {}, dest_name="proj"))
    before = tree_bytes(dest)
    assert update_project(open_project(dest)).files == []
    after = {k: v for k, v in tree_bytes(dest).items() if not k.startswith(".mlops/")}
    assert after == before
    assert git(dest, "status", "--porcelain") == ""  # the lock's .mlops/ ignores itself


@pytest.mark.parametrize("version", ["1.0.0", "1.1.0"])
def test_a_builtin_project_updates_from_the_packaged_snapshot(
    tmp_path: Path, mlops: Any, version: str
) -> None:
    """The real upgrade path of the built-in sklearn-classifier: a project made by an older
    release (rendered from the packaged `_history` snapshot, as `mlops init` did then) and
    edited by its user takes today's CI workflow with `mlops template update`, keeping the
    edit."""
    from mlops_cli.scaffold.templates import builtin_root, resolve_template

    current = resolve_template("sklearn-classifier", cwd=tmp_path).version
    old = load_template_dir(
        builtin_root() / "_history" / "sklearn-classifier" / version, builtin=True
    )
    assert old.version == version != current
    dest = tmp_path / "churn"
    init_project(dest, old, resolve_answers(old, {}, dest_name="churn"))
    workflow = dest / ".github" / "workflows" / "mlops.yml"
    assert "mlops data check-pushed" not in workflow.read_text()
    readme = dest / "README.md"
    readme.write_text(readme.read_text() + "\nOur team's notes.\n")
    git(dest, "commit", "-qam", "notes")

    result = mlops("-C", str(dest), "template", "update")
    assert result.exit_code == 0, result.stderr
    assert "snapshot" in result.stderr and version in result.stderr
    text = workflow.read_text()
    assert "Keep the record" in text and "contents: write" in text
    assert "mlops data check-pushed" in text and "|| echo" not in text
    assert readme.read_text().endswith("Our team's notes.\n")
    assert f"version: {current}" in (dest / "mlops.yaml").read_text()
    changed = git(dest, "status", "--porcelain").split()
    assert ".github/workflows/mlops.yml" in changed and "mlops.yaml" in changed


def test_the_scaffold_commit_base_reads_any_file_name(tmp_path: Path) -> None:
    """The scaffold commit's files are listed NUL-separated and read in one batch, so a
    name git would quote (a space, non-ASCII) is read like any other."""
    name = "naïve notes.txt"
    repo = tmp_path / "tpl"
    repo.mkdir()
    git(repo, "init", "-q")
    release(repo, {**V1, name: "one\ntwo\nthree\n"}, "1.0.0")
    dest = tmp_path / "proj"
    tpl = load_template_dir(repo, builtin=False)
    init_project(dest, tpl, resolve_answers(tpl, {}, dest_name="proj"))
    (dest / name).write_text("one, mine\ntwo\nthree\n")
    git(dest, "commit", "-qam", "my edits")
    release(repo, {**V2, name: "one\ntwo\nthree, the template's\n"}, "1.1.0")
    untagged = tmp_path / "untagged"
    shutil.copytree(repo, untagged, ignore=shutil.ignore_patterns(".git"))
    result = update_project(open_project(dest), template_ref=str(untagged))
    assert result.base_source.startswith("scaffold commit")
    assert outcomes(result)[name] == "merged"
    assert (dest / name).read_text() == "one, mine\ntwo\nthree, the template's\n"
