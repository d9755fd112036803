"""registry/lineage.py: the hashes DVC would compute, row counts, and `capture` on a really
trained project: what a version is made of, and one refusal naming every file that differs
from its commit."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from mlops_cli.common.errors import InputError
from mlops_cli.project.root import open_project
from mlops_cli.registry import lineage
from mlops_cli.registry.lineage import capture, count_rows, digests, dvc_hash
from tests.modelproject import NAME, git


def test_digests_in_one_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lineage, "_CHUNK", 4)  # a CR at a chunk's end, its LF in the next
    text = b"a,b\r\n1,2\r\n3\r\n"
    path = tmp_path / "t.csv"
    path.write_bytes(text)
    d = digests(path)
    assert d.sha256 == hashlib.sha256(text).hexdigest()
    assert d.md5 == hashlib.md5(text).hexdigest()
    assert d.md5_unix == hashlib.md5(text.replace(b"\r\n", b"\n")).hexdigest()
    assert d.bytes == len(text)
    binary = tmp_path / "b.bin"
    binary.write_bytes(b"\r\n\0\r\n")
    assert digests(binary).md5_unix == digests(binary).md5  # binary: no dos2unix


def test_dvc_hash_is_dvcs(tmp_path: Path) -> None:
    """The same md5 (file) and `.dir` md5 (folder) that `dvc add` writes."""
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    folder = tmp_path / "images"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("a\n")
    (folder / "sub" / "b.txt").write_text("b\n")
    (tmp_path / "one.csv").write_text("x\n1\n")
    dvc = str(Path(sys.executable).with_name("dvc"))
    for args in (["init", "-q"], ["add", "-q", "images", "one.csv"]):
        subprocess.run([dvc, *args], cwd=tmp_path, check=True, capture_output=True)
    for name in ("images", "one.csv"):
        written = (tmp_path / f"{name}.dvc").read_text()
        assert f"md5: {dvc_hash(tmp_path / name)}" in written, written
    assert dvc_hash(tmp_path / "missing") is None


def test_count_rows(tmp_path: Path) -> None:
    import polars as pl

    (tmp_path / "a.csv").write_text("h\n1\n2\n3")  # no final newline
    (tmp_path / "b.tsv").write_text("h\n1\n")
    (tmp_path / "c.csv").write_text("h\n")
    pl.DataFrame({"a": range(7)}).write_parquet(tmp_path / "d.parquet")
    (tmp_path / "e.json").write_text("[]")
    assert [count_rows(tmp_path / n) for n in ("a.csv", "b.tsv", "c.csv", "d.parquet")] == [
        3,
        1,
        0,
        7,
    ]
    assert count_rows(tmp_path / "e.json") is None


def test_capture_of_a_committed_model(project: Path) -> None:
    found = capture(open_project(project), NAME)
    assert found.commit == git(project, "rev-parse", "HEAD")
    assert found.stage == "train"
    art = found.artifact
    assert art["path"] == "models/model.skops" and art["format"] == "skops"
    assert art["sha256"] == digests(project / art["path"]).sha256
    lock = (project / "dvc.lock").read_text()
    assert f"md5: {art['dvc_md5']}" in lock  # the hash DVC committed for the output
    assert found.data  # the data sets it was trained on, each with its committed hash
    for entry in found.data.values():
        assert entry["md5"] == dvc_hash(project / entry["path"])
    assert found.params and "scikit-learn" in json.dumps(found.environment)


def test_capture_names_every_file_that_differs(project: Path) -> None:
    model = project / "models" / "model.skops"
    model.write_bytes(model.read_bytes() + b"\0")
    params = project / "params.yaml"
    params.write_text(params.read_text() + "\n# edited\n")
    with pytest.raises(InputError) as info:
        capture(open_project(project), NAME)
    message = info.value.message
    assert "models/model.skops" in message and "params.yaml" in message
