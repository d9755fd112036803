"""`data.datasets` on real git + DVC projects with the local default remote `mlops init` makes."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from mlops_cli.common.errors import CheckFailed, InputError, UsageError
from mlops_cli.data import datasets as data
from mlops_cli.dvc.files import cache_dir, object_path, read_outputs
from mlops_cli.project.root import Project
from tests.datarepo import (
    CSV,
    clone,
    committed,
    git,
    md5,
    remote_dir,
    reopen,
    staged,
    write,
)
from tests.valdata import edit_in_place

SCHEMA = """\
schema_type: dataframe
columns:
  id:
    dtype: int64
    nullable: false
  price:
    dtype: float64
    nullable: false
    checks:
      greater_than_or_equal_to: 0
strict: true
coerce: false
"""


def test_init_configures_a_local_remote_outside_the_project(project: Project) -> None:
    folder = remote_dir(project.root)
    assert project.config.remote == "local"
    assert folder.is_absolute() and folder.parent == project.root.parent / "remotes"
    assert folder.name.startswith("proj-")
    config = (project.root / ".dvc" / "config").read_text()
    assert "remote = local" in config and str(folder) in config
    assert git(project.root, "status", "--porcelain") == ""  # committed with the scaffold


def test_add_tracks_stages_and_declares(project: Project) -> None:
    src = write(project.root / "data/raw/customers.csv", CSV)
    result = data.add(project, src, "customers")
    assert (result.dataset, result.path, result.changed) == (
        "customers",
        "data/raw/customers.csv",
        True,
    )
    assert result.md5 == md5(src) and result.size == len(CSV)
    assert result.validated is None and result.declared
    (out,) = read_outputs(project.root, project.root / "data/raw/customers.csv.dvc")
    assert out.md5 == md5(src) and not out.legacy
    assert object_path(cache_dir(project.root), out.md5).read_bytes() == CSV
    assert "/customers.csv" in (project.root / "data/raw/.gitignore").read_text()
    assert staged(project.root) == {
        "data/raw/customers.csv.dvc",
        "data/raw/.gitignore",
        "mlops.yaml",
    }
    config = reopen(project).config
    assert config.datasets["customers"].path == "data/raw/customers.csv"
    assert src.read_bytes() == CSV


def test_add_keeps_the_users_mlops_yaml_layout(project: Project) -> None:
    path = project.config_path
    original = path.read_text()
    write(project.root / "data/a.csv", CSV)
    data.add(project, Path("data/a.csv"), "alpha")
    text = path.read_text()
    expected = original.replace("datasets: {}\n", "datasets:\n  alpha:\n    path: data/a.csv\n", 1)
    assert text == expected  # every comment and line of the template's file is still there
    git(project.root, "commit", "-qm", "a")
    write(project.root / "data/b.csv", CSV + b"4,1.0\n")
    data.add(reopen(project), Path("data/b.csv"))
    assert path.read_text() == expected.replace(
        "    path: data/a.csv\n", "    path: data/a.csv\n  b:\n    path: data/b.csv\n", 1
    )


def test_add_leaves_a_mlops_yaml_with_other_changes_unstaged(project: Project) -> None:
    path = project.config_path
    path.write_text(path.read_text().replace("stages: [dev, staging, prod]", "stages: [dev]"))
    write(project.root / "data/a.csv", CSV)
    data.add(project, Path("data/a.csv"))
    assert "mlops.yaml" not in staged(project.root)
    assert "stages: [dev]" in path.read_text() and "  a:\n    path: data/a.csv" in path.read_text()


def test_second_add_of_unchanged_data_is_a_no_op(project: Project) -> None:
    src = write(project.root / "data/a.csv", CSV)
    os.utime(src, (time.time() - 60, time.time() - 60))  # settled: its stat can be trusted
    first = data.add(project, src)
    dvc_file = project.root / "data/a.csv.dvc"
    before = dvc_file.stat().st_mtime_ns
    again = data.add(reopen(project), src)
    assert again.changed is False and again.md5 == first.md5 and not again.declared
    assert dvc_file.stat().st_mtime_ns == before


def test_an_edit_that_restores_the_mtime_is_versioned(project: Project) -> None:
    """Same size, same inode, mtime set back: the stat cache must not vouch for the old
    md5 (issue 13 item 7), so the new content is versioned."""
    src = write(project.root / "data/a.csv", CSV)
    os.utime(src, (time.time() - 60, time.time() - 60))  # settled: its stat can be trusted
    first = data.add(project, src)
    assert data.add(reopen(project), src).changed is False  # answered by the stat cache
    edit_in_place(src, b"10.5", b"99.9")
    second = data.add(reopen(project), src)
    assert second.changed and second.md5 == md5(src) != first.md5


def test_add_of_changed_data_records_the_new_version(project: Project) -> None:
    src = write(project.root / "data/a.csv", CSV)
    first = data.add(project, src)
    write(src, CSV + b"4,1.5\n")
    second = data.add(reopen(project), src)
    assert second.changed and second.md5 == md5(src) != first.md5


def test_add_refuses_data_that_breaks_its_schema(project: Project) -> None:
    pytest.importorskip("mlops_cli.validation.validate")
    write(project.root / "schemas/prices.yaml", SCHEMA.encode())
    src = write(project.root / "data/prices.csv", b"id,price\n1,10.5\n2,-3.25\n")
    config_before = project.config_path.read_bytes()
    with pytest.raises(CheckFailed) as info:
        data.add(project, src, "prices")
    assert info.value.exit_code == 1
    assert "breaks its schema schemas/prices.yaml" in info.value.message
    assert any("price" in p and "-3.25" in p for p in info.value.problems)  # type: ignore[attr-defined]
    assert not (project.root / "data/prices.csv.dvc").exists()
    assert project.config_path.read_bytes() == config_before
    forced = data.add(project, src, "prices", force=True)
    assert forced.validated is False and forced.changed
    assert reopen(project).config.datasets["prices"].schema_ == "schemas/prices.yaml"


def test_add_validates_good_data_against_the_declared_schema(project: Project) -> None:
    pytest.importorskip("mlops_cli.validation.validate")
    write(project.root / "schemas/prices.yaml", SCHEMA.encode())
    src = write(project.root / "data/prices.csv", CSV)
    result = data.add(project, src, "prices")
    assert result.validated is True and result.schema == "schemas/prices.yaml"


def test_add_rejects_names_and_paths_that_clash(project: Project, tmp_path: Path) -> None:
    write(project.root / "data/a.csv", CSV)
    write(project.root / "data/b.csv", CSV)
    data.add(project, Path("data/a.csv"), "alpha")
    with pytest.raises(InputError, match=r"declared in mlops\.yaml with path data/a\.csv"):
        data.add(reopen(project), Path("data/b.csv"), "alpha")
    with pytest.raises(InputError, match="already declared as data set 'alpha'"):
        data.add(reopen(project), Path("data/a.csv"), "other")
    with pytest.raises(UsageError):
        data.add(reopen(project), Path("data/b.csv"), "9lives")
    outside = write(tmp_path / "outside.csv", CSV)
    with pytest.raises(Exception, match="outside") as info:
        data.add(reopen(project), outside)
    assert getattr(info.value, "exit_code", None) == 4


def test_add_of_a_path_that_was_not_pulled(project: Project, tmp_path: Path) -> None:
    write(project.root / "data/a.csv", CSV)
    data.add(project, Path("data/a.csv"), "a")
    project = committed(project)
    other = reopen(Project(clone(project.root, tmp_path / "clone"), project.config))
    with pytest.raises(InputError, match="not in the workspace") as info:
        data.add(other, Path("data/a.csv"))
    assert info.value.exit_code == 3 and info.value.hint == "run `mlops data pull`"


def test_add_of_a_pipeline_output_points_at_dvc_repro(project: Project) -> None:
    write(project.root / "dvc.yaml", b"stages:\n  prep:\n    cmd: cp a b\n    outs: [data/b.csv]\n")
    write(project.root / "data/b.csv", CSV)
    with pytest.raises(InputError, match=r"output of stage prep in dvc\.yaml") as info:
        data.add(project, Path("data/b.csv"))
    assert info.value.hint == "run `dvc repro` (or `dvc commit` after changing it by hand)"


def test_add_reads_a_declared_data_set_as_mlops_yaml_says(project: Project) -> None:
    write(project.root / "schemas/prices.yaml", SCHEMA.encode())
    src = write(project.root / "data/prices.csv", b"id;price\n1;10,5\n2;-3,25\n")
    import yaml

    config = yaml.safe_load(project.config_path.read_text())
    config.setdefault("datasets", {})["prices"] = {
        "path": "data/prices.csv",
        "schema": "schemas/prices.yaml",
        "delimiter": ";",
        "decimal": ",",
    }
    project.config_path.write_text(yaml.safe_dump(config))
    project = reopen(project)
    assert project.config.datasets["prices"].delimiter == ";"
    with pytest.raises(CheckFailed) as info:  # -3.25 read as a number, below 0
        data.add(project, src, "prices")
    assert any("price" in p and "-3.25" in p for p in info.value.problems)  # type: ignore[attr-defined]
    write(project.root / "data/prices.csv", b"id;price\n1;10,5\n2;3,25\n")
    assert data.add(project, src, "prices").validated is True


def test_a_folder_whose_cache_lost_a_file_object_is_added_again(project: Project) -> None:
    folder = project.root / "data/many"
    past = time.time() - 60
    for i in range(3):
        os.utime(write(folder / f"sub/f{i}.bin", b"x%d" % i), (past, past))
    data.add(project, folder)
    dvc_file = project.root / "data/many.dvc"
    before = dvc_file.stat().st_mtime_ns
    assert data.add(reopen(project), folder).changed is False
    assert dvc_file.stat().st_mtime_ns == before  # a no-op: every object was found
    lost = object_path(cache_dir(project.root), md5(folder / "sub/f1.bin"))
    lost.chmod(0o644)
    lost.unlink()
    again = data.add(reopen(project), folder)
    assert again.changed is False  # same content: DVC ran and put the object back
    assert lost.is_file()
