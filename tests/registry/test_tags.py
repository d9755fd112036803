"""registry/tags.py: GTO's tag format parsed and written, and the registry state replayed
from tags (stages, deregistration, deprecation, ordering): in memory, and with real tags on
a really trained project, read back by GTO itself. Tags mlops did not write (issue 13
item 5): a lightweight `m#prod#1` and an annotated stage tag made by hand are reported by
`model list/show` and `status`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mlops_cli.common.errors import UsageError
from mlops_cli.gitio.refs import TagInfo, list_tags
from mlops_cli.project.root import open_project
from mlops_cli.registry import records as registry
from mlops_cli.registry import tags as regtags
from mlops_cli.registry.register import register
from mlops_cli.registry.stages import deprecate, promote
from mlops_cli.registry.tags import (
    assign_message,
    build_state,
    check_name,
    parse_tag,
    parse_version,
    register_message,
    register_tag,
    semver_key,
    stage_tag,
)
from mlops_cli.status.status import project_status
from tests.modelproject import (
    NAME,
    git,
    tags,
)


def tag(name: str, commit: str, time: int, *, annotated: bool = True) -> TagInfo:
    return TagInfo(name, annotated, commit, time, "Test Author", f"message of {name}")


@pytest.mark.parametrize(
    ("name", "action", "version", "stage", "counter"),
    [
        ("churn@v1.2.0", "register", "v1.2.0", None, None),
        ("churn@v1.2.0!", "deregister", "v1.2.0", None, None),
        ("churn#prod#7", "assign", None, "prod", 7),
        ("churn#prod!#8", "unassign", None, "prod", 8),
        ("churn@deprecated", "deprecate", None, None, None),
        ("team/churn-2@v0.0.1-rc.1+build.5", "register", "v0.0.1-rc.1+build.5", None, None),
    ],
)
def test_parse_gtos_tags(
    name: str, action: str, version: str | None, stage: str | None, counter: int | None
) -> None:
    event = parse_tag(tag(name, "c1", 100))
    assert event is not None
    assert (event.action, event.version, event.stage, event.counter) == (
        action,
        version,
        stage,
        counter,
    )
    assert event.model == name.split("@")[0].split("#")[0]


@pytest.mark.parametrize(
    "name", ["v1.0.0", "churn@1.0.0", "churn#", "-churn@v1.0.0", "churn@v01.0.0"]
)
def test_other_tags_are_not_events(name: str) -> None:
    assert parse_tag(tag(name, "c", 1)) is None


def test_a_lightweight_tag_is_not_an_event() -> None:
    assert parse_tag(tag("churn@v1.0.0", "c", 0, annotated=False)) is None


def test_names_and_versions() -> None:
    assert parse_version("1.2.0") == parse_version("v1.2.0") == "v1.2.0"
    assert check_name("model", "team/churn_2") == "team/churn_2"
    with pytest.raises(UsageError, match="cannot be used in a GTO tag"):
        check_name("stage", "prod!")
    ordered = ["v1.0.0-alpha", "v1.0.0-alpha.1", "v1.0.0-beta", "v1.0.0-beta.2", "v1.0.0",
               "v1.0.1", "v1.10.0"]  # fmt: skip
    assert sorted(reversed(ordered), key=semver_key) == ordered


def test_what_mlops_writes_parses_back() -> None:
    assert register_tag("churn", "v1.0.0") == "churn@v1.0.0"
    assert stage_tag("churn", "prod", 3) == "churn#prod#3"
    assert stage_tag("churn", "prod", 4, cancel=True) == "churn#prod!#4"
    assert register_message("churn", "v1.0.0") == "Registering artifact churn version v1.0.0"
    assert assign_message("churn", "v1.0.0", "prod") == (
        "Assigning stage prod to artifact churn version v1.0.0"
    )
    event = parse_tag(tag(stage_tag("churn", "prod", 4, cancel=True), "c", 1))
    assert event is not None and (event.action, event.counter) == ("unassign", 4)


def test_state_replays_the_history() -> None:
    tags = [
        tag("churn@v1.0.0", "c1", 100),
        tag("churn@v1.1.0", "c2", 200),
        tag("churn#prod#1", "c1", 150),
        tag("churn#prod#2", "c2", 300),
        tag("churn#prod!#3", "c1", 300),  # the same second: the counter orders them
        tag("churn#staging#4", "c2", 310),
        tag("churn@v2.0.0", "c3", 400),
        tag("churn@v2.0.0!", "c3", 500),  # deregistered
        tag("churn#dev#5", "nowhere", 510),  # a stage on a commit with no version: ignored
        tag("other@v0.0.1", "o1", 50),
        tag("other@deprecated", "o1", 60),
    ]
    models = build_state(list(reversed(tags)))  # whatever order git lists them in
    churn = models["churn"]
    assert [v.version for v in churn.active_versions()] == ["v1.1.0", "v1.0.0"]
    assert churn.latest() is not None and churn.latest().version == "v1.1.0"  # type: ignore[union-attr]
    assert churn.in_stage("prod") is churn.versions["v1.1.0"]
    assert churn.stages_of("v1.1.0") == ["prod", "staging"]
    assert churn.stages_of("v1.0.0") == []  # unassigned from prod
    assert churn.stages_of("v2.0.0") == []  # not active
    assert churn.in_stage("dev") is None
    assert churn.max_counter == 5
    assert not churn.deprecated and models["other"].deprecated
    assert [e.tag for e in churn.events][:3] == ["churn@v1.0.0", "churn#prod#1", "churn@v1.1.0"]


def test_the_highest_version_holds_a_stage_assigned_to_two() -> None:
    models = build_state([
        tag("m@v1.0.0", "a", 1), tag("m@v1.2.0", "b", 2),
        tag("m#prod#1", "b", 3), tag("m#prod#2", "a", 4),
    ])  # fmt: skip
    assert models["m"].in_stage("prod") is models["m"].versions["v1.2.0"]  # as GTO decides
    assert [v.version for v in models["m"].holders("prod")] == ["v1.2.0", "v1.0.0"]


# -- versions and GTO names -------------------------------------------------------------


@pytest.mark.parametrize(
    ("latest", "part", "expected"),
    [
        (None, "patch", "v0.0.1"),
        (None, "minor", "v0.1.0"),
        (None, "major", "v1.0.0"),
        ("v0.1.9", "patch", "v0.1.10"),
        ("v0.1.9", "minor", "v0.2.0"),
        ("v1.2.3", "major", "v2.0.0"),
    ],
)
def test_bump(latest: str | None, part: str, expected: str) -> None:
    assert regtags.bump(latest, part) == expected


@pytest.mark.parametrize("bad", ["1.2", "v1.2.3.4", "latest", "v01.2.3", "1.2.3 ", "vv1.0.0"])
def test_malformed_versions_are_usage_errors(bad: str) -> None:
    with pytest.raises(UsageError):
        regtags.parse_version(bad)


def test_semver_order_puts_prereleases_first() -> None:
    ordered = ["v1.0.0-alpha", "v1.0.0-alpha.1", "v1.0.0-beta", "v1.0.0", "v1.0.1", "v1.10.0"]
    assert sorted(reversed(ordered), key=regtags.semver_key) == ordered


def test_gto_reads_our_versions_and_stages(project: Path) -> None:
    gto_api = pytest.importorskip("gto.api", reason="gto is not installed")
    import time

    p = open_project(project)
    register(p, NAME, version="v0.1.0")
    promote(p, NAME, "v0.1.0", "staging", force=True, reason="test")
    deprecate(p, "churn@v0.1.0")
    register(p, NAME, version="v0.2.0")
    time.sleep(1.1)  # GTO orders events by the second
    promote(p, NAME, "v0.2.0", "prod", force=True, reason="test")
    time.sleep(1.1)
    promote(p, NAME, "v0.2.0", "staging", force=True, reason="test")

    shown = gto_api.show(str(project))  # what `gto show` prints, as data
    assert shown[NAME]["version"] == "v0.2.0"
    assert shown[NAME]["stage"] == {"prod": "v0.2.0", "staging": "v0.2.0"}
    for stage in ("prod", "staging"):
        assert registry.resolve(p, f"churn#{stage}").version == "v0.2.0"
    ours = {r.version: r.stages for r in registry.list_versions(p, NAME)}
    assert ours == {"v0.2.0": ["prod", "staging"], "v0.1.0": []}


def test_tag_names_match_gtos_documented_format(project: Path) -> None:
    p = open_project(project)
    register(p, NAME)
    promote(p, NAME, "v0.0.1", "dev", force=True, reason="x")
    deprecate(p, "churn#dev")
    deprecate(p, "churn@v0.0.1")
    deprecate(p, NAME)
    assert tags(project) == sorted(
        ["churn@v0.0.1", "churn#dev#1", "churn#dev!#2", "churn@v0.0.1!", "churn@deprecated"]
    )
    messages = {
        t: git(project, "tag", "-l", "--format=%(contents:subject)", t) for t in tags(project)
    }
    assert messages["churn@v0.0.1"] == "Registering artifact churn version v0.0.1"
    assert messages["churn#dev#1"] == "Assigning stage dev to artifact churn version v0.0.1"
    assert (
        messages["churn#dev!#2"] == "Unassigning stage 'dev' to artifact 'churn' version 'v0.0.1'"
    )
    assert messages["churn@v0.0.1!"] == "Deregistering artifact churn version v0.0.1"
    assert messages["churn@deprecated"] == "Deprecating artifact 'churn'"


# -- tags mlops did not write ------------------------------------------------------------


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
