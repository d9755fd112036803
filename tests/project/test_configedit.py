"""Edits to mlops.yaml keep every other byte of the user's file."""

from __future__ import annotations

import pytest

from mlops_cli.common.errors import ConfigError
from mlops_cli.project.configedit import add_dataset, append_setting

ENTRY = {"path": "data/c.csv", "schema": "schemas/c.yaml"}
BLOCK = "    path: data/c.csv\n    schema: schemas/c.yaml\n"


def add(text: str, name: str = "customers") -> str:
    return add_dataset(text, name, ENTRY, "mlops.yaml")


def test_empty_flow_mapping_becomes_a_block_and_keeps_its_comment() -> None:
    text = "project: p\ndatasets: {}  # none yet\nmodels: {}\n"
    assert add(text) == f"project: p\ndatasets:  # none yet\n  customers:\n{BLOCK}models: {{}}\n"


@pytest.mark.parametrize("value", ["", " ~", " null"])
def test_empty_value_becomes_a_block(value: str) -> None:
    text = f"project: p\ndatasets:{value}\nmodels: {{}}\n"
    assert add(text) == f"project: p\ndatasets:\n  customers:\n{BLOCK}models: {{}}\n"


def test_entry_is_appended_after_the_last_one_with_its_indentation() -> None:
    text = (
        "project: p\n"
        "datasets:\n"
        "    raw:\n"
        "        path: x.csv   # the export\n"
        "        description: >\n"
        "          folded\n"
        "          text\n"
        "    # train:\n"
        "    #   path: later.csv\n"
        "\n"
        "# Models\n"
        "models: {}\n"
    )
    new = add(text)
    assert new == text.replace(
        "    #   path: later.csv\n",
        "    #   path: later.csv\n"
        "    customers:\n"
        "        path: data/c.csv\n"
        "        schema: schemas/c.yaml\n",
    )


def test_missing_key_is_appended_and_odd_names_are_quoted() -> None:
    assert add("project: p", "yes") == (f"project: p\n\ndatasets:\n  'yes':\n{BLOCK}")


def test_refusals_change_nothing() -> None:
    with pytest.raises(ConfigError, match="flow style"):
        add("project: p\ndatasets: {raw: {path: x.csv}}\n")
    with pytest.raises(ConfigError, match="already declared"):
        add("project: p\ndatasets:\n  customers:\n    path: x.csv\n")
    with pytest.raises(ConfigError, match="not a mapping"):
        add("project: p\ndatasets: [a]\n")


def test_append_setting() -> None:
    assert append_setting("a: 1\n", "remote", "local", "why\nand how") == (
        "a: 1\n\n# why\n# and how\nremote: local\n"
    )
