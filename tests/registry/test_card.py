"""registry/card.py: a model card rendered from a version's committed record, in jinja2's
sandbox, with a project's own template if it has one."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_cli.common.errors import ConfigError, InputError
from mlops_cli.project.root import Project, open_project
from mlops_cli.registry.card import default_template, render_card
from mlops_cli.registry.records import load_record
from tests.modelproject import NAME, copy_of, weak


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """v1.0.0 registered, tested and in prod (the card only reads)."""
    return open_project(copy_of(weak(tmp_path_factory), tmp_path_factory.mktemp("card")))


def test_the_default_card_is_the_record(project: Project) -> None:
    record = load_record(project, NAME, "v1.0.0")
    card = render_card(project, f"{NAME}@v1.0.0")
    assert card.startswith(f"# Model card: {NAME} v1.0.0\n")
    assert "| Stages | prod |" in card
    assert f"`{record.artifact['sha256']}`" in card
    assert f"`{record.git['commit']}`" in card
    assert "(**deregistered**)" not in card
    assert card == render_card(project, f"{NAME}#prod")  # the same version, named by stage
    assert default_template().name == "model-card.md.jinja"


def test_a_projects_own_template(project: Project, tmp_path: Path) -> None:
    mine = tmp_path / "card.md"
    mine.write_text(
        "{{ record.model }}@{{ record.version }} {{ model.target }} {{ stages | join(',') }}\n"
        "{{ record.params | to_yaml }}"
    )
    card = render_card(project, f"{NAME}@v1.0.0", template=mine)
    first, rest = card.split("\n", 1)
    assert first == f"{NAME}@v1.0.0 {project.config.models[NAME].target} prod"
    assert "train:" in rest  # params.yaml's section, dumped as YAML


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{{ ''.__class__.__mro__ }}", "access to attribute '__class__'"),  # the sandbox
        ("line one\n{% if %}\n", r"card\.md:2: "),  # a syntax error, with its line
        ("{{ record.model | nosuchfilter }}", "nosuchfilter"),
    ],
)
def test_a_bad_template_is_a_config_error(
    project: Project, tmp_path: Path, source: str, message: str
) -> None:
    mine = tmp_path / "card.md"
    mine.write_text(source)
    with pytest.raises(ConfigError, match=message):
        render_card(project, f"{NAME}@v1.0.0", template=mine)


def test_a_missing_template_or_version_is_input_error(project: Project, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read the card template"):
        render_card(project, f"{NAME}@v1.0.0", template=tmp_path / "nothing.md")
    with pytest.raises(InputError, match=r"churn@v9\.0\.0 is not registered"):
        render_card(project, f"{NAME}@v9.0.0")
