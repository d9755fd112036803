"""cli/config.py: `mlops config check` and `mlops config schema`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema


def test_config_check_valid_and_invalid(cli: Any, tmp_path: Path) -> None:
    (tmp_path / "mlops.yaml").write_text("project: demo\n")
    ok = cli("-C", str(tmp_path), "config", "check", "--json")
    assert ok.exit_code == 0 and json.loads(ok.stdout)["valid"] is True
    (tmp_path / "mlops.yaml").write_text("project: demo\nstagse: [dev]\n")
    bad = cli("-C", str(tmp_path), "config", "check")
    assert bad.exit_code == 3
    assert "mlops.yaml:2:1: stagse: unknown key; did you mean 'stages'?" in bad.stderr


def test_check_found_from_a_subfolder_and_named_files(cli: Any, tmp_path: Path) -> None:
    (tmp_path / "mlops.yaml").write_text("project: demo\n")
    (tmp_path / "src").mkdir()
    (tmp_path / "other.yaml").write_text("schema_version: 1\nproject: other\n")
    out = cli("-C", str(tmp_path / "src"), "config", "check")
    assert out.exit_code == 0
    assert out.stderr == f"✓ {tmp_path / 'mlops.yaml'}: valid\n"
    both = cli("-C", str(tmp_path), "config", "check", "mlops.yaml", "other.yaml", "--json")
    assert both.exit_code == 0
    assert json.loads(both.stdout)["files"] == [
        str(tmp_path / "mlops.yaml"),
        str(tmp_path / "other.yaml"),
    ]
    (tmp_path / "broken.yaml").write_text("project: [\n")
    bad = cli("-C", str(tmp_path), "config", "check", "mlops.yaml", "broken.yaml")
    assert bad.exit_code == 3
    assert "broken.yaml" in bad.stderr and "valid" not in bad.stderr  # nothing said valid
    missing = cli("-C", str(tmp_path), "config", "check", "nothing.yaml")
    assert missing.exit_code == 3 and "nothing.yaml" in missing.stderr


def test_config_schema_is_json_schema(cli: Any) -> None:
    out = cli("config", "schema")
    schema = json.loads(out.stdout)
    assert schema["title"] == "mlops.yaml"
    assert "project" in schema["required"]


def test_the_schema_accepts_what_check_accepts(cli: Any, tmp_path: Path) -> None:
    schema = json.loads(cli("config", "schema").stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    good = {"schema_version": 1, "project": "demo", "datasets": {"a": {"path": "d/a.csv"}}}
    jsonschema.validate(good, schema)
    bad = {"project": "demo", "stagse": ["dev"]}
    assert list(jsonschema.Draft202012Validator(schema).iter_errors(bad))
