"""cli/modeltest.py: `mlops test` wiring: plain lines, --json, --junit, exit 1 naming what
failed, and the usage errors (which model, --record of the workspace)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from tests.modelproject import NAME, copy_of, edit_config, trained


@pytest.fixture
def project(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Path:
    return copy_of(trained(tmp_path_factory), tmp_path)


def test_a_passing_run_in_plain_lines_and_junit(cli: Any, project: Path) -> None:
    out = cli("-C", str(project), "test", "--junit", "reports/t.xml")  # the only model
    assert out.exit_code == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("PASS schema: ")
    assert any(line.startswith("PASS metrics: accuracy 0.9") for line in lines)
    assert (
        "INFO no_regression: vs prod - no version of churn is in prod yet: nothing to compare"
        " with" in lines
    )  # not judged: neither PASS nor FAIL, and one space, not two
    assert f"✓ {len(lines)} checks passed: {NAME} (workspace) (sha256 " in out.stderr
    assert out.stderr.endswith(" on data/prepared/holdout.csv\n")
    suite = ET.parse(project / "reports" / "t.xml").getroot()
    assert suite.attrib.get("failures", "0") == "0"
    assert len(suite.findall(".//testcase")) == len(lines)


def test_a_failing_run_is_exit_1_and_says_what(cli: Any, project: Path) -> None:
    edit_config(project, "accuracy: {min: 0.85}", "accuracy: {min: 0.9999}")
    out = cli("-C", str(project), "test", NAME, "--json")
    assert out.exit_code == 1
    doc = json.loads(out.stdout)
    assert doc["command"] == "test" and doc["recorded"] is False
    failed = [c for c in doc["checks"] if c["passed"] is False]
    assert [c["name"] for c in failed] == ["accuracy"]
    assert doc["error"]["exit_code"] == 1
    assert doc["error"]["message"].startswith(f"1 of {len(doc['checks'])} checks failed: {NAME}")


def test_usage_errors(cli: Any, project: Path) -> None:
    out = cli("-C", str(project), "test", NAME, "--record")
    assert out.exit_code == 2
    assert "--record needs a registered version" in out.stderr
    text = (project / "mlops.yaml").read_text()
    (project / "mlops.yaml").write_text(text.replace("models:\n", "models:\n  other:\n"
        "    path: models/other.skops\n    task: regression\n    target: y\n", 1))  # fmt: skip
    two = cli("-C", str(project), "test")
    assert two.exit_code == 2
    assert "name the model to test: mlops.yaml declares churn, other" in two.stderr
