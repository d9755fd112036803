"""`mlops model ...` and `mlops test`: exit codes, stdout/stderr, --json, real processes."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import mlops_bin
from tests.modelproject import (
    NAME,
    commit_all,
    copy_of,
    edit_config,
    git,
    run_in,
    state_of,
    tags,
    trained,
)


@pytest.fixture
def project(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Path:
    return copy_of(trained(tmp_path_factory), tmp_path)


def test_register_list_show_and_card(cli: Any, project: Path) -> None:
    m = run_in(cli, project)
    out = m("model", "register", NAME, "--bump", "minor", "-m", "more trees")
    assert out.exit_code == 0, out.stderr
    assert out.stdout == "churn@v0.1.0\n"
    assert "registered churn@v0.1.0 (record .mlops/models/churn/v0.1.0.yaml" in out.stderr

    listed = m("model", "list", "--json").json()
    assert listed["schema_version"] == 1 and listed["command"] == "model list"
    [row] = listed["versions"]
    assert (row["model"], row["version"], row["stages"], row["tests_passed"]) == (
        NAME,
        "v0.1.0",
        [],
        None,
    )
    table = m("model", "list").stdout
    assert "churn" in table and "v0.1.0" in table

    shown = m("model", "show", NAME, "--json").json()
    record = shown["record"]
    assert record["version"] == "v0.1.0" and record["message"] == "more trees"
    assert record["data"]["train"]["path"] == "data/prepared/train.csv"
    assert shown["artifact_present"] is True
    human = m("model", "show", "churn@v0.1.0").stdout
    for needle in ("churn@v0.1.0 (active)", "data train", "param train.C", "tests  "):
        assert needle in human, needle

    card = m("model", "card", "churn@v0.1.0")
    assert card.exit_code == 0
    assert card.stdout.startswith("# Model card: churn v0.1.0\n")
    assert "No test results are recorded" in card.stdout
    assert m("model", "card", NAME, "--json").json()["markdown"] == card.stdout


def test_register_refusals_name_the_files(cli: Any, project: Path) -> None:
    m = run_in(cli, project)
    (project / "data/prepared/train.csv").write_text("a,b\n1,2\n")
    before = state_of(project)
    out = m("model", "register", NAME)
    assert out.exit_code == 3
    assert "differ from what is committed: data/prepared/train.csv" in out.stderr
    assert "data/prepared/train.csv: md5" in out.stderr  # the detail line
    assert out.stdout == ""
    assert state_of(project) == before
    doc = m("model", "register", NAME, "--json").json()
    assert doc["error"]["exit_code"] == 3 and len(doc["error"]["problems"]) == 2


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["--version", "1.2"], 2),
        (["--version", "v1.0.0", "--bump", "minor"], 2),
        (["--bump", "huge"], 2),
    ],
)
def test_register_usage_errors(cli: Any, project: Path, args: list[str], code: int) -> None:
    out = run_in(cli, project)("model", "register", NAME, *args)
    assert out.exit_code == code
    assert tags(project) == []


def test_test_promote_and_the_gate(cli: Any, project: Path, tmp_path: Path) -> None:
    m = run_in(cli, project)
    assert m("model", "register", NAME).exit_code == 0

    refused = m("model", "promote", NAME, "v0.0.1", "prod")
    assert refused.exit_code == 1
    assert "refusing to promote churn@v0.0.1 to prod: it has no recorded tests" in refused.stderr

    junit = tmp_path / "reports" / "tests.xml"
    tested = m("test", "churn@v0.0.1", "--record", "--junit", str(junit))
    assert tested.exit_code == 0, tested.stderr
    assert "PASS metrics: accuracy" in tested.stdout
    assert "recorded in the record of churn@v0.0.1" in tested.stderr
    assert junit.read_text().startswith('<?xml version="1.0" encoding="utf-8"?>')
    assert (
        git(project, "log", "-1", "--format=%s") == "mlops: record tests of churn@v0.0.1 (passed)"
    )

    promoted = m("model", "promote", "churn@v0.0.1", "prod")
    assert promoted.exit_code == 0, promoted.stderr
    assert promoted.stdout == "churn#prod#1\n"
    assert m("model", "show", "churn#prod", "--json").json()["stages"] == ["prod"]
    card = m("model", "card", "churn#prod").stdout
    assert "| Stages | prod |" in card and "| metrics: accuracy | pass |" in card


def test_promote_refuses_tests_recorded_for_another_artifact(cli: Any, project: Path) -> None:
    m = run_in(cli, project)
    m("model", "register", NAME)
    m("test", "churn@v0.0.1", "--record")
    record = project / ".mlops/models/churn/v0.0.1.yaml"
    data = yaml.safe_load(record.read_text())
    data["tests"]["artifact_sha256"] = "0" * 64
    record.write_text(yaml.safe_dump(data, sort_keys=False))
    commit_all(project, "tamper with the record")
    out = m("model", "promote", NAME, "v0.0.1", "prod")
    assert out.exit_code == 1
    assert "tests were recorded for artifact sha256 000000000000" in out.stderr


def test_promote_failing_tests_and_force(cli: Any, project: Path) -> None:
    m = run_in(cli, project)
    m("model", "register", NAME)
    edit_config(project, "accuracy: {min: 0.85}", "accuracy: {min: 0.9999}")
    uncommitted = m("test", "churn@v0.0.1", "--record")
    assert uncommitted.exit_code == 3
    assert "mlops.yaml has changes that are not committed" in uncommitted.stderr
    commit_all(project, "raise the accuracy floor")
    failed = m("test", "churn@v0.0.1", "--record")
    assert failed.exit_code == 1
    assert "FAIL metrics: accuracy" in failed.stdout
    assert "1 of 16 checks failed" in failed.stderr
    out = m("model", "promote", NAME, "v0.0.1", "prod")
    assert out.exit_code == 1 and "its recorded tests failed (accuracy)" in out.stderr
    no_reason = m("model", "promote", NAME, "v0.0.1", "prod", "--force")
    assert no_reason.exit_code == 2 and "--force needs --reason" in no_reason.stderr
    forced = m("model", "promote", NAME, "v0.0.1", "prod", "--force", "--reason", "INC-7")
    assert forced.exit_code == 0
    message = git(project, "tag", "-l", "--format=%(contents)", "churn#prod#1")
    assert "forced: INC-7" in message


def test_test_command(cli: Any, project: Path) -> None:
    m = run_in(cli, project)
    doc = m("test", "--json").json()  # the only model, in the work tree
    assert doc["command"] == "test" and doc["passed"] is True
    assert doc["target"] == "churn (workspace)" and doc["recorded"] is False
    assert {c["family"] for c in doc["checks"]} >= {"schema", "metrics", "latency"}
    usage = m("test", NAME, "--record")
    assert usage.exit_code == 2 and "--record needs a registered version" in usage.stderr
    assert m("test", "nope").exit_code == 3


@pytest.mark.parametrize(
    ("damage", "code", "message"),
    [
        ("missing", 3, "no such model file"),
        ("dvc-pointer", 3, "is a DVC pointer file"),
        ("truncated", 3, "is truncated or corrupt"),
        ("pickle", 4, "declared skops but holds a pickle"),
    ],
)
def test_broken_model_files(cli: Any, project: Path, damage: str, code: int, message: str) -> None:
    model = project / "models/model.skops"
    if damage == "missing":
        model.unlink()
    elif damage == "dvc-pointer":
        model.write_text("outs:\n- md5: 24966d4be7a20d2797edceff9e8f4ec2\n  path: model.skops\n")
    elif damage == "truncated":
        model.write_bytes(model.read_bytes()[:1000])
    else:
        model.write_bytes(b"\x80\x04\x95" + b"\0" * 100)
    out = run_in(cli, project)("test", NAME)
    assert out.exit_code == code
    assert message in out.stderr


def test_unsafe_pickle_model_is_exit_4_and_runs_nothing(cli: Any, project: Path) -> None:
    import os
    import pickle

    target = project / "PWNED"

    class Payload:
        def __reduce__(self) -> Any:
            return (os.system, (f"touch {target}",))

    edit_config(project, "path: models/model.skops", "path: models/model.pkl")
    edit_config(project, "format: skops", "format: pickle")
    (project / "models/model.pkl").write_bytes(pickle.dumps(Payload()))
    for extra in ([], ["--trust"]):
        out = run_in(cli, project)("test", NAME, *extra)
        assert out.exit_code == 4, out.stderr
        assert not target.exists()


def test_deprecate(cli: Any, project: Path) -> None:
    m = run_in(cli, project)
    m("model", "register", NAME)
    out = m("model", "deprecate", "churn@v0.0.1", "-m", "leaks the label", "--json")
    assert out.json()["result"]["tags"] == ["churn@v0.0.1!"]
    assert m("model", "list", "--json").json()["versions"][0]["active"] is False
    assert m("model", "deprecate", "churn@v0.0.1").exit_code == 3


def test_two_concurrent_registers(project: Path) -> None:
    """Real processes: one wins; the other is busy (5) or names the conflict (3)."""
    procs = [
        subprocess.Popen(
            [*mlops_bin(), "model", "register", NAME],
            cwd=project,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**__import__("os").environ, "MLOPS_LOCK_TIMEOUT": "0"},
        )
        for _ in range(2)
    ]
    results = [(p.wait(timeout=300), *p.communicate()) for p in procs]
    codes = sorted(code for code, _, _ in results)
    assert codes[0] == 0 and codes[1] in (3, 5), results
    loser = next(err for code, _, err in results if code != 0)
    assert "another mlops process holds the repo lock" in loser or "churn@v0.0.1" in loser
    assert tags(project) == ["churn@v0.0.1"]
    # No tag without its record, no record without its tag.
    assert git(project, "cat-file", "-e", "churn@v0.0.1:.mlops/models/churn/v0.0.1.yaml") == ""
    assert sorted(p.name for p in (project / ".mlops/models/churn").iterdir()) == ["v0.0.1.yaml"]
    assert git(project, "status", "--porcelain") == ""


def test_entry_point_end_to_end(mlops: Any, project: Path) -> None:
    """The installed `mlops` as a user runs it: register, test --record, promote."""
    start = time.perf_counter()
    assert mlops("model", "register", NAME, cwd=project).exit_code == 0
    tested = mlops("test", f"{NAME}@latest", "--record", "--json", cwd=project)
    assert tested.exit_code == 0, tested.stderr
    assert json.loads(tested.stdout)["recorded"] is True
    promoted = mlops("model", "promote", NAME, "v0.0.1", "prod", cwd=project)
    assert promoted.exit_code == 0 and promoted.stdout == "churn#prod#1\n"
    assert time.perf_counter() - start < 120
