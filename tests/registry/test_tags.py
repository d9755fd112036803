"""Registry tags that mlops did not write (issue 13 item 5): a lightweight `m#prod#1` and
an annotated stage tag made by hand are reported by `model list/show` and `status`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mlops_cli.gitio.refs import list_tags
from mlops_cli.project.root import open_project
from mlops_cli.registry import tags as regtags
from mlops_cli.status.status import project_status
from tests.modelproject import NAME, copy_of, git, trained


@pytest.fixture
def project(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Path:
    return copy_of(trained(tmp_path_factory), tmp_path)


def test_lightweight_and_hand_made_stage_tags_are_reported(cli: Any, project: Path) -> None:
    m = lambda *a: cli("-C", str(project), *a)  # noqa: E731
    assert m("model", "register", NAME).exit_code == 0
    commit = git(project, "rev-parse", f"{NAME}@v0.0.1^{{commit}}")
    assert regtags.tag_warnings(list_tags(project)) == {}
    listed = m("model", "list", "--json").json()
    assert listed["warnings"] == []

    git(project, "tag", f"{NAME}#prod#1", commit)  # lightweight: plain `git tag`
    listed = m("model", "list", "--json").json()
    [warning] = listed["warnings"]
    assert warning.startswith(f"tag {NAME}#prod#1 is lightweight (plain `git tag`): not counted")
    assert listed["versions"][0]["stages"] == []  # never a version in prod
    human = m("model", "list")
    assert f"warning: tag {NAME}#prod#1 is lightweight" in human.stderr

    git(project, "tag", "-a", f"{NAME}#staging#2", "-m", "by hand", commit)
    shown = m("model", "show", f"{NAME}@v0.0.1", "--json").json()
    assert shown["stages"] == ["staging"]  # counted, as GTO counts it
    assert len(shown["warnings"]) == 2
    assert f"tag {NAME}#staging#2 was not made by `mlops model promote`" in shown["warnings"][1]

    report = project_status(open_project(project))
    [model] = report.models
    assert model.warnings == shown["warnings"]
    notes = [f.problem for f in report.findings if not f.blocking and f.subject == NAME]
    assert shown["warnings"][0] in notes and shown["warnings"][1] in notes
    assert not any("lightweight" in f.problem for f in report.stale)  # no policy: a note


def test_tags_mlops_writes_raise_no_warning(cli: Any, project: Path) -> None:
    m = lambda *a: cli("-C", str(project), *a)  # noqa: E731
    m("model", "register", NAME)
    m("test", f"{NAME}@v0.0.1", "--record")
    assert m("model", "promote", NAME, "v0.0.1", "staging").exit_code == 0
    assert m("model", "promote", NAME, "v0.0.1", "prod", "--force", "--reason", "x").exit_code == 0
    assert m("model", "deprecate", f"{NAME}#staging").exit_code == 0
    assert regtags.tag_warnings(list_tags(project)) == {}
