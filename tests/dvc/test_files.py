"""DVC's formats read without DVC, and DVC's md5 with a stat cache."""

from __future__ import annotations

import os
import time
from pathlib import Path

from mlops_cli.dvc.files import (
    Hasher,
    object_path,
    outputs_covering,
    parse_outputs,
    pipeline_stage,
)

DVC_FILE = """\
outs:
- md5: 5267bc0ec52f589e2e4f1343eecccf5b
  size: 5000000
  hash: md5
  path: blob.bin
- md5: 849835d274483dc683eb416d6e4f887d.dir
  size: 4
  nfiles: 2
  path: ../dir
  cache: false
"""

LOCK = """\
schema: '2.0'
stages:
  prepare:
    cmd: python prepare.py
    outs:
    - path: data/train.csv
      hash: md5
      md5: 0f343b0931126a20f133d67c2b018a3b
      size: 10
"""


def test_parse_a_dvc_file_relative_to_its_folder() -> None:
    blob, folder = parse_outputs(DVC_FILE, "data/raw/blob.bin.dvc", "data/raw")
    assert (blob.path, blob.size, blob.legacy, blob.pushable) == (
        "data/raw/blob.bin",
        5000000,
        False,
        True,
    )
    assert folder.path == "data/dir" and folder.is_dir and folder.nfiles == 2
    assert folder.legacy and not folder.pushable  # no `hash: md5` (DVC 2), and cache: false


def test_parse_dvc_lock_names_the_stage() -> None:
    (out,) = parse_outputs(LOCK, "dvc.lock", ".")
    assert (out.path, out.source, out.md5) == (
        "data/train.csv",
        "dvc.lock:prepare",
        "0f343b0931126a20f133d67c2b018a3b",
    )


def test_outputs_covering_finds_parent_folders_and_locks(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data/images.dvc").write_text(
        "outs:\n- md5: abc.dir\n  hash: md5\n  path: images\n"
    )
    (tmp_path / "dvc.lock").write_text(LOCK)
    assert [o.source for o in outputs_covering(tmp_path, "data/images/cat.png")] == [
        "data/images.dvc"
    ]
    assert [o.path for o in outputs_covering(tmp_path, "data/train.csv")] == ["data/train.csv"]
    assert outputs_covering(tmp_path, "data/other.csv") == []


def test_object_path_layout(tmp_path: Path) -> None:
    assert object_path(tmp_path, "ab12") == tmp_path / "files/md5/ab/12"
    assert object_path(tmp_path, "ab12", legacy=True) == tmp_path / "ab/12"


def test_hasher_reads_an_unchanged_file_once(tmp_path: Path) -> None:
    data = tmp_path / "a.bin"
    data.write_bytes(b"x" * 1000)
    old = time.time() - 60
    os.utime(data, (old, old))
    with Hasher(tmp_path) as hasher:
        first = hasher.digest(data)
        assert hasher.read_bytes == 1000
    with Hasher(tmp_path) as hasher:
        assert hasher.digest(data) == first and hasher.read_bytes == 0
        assert hasher.cached_digest(data) == first
    data.write_bytes(b"y" * 1000)  # same size, new mtime: read again
    with Hasher(tmp_path) as hasher:
        assert hasher.cached_digest(data) is None
        assert hasher.digest(data).md5 != first.md5 and hasher.read_bytes == 1000


def test_a_file_written_just_now_is_not_remembered(tmp_path: Path) -> None:
    data = tmp_path / "a.bin"
    data.write_bytes(b"fresh")
    with Hasher(tmp_path) as hasher:
        hasher.digest(data)
    with Hasher(tmp_path) as hasher:
        assert hasher.cached_digest(data) is None  # racily clean: could change unnoticed


def test_folder_digest_is_dvcs(tmp_path: Path) -> None:
    folder = tmp_path / "dir"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("a\n")
    (folder / "sub" / "b.txt").write_text("b\n")
    with Hasher(tmp_path) as hasher:
        digest = hasher.digest(folder)
    # The value DVC 3 wrote for this very folder (see `dvc add` of a/ and sub/b.txt).
    assert digest.md5 == "849835d274483dc683eb416d6e4f887d.dir"
    assert (digest.size, digest.nfiles) == (4, 2)


def test_pipeline_stage_of_a_declared_output(tmp_path: Path) -> None:
    (tmp_path / "dvc.yaml").write_text(
        "stages:\n  prepare:\n    cmd: python p.py\n    outs:\n"
        "    - data/prepared/train.csv\n    - data/models:\n        cache: true\n"
    )
    assert pipeline_stage(tmp_path, "data/prepared/train.csv") == "prepare"
    assert pipeline_stage(tmp_path, "data/models/m.bin") == "prepare"
    assert pipeline_stage(tmp_path, "data/raw.csv") is None


PIPELINE_LOCK = """\
schema: '2.0'
stages:
  prepare:
    cmd: python prepare.py
    deps:
    - path: data/raw.csv
      md5: aaa
    - path: ./prepare.py
      md5: bbb
    outs:
    - path: data/train.csv
      md5: ccc
  train:
    cmd: python train.py
    deps:
    - path: data/train.csv
      md5: ccc
    - path: train.py
      md5: ddd
    params:
      params.yaml:
        seed: 7
        depth: 3
    outs:
    - path: models/model.skops
      md5: eee
"""


def test_lock_stages_producer_deps_params_and_upstream() -> None:
    from mlops_cli.common.yamlio import parse_yaml
    from mlops_cli.dvc.files import Lock

    lock = Lock(parse_yaml(PIPELINE_LOCK.encode(), "dvc.lock").data)
    found = lock.producer("models/model.skops")
    assert found is not None
    assert (found[0], found[1].md5, found[1].source) == ("train", "eee", "dvc.lock:train")
    assert lock.producer("data/raw.csv") is None
    assert lock.deps("prepare") == {"data/raw.csv": "aaa", "prepare.py": "bbb"}  # ./ dropped
    assert lock.params("train") == {"seed": 7, "depth": 3}  # one params file: its values
    assert lock.params("prepare") == {}
    assert lock.upstream("train") == ["train", "prepare"]
    assert [o.path for o in lock.outputs()] == ["data/train.csv", "models/model.skops"]
    assert Lock(None).stages == {} and Lock({"stages": [1]}).outputs() == []


def test_lock_params_by_file_when_there_are_several() -> None:
    from mlops_cli.dvc.files import Lock

    lock = Lock({"stages": {"s": {"params": {"a.yaml": {"x": 1}, "b.yaml": {"y": 2}}}}})
    assert lock.params("s") == {"a.yaml": {"x": 1}, "b.yaml": {"y": 2}}


def test_dvc_files_are_read_through_the_guarded_reader(tmp_path: Path) -> None:
    """A hostile clone's `.dvc` file or `dvc.lock`: tags refused, duplicates refused, bombs
    refused, each a ConfigError naming the file, and nothing executed."""
    import pytest

    from mlops_cli.common.errors import ConfigError

    marker = tmp_path / "pwned"
    hostile = {
        "the tag .* is not allowed": (
            f"outs:\n- path: !!python/object/apply:os.mkdir ['{marker}']\n"
        ),
        "duplicate key 'md5'": "outs:\n- path: a.csv\n  md5: x\n  md5: y\n",
        "alias bomb": "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
        + "".join(
            f"{c}: &{c} [{', '.join([f'*{p}'] * 10)}]\n"
            for p, c in zip("abcd", "bcde", strict=True)
        )
        + "outs: [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n",
    }
    for why, text in hostile.items():
        with pytest.raises(ConfigError, match=rf"^data/x\.csv\.dvc:\d+:\d+: .*{why}"):
            parse_outputs(text, "data/x.csv.dvc", "data")
        in_lock = "stages:\n  s:\n" + "".join(f"    {line}\n" for line in text.splitlines())
        with pytest.raises(ConfigError, match=rf"^dvc\.lock:\d+:\d+: .*{why}"):
            parse_outputs(in_lock, "dvc.lock", ".")
        assert not marker.exists(), why
    # pipeline_stage skips a dvc.yaml it may not read, as it skips one it cannot
    (tmp_path / "dvc.yaml").write_text(
        "stages:\n  s:\n    outs: [out.csv]\n    outs: [other.csv]\n"
    )
    assert pipeline_stage(tmp_path, "out.csv") is None
