"""`mlops model diff` on a really trained project with three registered, tested versions:
v0.1.0 (C=1.0, in prod), v0.2.0 (C=0.5, an image recorded) and v0.3.0 (C=1e-4, much
worse on the test data). Everything is read from the committed records; nothing is written."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mlops_cli.modeltest.checks import LOWER_IS_BETTER
from mlops_cli.project.config import NoRegression
from mlops_cli.project.root import open_project
from mlops_cli.registry import diff as regdiff
from mlops_cli.registry import records as registry
from mlops_cli.registry.records import VersionRecord
from tests.conftest import mlops_bin, tree_bytes
from tests.modelproject import NAME, build_env, copy_of, retrain, run, trained

DIGEST = "sha256:" + "2" * 64
IMAGE = {"ref": f"127.0.0.1:5000/{NAME}:v0.2.0", "digest": DIGEST, "pushed": True, "size": 1234}


@pytest.fixture(scope="module")
def registered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("diff")
    env = build_env(base / "home")
    root = copy_of(trained(tmp_path_factory), base)

    def mlops(*args: str, ok: bool = True) -> None:
        if ok:
            run([*mlops_bin(), *args], root, env)
        else:  # a failing `mlops test --record` still records its results
            import subprocess

            proc = subprocess.run([*mlops_bin(), *args], cwd=root, env=env, capture_output=True)
            assert proc.returncode == 1, proc.stderr

    mlops("model", "register", NAME, "--version", "v0.1.0")
    mlops("test", f"{NAME}@v0.1.0", "--record")
    mlops("model", "promote", NAME, "v0.1.0", "prod")
    retrain(root, 0.5, env)
    mlops("model", "register", NAME, "--version", "v0.2.0")
    mlops("test", f"{NAME}@v0.2.0", "--record")
    registry.add_images(open_project(root), NAME, "v0.2.0", [IMAGE])
    params = root / "params.yaml"  # retrain() edits the first model's C: 1.0
    params.write_text(params.read_text().replace("  C: 0.5 ", "  C: 1.0 ", 1))
    retrain(root, 0.0001, env)
    mlops("model", "register", NAME, "--version", "v0.3.0")
    mlops("test", f"{NAME}@v0.3.0", "--record", ok=False)
    return root


@pytest.fixture
def project(registered: Path, tmp_path: Path) -> Path:
    return copy_of(registered, tmp_path)


def _doc(mlops: Any, root: Path, *args: str, code: int = 0) -> dict[str, Any]:
    done = mlops("-C", str(root), "model", "diff", *args, "--json")
    assert done.exit_code == code, done.stderr
    doc: dict[str, Any] = json.loads(done.stdout)
    return doc


def _by_name(rows: list[dict[str, Any]], source: str | None = None) -> dict[str, Any]:
    return {r["name"]: r for r in rows if source is None or r.get("source") == source}


def test_two_versions_side_by_side_and_nothing_written(mlops: Any, project: Path) -> None:
    before = tree_bytes(project)
    doc = _doc(mlops, project, f"{NAME}@v0.1.0", f"{NAME}@v0.2.0")
    assert tree_bytes(project) == before  # no record cache, no artifact copy, no git index
    assert doc["command"] == "model diff" and doc["schema_version"] == 1
    a, b = (registry.load_record(open_project(project), NAME, v) for v in ("v0.1.0", "v0.2.0"))
    assert (doc["a"]["version"], doc["b"]["version"]) == ("v0.1.0", "v0.2.0")
    assert doc["a"]["stages"] == ["prod"] and doc["b"]["stages"] == []
    assert doc["artifact"]["a"]["sha256"] == a.artifact["sha256"]
    assert doc["artifact"]["b"]["sha256"] == b.artifact["sha256"] != a.artifact["sha256"]

    param = _by_name(doc["params"])["train.C"]
    assert (param["a"], param["b"], param["delta"], param["changed"]) == (1.0, 0.5, -0.5, True)
    assert _by_name(doc["params"])["train.max_iter"]["changed"] is False

    recorded = _by_name(doc["metrics"], "record")["cv_accuracy"]
    assert (recorded["a"], recorded["b"]) == (a.metrics["cv_accuracy"], b.metrics["cv_accuracy"])
    assert recorded["tolerance"] is None and recorded["past_tolerance"] is None
    tested = _by_name(doc["metrics"], "tests")["accuracy"]  # no_regression: accuracy, f1, 0.02
    assert tested["tolerance"] == 0.02 and tested["past_tolerance"] is False
    assert _by_name(doc["metrics"], "tests")["roc_auc"]["tolerance"] is None
    assert doc["past_tolerance"] == []

    data = _by_name(doc["data"])
    assert set(data) == set(a.data) and data["raw"]["changed"] is False
    assert data["raw"]["a"]["md5"] == a.data["raw"]["md5"] and data["raw"]["a"]["rows"] > 0
    assert data["raw"]["rows_delta"] == 0
    assert doc["environment"]["changed"] is False
    assert {p["change"] for p in doc["environment"]["packages"]} == {"unchanged"}

    assert doc["tests"]["a"]["passed"] is True and doc["tests"]["b"]["passed"] is True
    assert doc["images"]["a"] == [] and doc["images"]["b"] == [IMAGE]
    assert set(doc["changed"]) == {"artifact", "params", "metrics", "images"}


def test_a_stage_resolves_to_its_version(mlops: Any, project: Path) -> None:
    doc = _doc(mlops, project, f"{NAME}#prod", f"{NAME}@latest")
    assert (doc["a"]["version"], doc["b"]["version"]) == ("v0.1.0", "v0.3.0")
    assert doc["a"]["spec"] == f"{NAME}#prod"


def test_a_metric_past_its_tolerance_fails_only_with_exit_code(mlops: Any, project: Path) -> None:
    doc = _doc(mlops, project, f"{NAME}#prod", f"{NAME}@v0.3.0")
    assert doc["past_tolerance"] == ["accuracy", "f1"] and "error" not in doc
    accuracy = _by_name(doc["metrics"], "tests")["accuracy"]
    assert accuracy["b"] < accuracy["a"] - 0.02 and accuracy["past_tolerance"] is True
    assert doc["tests"]["b"]["passed"] is False and doc["tests"]["b"]["failed"]
    assert "tests" in doc["changed"]

    doc = _doc(mlops, project, f"{NAME}#prod", f"{NAME}@v0.3.0", "--exit-code", code=1)
    assert doc["error"]["kind"] == "check_failed" and "accuracy, f1" in doc["error"]["message"]
    # The other way round B is better: an improvement is never past the tolerance.
    doc = _doc(mlops, project, f"{NAME}@v0.3.0", f"{NAME}#prod", "--exit-code")
    assert doc["past_tolerance"] == []


def test_the_workspace_is_what_register_would_record(mlops: Any, project: Path) -> None:
    before = tree_bytes(project)  # a fresh copy: git status would refresh .git/index
    doc = _doc(mlops, project, f"{NAME}@v0.3.0", NAME)
    assert tree_bytes(project) == before
    assert doc["b"]["workspace"] is True and doc["b"]["version"] is None
    assert doc["artifact"]["changed"] is False and doc["warnings"] == []
    assert doc["tests"]["b"] is None and doc["images"]["b"] == []
    assert "params" not in doc["changed"] and "data" not in doc["changed"]

    model = project / "models" / "model.skops"
    model.write_bytes(model.read_bytes() + b"\0")  # not what DVC committed
    before = tree_bytes(project)
    doc = _doc(mlops, project, f"{NAME}@v0.3.0", f"{NAME}@workspace")
    assert tree_bytes(project) == before
    assert doc["artifact"]["changed"] is True
    assert doc["artifact"]["bytes_delta"] == 1
    assert any("models/model.skops" in w for w in doc["warnings"]), doc["warnings"]

    raw = project / "data" / "raw" / "data.csv"
    raw.write_text(raw.read_text() + raw.read_text().splitlines()[-1] + "\n")  # one more row
    doc = _doc(mlops, project, f"{NAME}@v0.3.0", NAME)
    entry = _by_name(doc["data"])["raw"]
    assert entry["changed"] is True and entry["rows_delta"] == 1
    assert entry["b"]["md5"] != entry["a"]["md5"]
    assert any("data/raw/data.csv" in w for w in doc["warnings"]), doc["warnings"]


@pytest.mark.parametrize(
    ("spec", "said"),
    [
        (f"{NAME}@v9.9.9", "churn@v9.9.9 is not registered (versions: v0.3.0, v0.2.0, v0.1.0)"),
        (f"{NAME}#staging", "no version of churn is in stage 'staging'"),
        ("nope@v0.1.0", "no model 'nope'"),
    ],
)
def test_a_spec_that_names_nothing_exits_3(mlops: Any, project: Path, spec: str, said: str) -> None:
    done = mlops("-C", str(project), "model", "diff", f"{NAME}@v0.1.0", spec)
    assert done.exit_code == 3, done.stderr
    assert said in done.stderr and done.stdout == ""


def test_markdown_for_a_pull_request(mlops: Any, project: Path) -> None:
    done = mlops("-C", str(project), "model", "diff", f"{NAME}#prod", f"{NAME}@v0.3.0", "--md")
    assert done.exit_code == 0, done.stderr
    text = done.stdout
    assert text.startswith(f"### `{NAME}@v0.1.0 [prod]` → `{NAME}@v0.3.0`")
    assert "**Past tolerance:** accuracy, f1" in text
    assert "| param | churn@v0.1.0 [prod] | churn@v0.3.0 | delta |" in text
    assert "| train.C | 1 | 0.0001 | -0.9999 |" in text
    assert "| accuracy (test data) |" in text and "PAST 0.02 (higher is better)" in text
    rows = [line for line in text.splitlines() if line.startswith("|")]
    assert all(line.endswith("|") for line in rows)
    assert "train.max_iter" not in text  # unchanged params are left out
    assert "**images**: no change" in text


def test_the_terminal_table(mlops: Any, project: Path) -> None:
    done = mlops("-C", str(project), "model", "diff", f"{NAME}@v0.1.0", f"{NAME}@v0.2.0")
    assert done.exit_code == 0, done.stderr
    out = done.stdout
    assert "churn@v0.1.0 [prod] -> churn@v0.2.0" in out
    assert "train.C" in out and "-0.5" in out
    assert "environment: no change" in out
    assert "sha256:222222222222 (1234 bytes)" in out

    strict = ("model", "diff", f"{NAME}#prod", f"{NAME}@v0.3.0", "--exit-code")
    done = mlops("-C", str(project), *strict)
    assert done.exit_code == 1 and "PAST 0.02" in done.stdout  # the table, then the verdict
    assert "moved past the tolerance on accuracy, f1" in done.stderr
    both = mlops("-C", str(project), *strict, "--md", "--json")
    assert both.exit_code == 2 and json.loads(both.stdout)["error"]["kind"] == "usage"


def test_lower_is_better_mirrors_modeltest() -> None:
    assert regdiff.LOWER_IS_BETTER == LOWER_IS_BETTER


def _record(metrics: dict[str, Any]) -> VersionRecord:
    return VersionRecord("m", "v1.0.0", "now", {}, {}, metrics=metrics)


@pytest.mark.parametrize(
    ("a", "b", "past"),
    [
        (0.30, 0.35, False),  # rmse up by exactly the tolerance: within
        (0.30, 0.36, True),  # up by more: past
        (0.30, 0.10, False),  # down (better) by a lot: never past
    ],
)
def test_an_error_metric_is_past_its_tolerance_when_it_grows(
    a: float, b: float, past: bool
) -> None:
    rule = NoRegression(stage="prod", metrics=["rmse"], tolerance=0.05)
    rows = regdiff.metric_rows(rule, _record({"val": {"rmse": a}}), _record({"val": {"rmse": b}}))
    (row,) = rows
    assert (row["name"], row["better"], row["past_tolerance"]) == ("val.rmse", "lower", past)


def _side(version: str, **fields: Any) -> regdiff.Side:
    base: dict[str, Any] = {
        "artifact": {"sha256": "a" * 64, "bytes": 10},
        "environment": {"python": "3.11.7", "packages": {"numpy": "2.0.0", "scipy": "1.13.0"}},
        "data": {"raw": {"path": "data/raw.csv", "md5": "1" * 32, "rows": 100}},
    }
    record = VersionRecord("m", version, "now", {"commit": "c"}, **{**base, **fields})
    return regdiff.Side(f"m@{version}", record, workspace=False)


def test_package_and_data_changes_are_named() -> None:
    a = _side("v1.0.0")
    b = _side(
        "v1.1.0",
        environment={"python": "3.12.1", "packages": {"numpy": "2.1.0", "pandas": "2.2.0"}},
        data={
            "raw": {"path": "data/raw.csv", "md5": "2" * 32, "rows": 120},
            "extra": {"path": "data/extra.csv", "md5": "3" * 32, "rows": 5},
        },
    )
    done = regdiff.compare(a, b, None)
    changes = {p["name"]: (p["a"], p["b"], p["change"]) for p in done.environment["packages"]}
    assert changes == {
        "numpy": ("2.0.0", "2.1.0", "changed"),
        "pandas": (None, "2.2.0", "added"),
        "scipy": ("1.13.0", None, "removed"),
    }
    assert done.environment["python"] == {"a": "3.11.7", "b": "3.12.1"}
    data = _by_name(done.data)
    assert (data["raw"]["changed"], data["raw"]["rows_delta"]) == (True, 20)
    assert data["extra"]["a"] is None and data["extra"]["changed"] is True
    assert done.changed == ["data", "environment"]  # same artifact sha256: not "artifact"
    assert regdiff.compare(a, _side("v1.0.1"), None).changed == []
