"""`mlops monitor drift` on a really trained, registered project: the reference is the data
the version was trained on, found by its recorded md5 (not the workspace's file)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from tests.conftest import tree_bytes
from tests.modelproject import NAME, copy_of, weak

DATA = "data/raw/data.csv"
TRAIN = "data/prepared/train.csv"  # what the pipeline trained v1.0.0 on: the reference


@pytest.fixture
def project(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Path:
    return copy_of(weak(tmp_path_factory), tmp_path)


def _batch(root: Path, dest: Path, shift: float) -> Path:
    """A batch like production's: the training rows without the target, every numeric
    column scaled by `1 + shift` (0: the same distribution)."""
    frame = pl.read_csv(root / DATA).drop("target")
    frame = frame.with_columns([(pl.col(c) * (1 + shift)).alias(c) for c in frame.columns])
    dest.parent.mkdir(parents=True, exist_ok=True)
    frame.sample(fraction=0.5, seed=1).write_csv(dest)
    return dest


def test_same_data_no_drift_then_a_drifted_batch_fails(mlops: Any, project: Path) -> None:
    same = _batch(project, project.parent / "batches" / "same.csv", 0.0)
    before = tree_bytes(project)
    ok = mlops(
        "-C", str(project), "monitor", "drift", f"{NAME}#prod", "--data", str(same), "--json"
    )
    assert ok.exit_code == 0, ok.stderr
    doc = json.loads(ok.stdout)
    assert (doc["command"], doc["version"], doc["dataset_drift"]) == (
        "monitor drift",
        "v1.0.0",
        False,
    )
    assert doc["reference"]["path"] == TRAIN
    assert doc["reference"]["rows"] == pl.read_csv(project / TRAIN).height
    assert "target" not in [c["column"] for c in doc["columns"]]
    assert {c["method"] for c in doc["columns"]} == {"ks"}  # under 1,000 rows, numeric
    assert tree_bytes(project) == before  # drift writes nothing

    drifted = _batch(project, project.parent / "batches" / "drifted.csv", 0.3)
    bad = mlops("-C", str(project), "monitor", "drift", f"{NAME}@v1.0.0", "--data", str(drifted))
    assert bad.exit_code == 1, bad.stdout + bad.stderr
    assert "data set drift" in bad.stdout + bad.stderr
    assert "retrain" in bad.stderr


def test_the_reference_is_the_recorded_data_not_the_workspace(mlops: Any, project: Path) -> None:
    """The workspace's training data changed after v1.0.0: the reference is still what it
    trained on (from the DVC cache), so that same changed data drifts."""
    changed = _batch(project, project.parent / "new.csv", 0.3)
    original = (project / TRAIN).read_bytes()
    shifted = pl.read_csv(project / TRAIN)
    shifted = shifted.with_columns(
        [(pl.col(c) * 1.3).alias(c) for c in shifted.columns if c != "target"]
    )
    shifted.write_csv(project / TRAIN)
    run = mlops("-C", str(project), "monitor", "drift", f"{NAME}#prod", "--data", str(changed))
    assert run.exit_code == 1, run.stdout + run.stderr
    # With neither the cache object nor a matching work-tree file, exit 3 says how to fetch.
    shutil.rmtree(project / ".dvc" / "cache")
    gone = mlops("-C", str(project), "monitor", "drift", f"{NAME}#prod", "--data", str(changed))
    assert gone.exit_code == 3, gone.stderr
    assert "neither in the DVC cache nor the work tree" in gone.stderr
    (project / TRAIN).write_bytes(original)  # the recorded bytes are back: usable again
    back = mlops("-C", str(project), "monitor", "drift", f"{NAME}#prod", "--data", str(changed))
    assert back.exit_code == 1, back.stderr


def test_a_prediction_log_folder_is_current_data(mlops: Any, project: Path) -> None:
    frame = pl.read_csv(project / DATA).drop("target").head(200)
    logs = project.parent / "logs"
    logs.mkdir()
    with (logs / "predictions-host-1-000001.jsonl").open("w") as fh:
        for row in frame.iter_rows(named=True):
            line = {"timestamp": "t", "model": NAME, "version": "v1.0.0", "inputs": row}
            fh.write(json.dumps({**line, "prediction": 1}) + "\n")
    (logs / "notes.txt").write_text("not data")
    run = mlops(
        "-C", str(project), "monitor", "drift", f"{NAME}#prod", "--data", str(logs), "--json"
    )
    assert run.exit_code == 0, run.stderr
    doc = json.loads(run.stdout)
    assert doc["current"]["rows"] == 200 and len(doc["current"]["files"]) == 1


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["nope#prod", "--data", "x.csv"], 3, "nope"),
        ([f"{NAME}#staging", "--data", DATA], 3, "no version of churn is in stage"),
        ([f"{NAME}#prod", "--data", "missing.csv"], 3, "no such file"),
        ([f"{NAME}#prod", "--data", DATA, "--method", "mean_radius=magic"], 2, "choose one of"),
        ([f"{NAME}#prod", "--data", DATA, "--columns", "nope"], 2, "not in the reference"),
        ([f"{NAME}#prod", "--data", DATA, "--reference", "nope"], 3, "records no data set"),
    ],
)
def test_bad_input(mlops: Any, project: Path, args: list[str], code: int, message: str) -> None:
    run = mlops("-C", str(project), "monitor", "drift", *args)
    assert run.exit_code == code, run.stderr
    assert message in run.stderr


def test_html_report_and_json_name_it(mlops: Any, project: Path) -> None:
    drifted = _batch(project, project.parent / "batch.csv", 0.3)
    out = project.parent / "reports" / "drift.html"
    run = mlops(
        "-C", str(project), "monitor", "drift", f"{NAME}#prod", "--data", str(drifted),
        "--html", str(out), "--json",
    )  # fmt: skip
    assert run.exit_code == 1, run.stderr
    assert json.loads(run.stdout)["html"] == str(out)
    page = out.read_text()
    assert page.startswith("<!doctype html>") and "Data set drift" in page
    assert page.count("<svg") == len(json.loads(run.stdout)["columns"])


def test_recorded_drift_makes_the_stage_stale_until_a_retrained_version_replaces_it(
    mlops: Any, project: Path
) -> None:
    """The loop: a drifted batch recorded against prod's version fails `status --check`
    with the fix; a version retrained, registered, tested and promoted clears it."""
    from tests.modelproject import commit_all, tool
    from tests.modelproject import run as run_in_project

    before = mlops("-C", str(project), "status", "--check")
    drifted = _batch(project, project.parent / "batch.csv", 0.3)
    run = mlops(
        "-C", str(project), "monitor", "drift", f"{NAME}#prod", "--data", str(drifted),
        "--record", "--json",
    )  # fmt: skip
    assert run.exit_code == 1 and json.loads(run.stdout)["recorded"] is True, run.stderr
    log = subprocess.run(
        ["git", "-C", str(project), "log", "-1", "--format=%s"], capture_output=True, text=True
    ).stdout
    assert log.strip() == f"mlops: record drift of {NAME}@v1.0.0 (data set drift)"
    stale = mlops("-C", str(project), "status", "--check", "--json")
    assert stale.exit_code == 1, stale.stdout
    findings = [f for f in json.loads(stale.stdout)["findings"] if "drift" in f["problem"]]
    assert findings and findings[0]["subject"] == f"{NAME}#prod"
    assert "retrain" in findings[0]["fix"]
    # Retrain (the workspace model is the weak one: train a good one again), register,
    # test, promote: the new prod version has no recorded drift.
    params = project / "params.yaml"
    params.write_text(params.read_text().replace("C: 0.0001", "C: 1.0", 1))
    run_in_project([tool("dvc"), "repro", "-q"], project, None)
    commit_all(project, "retrain on current data", None)
    for args in (
        ["model", "register", NAME, "--version", "v2.0.0"],
        ["test", f"{NAME}@v2.0.0", "--record"],
        ["model", "promote", NAME, "v2.0.0", "prod"],
    ):
        step = mlops("-C", str(project), *args)
        assert step.exit_code == 0, (args, step.stderr)
    after = mlops("-C", str(project), "status", "--check", "--json")
    assert not [f for f in json.loads(after.stdout)["findings"] if "drift" in f["problem"]]
    assert after.exit_code == before.exit_code, after.stdout
