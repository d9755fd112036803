"""scaffold/templates.py: where templates live, `template.yaml` checked with its line, and
each variable answered from --set, the prompt, a previous answer or its default."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mlops_cli.common.errors import ConfigError, InputError
from mlops_cli.scaffold.templates import (
    Template,
    list_templates,
    load_template_dir,
    resolve_answers,
    resolve_template,
)
from tests.tpl import BASIC, make_template

SPEC = """\
name: typed
version: 2.1.0-rc.1
variables:
  project_name: {type: str, pattern: '^[a-z]+$', help: lower-case letters}
  workers: {type: int, default: 2}
  ratio: {type: float, default: 0.5}
  gpu: {type: bool, default: false}
  flavour: {type: str, default: vanilla, choices: [vanilla, chocolate]}
"""


@pytest.fixture
def typed(tmp_path: Path) -> Template:
    return load_template_dir(make_template(tmp_path / "typed", BASIC, SPEC), builtin=False)


def test_builtin_and_folder_templates(tmp_path: Path) -> None:
    names = [t.name for t in list_templates()]
    assert {"minimal", "sklearn-classifier"} <= set(names) and names == sorted(names)
    builtin = resolve_template("minimal", cwd=tmp_path)
    assert builtin.builtin and builtin.ref == "minimal"
    folder = make_template(tmp_path / "mine", BASIC)
    for ref in ("./mine", str(folder)):
        found = resolve_template(ref, cwd=tmp_path)
        assert not found.builtin and found.ref == str(folder.resolve()) and found.name == "tiny"
    (tmp_path / "minimal").mkdir()  # a folder named like a built-in: the built-in wins
    assert resolve_template("minimal", cwd=tmp_path).builtin


def test_an_unknown_template_lists_the_builtins(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no template 'nope'") as info:
        resolve_template("nope", cwd=tmp_path)
    assert "minimal" in (info.value.hint or "")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("name: x\nversion: one\n", r"template\.yaml:2:\d+: version: String should match"),
        ("name: x\nversion: 1.0.0\ncolour: red\n", r"template\.yaml:3:1: colour: Extra inputs"),
        ("name: x\nversion: 1.0.0\nvariables:\n  v: {type: list}\n",
         r"template\.yaml:4:\d+: variables\.v\.type"),
    ],
)  # fmt: skip
def test_a_wrong_template_yaml_names_its_line(tmp_path: Path, spec: str, message: str) -> None:
    folder = make_template(tmp_path / "bad", BASIC, spec)
    with pytest.raises(ConfigError, match=message):
        load_template_dir(folder, builtin=False)


def test_a_template_needs_its_project_folder(tmp_path: Path) -> None:
    folder = make_template(tmp_path / "t", {})
    (folder / "project").rmdir()
    with pytest.raises(ConfigError, match="a template needs a project/ folder"):
        load_template_dir(folder, builtin=False)


def test_answers_from_set_defaults_and_the_folder_name(typed: Template) -> None:
    answers = resolve_answers(typed, {"workers": "8", "gpu": "yes"}, dest_name="churn")
    assert answers == {
        "project_name": "churn",  # the destination's name
        "workers": 8,
        "ratio": 0.5,
        "gpu": True,
        "flavour": "vanilla",
    }
    again = resolve_answers(typed, {}, dest_name="elsewhere",
                            previous={"project_name": "churn", "flavour": "chocolate"})  # fmt: skip
    assert (again["project_name"], again["flavour"]) == ("churn", "chocolate")


def test_the_prompt_is_asked_each_variable_with_its_default(typed: Template) -> None:
    asked: list[tuple[str, Any]] = []

    def ask(name: str, var: Any, default: Any) -> Any:
        asked.append((name, default))
        return {"workers": "3", "gpu": "off"}.get(name, default)

    answers = resolve_answers(typed, {"ratio": "0.25"}, dest_name="demo", ask=ask)
    assert asked == [("project_name", "demo"), ("workers", 2), ("gpu", False),
                     ("flavour", "vanilla")]  # fmt: skip
    assert (answers["workers"], answers["ratio"], answers["gpu"]) == (3, 0.25, False)


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"colour": "red"}, "template 'typed' has no variable 'colour'"),
        ({"workers": "many"}, "template variable 'workers': 'many' is not a valid int"),
        ({"gpu": "perhaps"}, "template variable 'gpu': 'perhaps' is not a valid bool"),
        (
            {"flavour": "mint"},
            "template variable 'flavour': 'mint' is not one of vanilla, chocolate",
        ),
        ({"project_name": "Has Caps"}, r"'Has Caps' does not match \^\[a-z\]\+\$"),
    ],
)
def test_refused_answers(typed: Template, given: dict[str, str], message: str) -> None:
    with pytest.raises(InputError, match=message):
        resolve_answers(typed, given, dest_name="demo")


def test_a_variable_without_a_default_must_be_set(tmp_path: Path) -> None:
    spec = "name: t\nversion: 1.0.0\nvariables:\n  token: {type: str}\n"
    tpl = load_template_dir(make_template(tmp_path / "t", BASIC, spec), builtin=False)
    with pytest.raises(InputError, match="template variable 'token' has no default") as info:
        resolve_answers(tpl, {}, dest_name="x")
    assert info.value.hint == "pass --set token=VALUE"
    assert resolve_answers(tpl, {"token": "abc"}, dest_name="x") == {"token": "abc"}
