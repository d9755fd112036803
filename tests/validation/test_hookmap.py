"""validation/hookmap.py: which data sets the files pre-commit passes concern."""

from __future__ import annotations

from pathlib import Path

from mlops_cli.validation.hookmap import DatasetRef, datasets_for_files

REFS = {
    "raw": DatasetRef("data/raw/data.csv", "schemas/raw.yaml"),
    "train": DatasetRef("data/prepared/train.csv", "schemas/train.yaml"),
    "images": DatasetRef("data/images", "schemas/images.yaml"),
    "bare": DatasetRef("data/bare.csv", None),
}


def touched(root: Path, *files: str, cwd: Path | None = None) -> list[str]:
    return datasets_for_files(root, cwd or root, list(files), REFS)


def test_data_schema_and_config_files(tmp_path: Path) -> None:
    assert touched(tmp_path, "data/raw/data.csv") == ["raw"]
    assert touched(tmp_path, "schemas/train.yaml", "README.md") == ["train"]
    assert touched(tmp_path, "data/images/cat/1.parquet") == ["images"]
    assert touched(tmp_path, "mlops.yaml") == ["raw", "train", "images"]  # not `bare`: no schema
    assert touched(tmp_path, "data/bare.csv", "src/train.py") == []


def test_dvc_files_by_their_outs(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "raw.dvc").write_text("outs:\n- md5: abc\n  path: raw\n")
    assert touched(tmp_path, "data/raw.dvc") == ["raw"]  # a folder that holds the data set
    assert touched(tmp_path, "data/prepared/train.csv.dvc") == ["train"]  # unreadable: by name


def test_dvc_lock_by_its_stage_outs(tmp_path: Path) -> None:
    (tmp_path / "dvc.lock").write_text(
        "schema: '2.0'\nstages:\n  prepare:\n    cmd: python p.py\n    outs:\n"
        "    - path: data/prepared/train.csv\n      md5: x\n"
    )
    assert touched(tmp_path, "dvc.lock") == ["train"]


def test_paths_relative_to_a_git_root_above_the_project(tmp_path: Path) -> None:
    root = tmp_path / "ml"
    assert touched(root, "ml/schemas/raw.yaml", "other/schemas/raw.yaml", cwd=tmp_path) == ["raw"]


def test_a_hostile_dvc_file_is_refused_by_the_guarded_reader(tmp_path: Path) -> None:
    """A `.dvc` file is read by yamlio (libyaml fast path): a python tag runs nothing and a
    duplicate key is not silently collapsed; the file is then matched by its name only."""
    marker = tmp_path / "pwned"
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "x.dvc").write_text(
        f"outs:\n- path: !!python/object/apply:os.mkdir ['{marker}']\n"
    )
    assert touched(tmp_path, "data/x.dvc") == []
    assert not marker.exists()
    (tmp_path / "data" / "zzz.dvc").write_text("outs:\n- path: zzz\n  path: raw\n")
    assert touched(tmp_path, "data/zzz.dvc") == []  # PyYAML would keep the last, `raw`
