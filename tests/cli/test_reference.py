"""The generated reference docs: current, complete, and what a user really sees."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.core import TyperGroup

from mlops_cli.cli.reference import (
    EXAMPLE_CONFIG,
    command_contexts,
    command_reference,
    generated,
    write_all,
)
from mlops_cli.common.yamlio import parse_yaml
from mlops_cli.project.config import json_schema
from mlops_cli.project.root import validate_config
from tests.conftest import REPO_ROOT

REGENERATE = "run `python -m mlops_cli.cli.reference` and commit the result"
# Its output is JSON whatever the flags: a --json switch would be a no-op.
JSON_EXEMPT = {"config schema"}


@pytest.mark.parametrize("name", sorted(generated()))
def test_committed_docs_match_the_generator(name: str) -> None:
    path = REPO_ROOT / "docs" / name
    assert path.is_file(), f"docs/{name} is missing: {REGENERATE}"
    committed = path.read_text(encoding="utf-8")
    assert committed == generated()[name], f"docs/{name} is stale: {REGENERATE}"


def _sections(markdown: str) -> dict[str, str]:
    chunks = markdown.split("\n## ")[1:]
    return {chunk.split("\n", 1)[0]: chunk for chunk in chunks}


def test_every_command_section_has_an_example() -> None:
    sections = _sections(command_reference())
    assert set(sections) == {f"mlops {p}".strip() for p, _ in command_contexts()}
    missing = sorted(title for title, text in sections.items() if "Example" not in text)
    assert not missing, (
        f"--help of {', '.join(missing)} shows no example (docs/commands.md): add an "
        "'Example:' paragraph to the command's docstring, or to the group's help="
    )


def test_every_leaf_command_has_json_output() -> None:
    lacking = [
        f"mlops {path}"
        for path, ctx in command_contexts()
        if not isinstance(ctx.command, TyperGroup)
        and path not in JSON_EXEMPT
        and not any("--json" in param.opts for param in ctx.command.params)
    ]
    assert not lacking, f"leaf commands without --json: {', '.join(lacking)} (DESIGN.md §4)"


def test_reference_is_the_help_a_user_sees_at_80_columns(mlops: Any) -> None:
    # A real process: typer's CliRunner forces click's width to 80 where a terminal of 80
    # columns gets 78. The isolation fixture sets COLUMNS=80.
    for path, ctx in command_contexts():
        run = mlops(*path.split(), "--help")
        assert (run.exit_code, run.stdout) == (0, ctx.get_help() + "\n"), f"mlops {path} --help"


@pytest.mark.parametrize("columns", ["40", "200"])
def test_reference_does_not_depend_on_the_terminal(
    monkeypatch: pytest.MonkeyPatch, columns: str
) -> None:
    at_80 = command_reference()
    monkeypatch.setenv("COLUMNS", columns)
    assert command_reference() == at_80


def _covered(node: dict[str, Any], data: Any, defs: dict[str, Any], out: set[str]) -> None:
    """Record `Object.key` for every key of the JSON Schema that `data` uses."""
    if "$ref" in node:
        node = defs[node["$ref"].rsplit("/", 1)[-1]]
    for branch in node.get("anyOf", []):
        _covered(branch, data, defs, out)
    if isinstance(data, list) and "items" in node:
        for item in data:
            _covered(node["items"], item, defs, out)
    if not isinstance(data, dict):
        return
    for key, value in data.items():
        if key in node.get("properties", {}):
            out.add(f"{node['title']}.{key}")
            _covered(node["properties"][key], value, defs, out)
        for values in node.get("patternProperties", {}).values():
            _covered(values, value, defs, out)
        if isinstance(node.get("additionalProperties"), dict):
            _covered(node["additionalProperties"], value, defs, out)


def test_config_example_is_valid_and_uses_every_key() -> None:
    doc = parse_yaml(EXAMPLE_CONFIG.encode(), "docs/config.md example")
    validate_config(doc)  # raises ConfigError, naming the line, when the example is wrong
    schema = json_schema()
    defs = schema["$defs"]
    every = {f"{n['title']}.{k}" for n in [schema, *defs.values()] for k in n["properties"]}
    used: set[str] = set()
    _covered(schema, doc.data, defs, used)
    missing = sorted(every - used)
    assert not missing, f"EXAMPLE_CONFIG in mlops_cli/cli/reference.py lacks {', '.join(missing)}"


def test_write_all_writes_the_three_files(tmp_path: Path, cli: Any) -> None:
    written = write_all(tmp_path / "docs")
    assert sorted(p.name for p in written) == ["commands.md", "config.md", "mlops.schema.json"]
    for path in written:
        assert path.read_text(encoding="utf-8") == generated()[path.name]
    schema_text = (tmp_path / "docs" / "mlops.schema.json").read_text(encoding="utf-8")
    assert json.loads(schema_text) == json_schema()
    assert schema_text == cli("config", "schema").stdout  # `mlops config schema > ...` agrees
