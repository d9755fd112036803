"""`mlops data diff` on a really trained project with two registered versions whose raw
data differs: each side is read by its recorded md5, the workspace untouched."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from mlops_cli.data.datadiff import diff_frames
from mlops_cli.project.root import open_project
from mlops_cli.registry.register import register
from tests.conftest import tree_bytes
from tests.modelproject import NAME, commit_all, copy_of, run, tool, trained

RAW = "data/raw/data.csv"


@pytest.fixture(scope="module")
def two_versions(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """v0.1.0; then 30 raw rows dropped, 10 duplicated and one value edited: v0.2.0."""
    root = copy_of(trained(tmp_path_factory), tmp_path_factory.mktemp("datadiff"))
    register(open_project(root), NAME, version="v0.1.0")
    frame = pl.read_csv(root / RAW)
    edited = frame.slice(30).with_columns(
        pl.when(pl.int_range(pl.len()) == 0)
        .then(pl.col("mean_radius") + 1)
        .otherwise(pl.col("mean_radius"))
        .alias("mean_radius")
    )
    pl.concat([edited, frame.slice(100, 10)]).write_csv(root / RAW)
    run([tool("dvc"), "add", "-q", RAW], root)
    run([tool("dvc"), "repro", "-q"], root)
    commit_all(root, "new raw data")
    register(open_project(root), NAME, version="v0.2.0")
    return root


@pytest.fixture
def project(two_versions: Path, tmp_path: Path) -> Path:
    return copy_of(two_versions, tmp_path)


def test_rows_and_columns_between_two_versions(mlops: Any, project: Path) -> None:
    before = tree_bytes(project)
    run_ = mlops(
        "-C", str(project), "data", "diff", "raw", f"{NAME}@v0.1.0", f"{NAME}@v0.2.0", "--json"
    )
    assert run_.exit_code == 0, run_.stderr
    doc = json.loads(run_.stdout)
    assert doc["command"] == "data diff" and doc["identical"] is False
    rows = doc["rows"]
    assert (rows["a"], rows["b"]) == (569, 549)
    # Whole rows (no key in the schema): 30 gone, 10 duplicates and the edited row new.
    assert doc["key"] is None
    assert (rows["removed"], rows["added"]) == (31, 11)
    radius = next(c for c in doc["columns"] if c["name"] == "mean_radius")
    assert radius["changed"] and radius["a"]["count"] == 569 and radius["b"]["count"] == 549
    assert tree_bytes(project) == before  # nothing written, the workspace untouched
    same = mlops("-C", str(project), "data", "diff", "raw", f"{NAME}@v0.1.0", f"{NAME}@v0.1.0")
    assert same.exit_code == 0 and "identical" in same.stdout + same.stderr
    differs = mlops(
        "-C", str(project), "data", "diff", "raw", f"{NAME}@v0.1.0", f"{NAME}@v0.2.0", "--exit-code"
    )  # fmt: skip
    assert differs.exit_code == 1


def test_by_key() -> None:
    a = pl.DataFrame({"id": [1, 2, 3, 4], "x": [1.0, 2.0, None, 4.0], "c": ["a", "b", "c", "d"]})
    b = pl.DataFrame({"id": [2, 3, 4, 5], "x": [2.0, None, 4.5, 5.0], "c": ["b", "c", "d", "e"]})
    doc = diff_frames(a, b, "id")
    assert {k: doc["rows"][k] for k in ("added", "removed", "changed", "same")} == {
        "added": 1, "removed": 1, "changed": 1, "same": 2,
    }  # fmt: skip
    x = next(c for c in doc["columns"] if c["name"] == "x")
    assert x["a"]["nulls"] == 1 and x["delta"]["count"] == 0
    c = next(c for c in doc["columns"] if c["name"] == "c")
    assert c["b"]["top"]["e"] == 1


def test_a_duplicated_key_and_bad_specs(mlops: Any, project: Path) -> None:
    dup = pl.DataFrame({"id": [1, 1], "x": [1, 2]})
    with pytest.raises(Exception, match="duplicate values"):
        diff_frames(dup, dup, "id")
    for args, message in (
        (["nope", f"{NAME}@v0.1.0", f"{NAME}@v0.2.0"], "records no data set"),
        (["raw", f"{NAME}@v9.9.9", f"{NAME}@v0.2.0"], "not registered"),
        (["raw", f"{NAME}@v0.1.0", f"{NAME}@v0.2.0", "--key", "nope"], "not in A"),
    ):
        bad = mlops("-C", str(project), "data", "diff", *args)
        assert bad.exit_code == 3, (args, bad.stderr)
        assert message in bad.stderr
