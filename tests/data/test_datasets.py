"""`data.datasets` on real git + DVC projects with the local default remote `mlops init` makes."""

from __future__ import annotations

import os
import subprocess
import sys
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
    dvc,
    git,
    md5,
    new_project,
    remote_dir,
    remote_object,
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


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    monkeypatch.setenv("MLOPS_REMOTES_DIR", str(tmp_path / "remotes"))
    return new_project(tmp_path / "proj")


def committed(project: Project, message: str = "data") -> Project:
    git(project.root, "commit", "-qm", message)
    return reopen(project)


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


def test_push_clone_pull_round_trip(project: Project, tmp_path: Path) -> None:
    src = write(project.root / "data/raw/customers.csv", CSV)
    data.add(project, src, "customers")
    project = committed(project)
    pushed = data.push(project)
    assert pushed.remote == "local" and pushed.pushed == 1
    assert remote_object(project.root, md5(src)).read_bytes() == CSV
    assert data.push(project).pushed == 0

    other = reopen(Project(clone(project.root, tmp_path / "clone"), project.config))
    (before,) = data.status(other)
    assert before.state == "missing" and before.hint == "run `mlops data pull`"
    pulled = data.pull(other)
    assert pulled.fetched == 1 and pulled.added == ["data/raw/customers.csv"]
    assert (other.root / "data/raw/customers.csv").read_bytes() == CSV
    (after,) = data.status(other, remote=True)
    assert (after.state, after.in_cache, after.dvc_file, after.on_remote) == (
        "ok",
        True,
        "committed",
        True,
    )


@pytest.mark.parametrize("mode", [0o444, 0o644], ids=["bit-rot", "rewritten"])
def test_pull_of_a_corrupt_object_fails_and_keeps_the_workspace(
    project: Project, tmp_path: Path, mode: int
) -> None:
    src = write(project.root / "data/a.csv", CSV)
    data.add(project, src, "a")
    project = committed(project)
    data.push(project)
    other = reopen(Project(clone(project.root, tmp_path / "clone"), project.config))
    data.pull(other)
    # Version 2 is pushed, then damaged on the remote; the clone has version 1 checked out.
    v2 = CSV + b"4,99.0\n"
    write(src, v2)
    data.add(reopen(project), src)
    project = committed(project, "v2")
    data.push(project)
    damaged = remote_object(project.root, md5(src))
    damaged.chmod(0o644)
    damaged.write_bytes(v2.replace(b"99.0", b"66.6"))
    damaged.chmod(mode)  # DVC trusts a read-only (0444) object on a local remote unread
    git(other.root, "pull", "-q")
    with pytest.raises(InputError) as info:
        data.pull(reopen(other))
    assert info.value.exit_code == 3
    assert "hash verification failed for data/a.csv" in info.value.message
    assert info.value.hint is not None and "mlops data push" in info.value.hint
    assert (other.root / "data/a.csv").read_bytes() == CSV  # version 1, untouched
    assert not object_path(cache_dir(other.root), md5(src)).exists()  # not kept in the cache


def test_pull_names_objects_missing_from_the_remote(project: Project, tmp_path: Path) -> None:
    write(project.root / "data/a.csv", CSV)
    data.add(project, Path("data/a.csv"))
    project = committed(project)
    other = reopen(Project(clone(project.root, tmp_path / "clone"), project.config))
    with pytest.raises(InputError, match=r"data/a.csv: not on remote local") as info:
        data.pull(other)
    assert info.value.hint == "run `mlops data push` in the clone that has this data"


def test_add_of_a_path_that_was_not_pulled(project: Project, tmp_path: Path) -> None:
    write(project.root / "data/a.csv", CSV)
    data.add(project, Path("data/a.csv"), "a")
    project = committed(project)
    other = reopen(Project(clone(project.root, tmp_path / "clone"), project.config))
    with pytest.raises(InputError, match="not in the workspace") as info:
        data.add(other, Path("data/a.csv"))
    assert info.value.exit_code == 3 and info.value.hint == "run `mlops data pull`"


def test_status_states(project: Project) -> None:
    src = write(project.root / "data/a.csv", CSV)
    data.add(project, src, "a")
    project = committed(project)
    (row,) = data.status(project)
    assert (row.state, row.md5, row.workspace_md5, row.dvc_file) == (
        "ok",
        md5(src),
        md5(src),
        "committed",
    )
    write(src, CSV + b"5,5.0\n")
    (row,) = data.status(project)
    assert row.state == "modified"
    assert row.hint == "run `mlops data add data/a.csv` to version the change"
    text = project.config_path.read_text()
    line = "    path: data/a.csv\n"
    project.config_path.write_text(text.replace(line, line + "  b:\n    path: data/b.csv\n", 1))
    rows = {r.dataset: r for r in data.status(reopen(project))}
    assert rows["b"].state == "untracked" and rows["b"].hint == "run `mlops data add data/b.csv`"
    src.unlink()
    rows = {r.dataset: r for r in data.status(reopen(project))}
    assert rows["a"].state == "missing" and rows["a"].in_cache is True


def test_folder_data_set_hash_matches_dvc(project: Project) -> None:
    folder = project.root / "data/images"
    for i in range(5):
        write(folder / f"class{i % 2}" / f"img{i}.bin", bytes([i]) * (100 + i))
    write(folder / "labels.csv", CSV)
    result = data.add(project, folder, "images")
    assert result.md5.endswith(".dir") and result.nfiles == 6
    (row,) = data.status(reopen(project))
    assert row.state == "ok" and row.workspace_md5 == result.md5
    write(folder / "class0" / "img0.bin", b"changed")
    (row,) = data.status(reopen(project))
    assert row.state == "modified"
    assert "modified" in dvc(project.root, "status", "data/images.dvc").stdout  # DVC agrees


def test_check_pushed_blocks_until_the_data_is_pushed(project: Project) -> None:
    write(project.root / "data/a.csv", CSV)
    data.add(project, Path("data/a.csv"), "a")
    project = committed(project)
    with pytest.raises(CheckFailed) as info:
        data.check_pushed(project, None, "HEAD")
    assert info.value.exit_code == 1 and info.value.hint == "run `mlops data push`, then push again"
    assert "data/a.csv" in info.value.message
    data.push(project)
    ok = data.check_pushed(project, None, "HEAD")
    assert (ok.objects, ok.missing) == (1, [])
    # Only the commits in the range count: an old, unpushed version outside it does not.
    write(project.root / "data/a.csv", CSV + b"9,9.0\n")
    data.add(project, Path("data/a.csv"))
    project = committed(project, "v2")
    with pytest.raises(CheckFailed):
        data.check_pushed(project, "HEAD~1", "HEAD")
    data.push(project)
    assert data.check_pushed(project, "HEAD~1", "HEAD").objects == 1
    assert data.check_pushed(project, "HEAD", "HEAD").objects == 0


def test_status_does_not_import_dvc(project: Project) -> None:
    src = write(project.root / "data/a.csv", CSV)
    data.add(project, src, "a")
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from mlops_cli.data.datasets import status\n"
        "from mlops_cli.project.root import open_project\n"
        f"rows = status(open_project(Path({str(project.root)!r})))\n"
        "assert rows[0].state == 'ok', rows\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] in ('dvc', 'dvc_data', 'pandas')]\n"
        "print(heavy)\n"
    )  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


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
