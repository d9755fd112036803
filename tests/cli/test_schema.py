"""cli/schema.py: `mlops schema infer` wiring: where the schema goes, the dialect options,
--force, --json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.valdata import rows, write_csv


def test_infer_outside_a_project_writes_beside_cwd(cli: Any, tmp_path: Path) -> None:
    write_csv(tmp_path / "data" / "customers.csv", rows(40))
    out = cli("-C", str(tmp_path), "schema", "infer", "data/customers.csv")
    assert out.exit_code == 0, out.stderr
    schema = tmp_path / "schemas" / "customers.yaml"
    assert "columns:" in schema.read_text()
    assert "✓ wrote schemas/customers.yaml: 5 columns from 40 rows of data/customers.csv" in (
        out.stderr
    )
    again = cli("-C", str(tmp_path), "schema", "infer", "data/customers.csv")
    assert again.exit_code == 3  # an existing schema is not replaced without --force
    forced = cli("-C", str(tmp_path), "schema", "infer", "data/customers.csv", "--force")
    assert forced.exit_code == 0


def test_infer_in_a_project_with_the_dialect_and_json(cli: Any, tmp_path: Path) -> None:
    (tmp_path / "mlops.yaml").write_text("schema_version: 1\nproject: demo\n")
    data = tmp_path / "data" / "export.csv"
    data.parent.mkdir(parents=True)
    data.write_text("id;price\n1;2,5\n2;3,75\n3;10,0\n")
    (tmp_path / "sub").mkdir()
    out = cli(
        "-C", str(tmp_path / "sub"), "schema", "infer", "../data/export.csv",
        "--delimiter", ";", "--decimal", ",", "-o", "../schemas/e.yaml", "--json",
    )  # fmt: skip
    assert out.exit_code == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["command"] == "schema infer"
    result = doc["result"]
    assert result["rows"] == 3
    # (the path is reported as given, `sub/../schemas/e.yaml`: not normalised)
    assert (tmp_path / result["path"]).resolve() == (tmp_path / "schemas" / "e.yaml").resolve()
    assert [(c["name"], c["dtype"]) for c in result["columns"]] == [
        ("id", "int64"),
        ("price", "float64"),  # 2,5 read as a number
    ]
    text = (tmp_path / "schemas" / "e.yaml").read_text()
    assert "price:" in text and "float64" in text


def test_infer_of_a_missing_file_is_exit_3(cli: Any, tmp_path: Path) -> None:
    out = cli("-C", str(tmp_path), "schema", "infer", "nothing.csv", "--json")
    assert out.exit_code == 3
    assert json.loads(out.stdout)["error"]["exit_code"] == 3
    assert not (tmp_path / "schemas").exists()
