"""cli/templates.py: `mlops template list` and the wiring of `mlops template update`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def test_templates_list(cli: Any) -> None:
    doc = cli("templates", "list", "--json").json()
    names = {t["name"]: t for t in doc["templates"]}
    assert {"sklearn-classifier", "minimal"} <= set(names)
    assert names["sklearn-classifier"]["version"]
    text = cli("templates", "list").stdout
    assert "sklearn-classifier" in text and "minimal" in text


def test_list_describes_each_templates_variables(cli: Any) -> None:
    doc = cli("template", "list", "--json").json()
    assert doc["command"] == "templates list"
    minimal = next(t for t in doc["templates"] if t["name"] == "minimal")
    assert minimal["description"]
    assert "project_name" in minimal["variables"]
    assert isinstance(minimal["variables"]["project_name"], dict)


def test_update_outside_a_project_is_exit_3(cli: Any, tmp_path: Path) -> None:
    out = cli("-C", str(tmp_path), "template", "update", "--json")
    assert out.exit_code == 3
    assert json.loads(out.stdout)["error"]["kind"] == "not_a_project"


def test_update_of_a_project_without_a_template_record(cli: Any, tmp_path: Path) -> None:
    (tmp_path / "mlops.yaml").write_text("schema_version: 1\nproject: demo\n")
    out = cli("-C", str(tmp_path), "template", "update", "--dry-run")
    assert out.exit_code == 3
    assert "no `template:` record, so there is nothing to update from" in out.stderr
    assert (tmp_path / "mlops.yaml").read_text() == "schema_version: 1\nproject: demo\n"
