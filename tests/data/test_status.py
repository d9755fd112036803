"""data/status.py on real git + DVC projects: each data set's state against what DVC
recorded, folder hashes as DVC's, the pre-push check, and no DVC import for it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mlops_cli.common.errors import CheckFailed
from mlops_cli.data import datasets as data
from mlops_cli.project.root import Project
from tests.datarepo import (
    CSV,
    committed,
    dvc,
    md5,
    reopen,
    write,
)


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
