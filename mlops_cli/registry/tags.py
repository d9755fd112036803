"""GTO's git-tag format, and the registry state it encodes.

Tags are exactly what GTO (https://github.com/iterative/gto) writes and reads, so `gto show`
lists our versions and stages:

    churn@v1.2.0        register version v1.2.0 (annotated; GTO's default message
                        "Registering artifact churn version v1.2.0")
    churn@v1.2.0!       deregister it (mlops: `model deprecate churn@v1.2.0`)
    churn#prod#7        assign stage prod to the version registered on the tag's commit;
                        7 is one more than the largest counter among the model's tags
    churn#prod!#8       unassign it (mlops writes one when another version is promoted)
    churn@deprecated    deprecate the whole model

A stage holds the active version with the highest semver among those whose latest event in
that stage is an assignment, as GTO decides by default; `mlops model promote` unassigns the
previous holder, so a stage holds one version. Events are ordered by tagger time, and among
tags of the same second by their counter, which GTO's own ordering (time only) agrees with
whenever the seconds differ.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Literal

from mlops_cli.common.errors import UsageError
from mlops_cli.gitio.refs import TagInfo

# GTO's own expressions (gto/constants.py), so a name we accept GTO accepts.
NAME = r"[a-zA-Z0-9]([a-zA-Z0-9-/_]*[a-zA-Z0-9])?"
SEMVER = (
    r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?"
)
_NAME_RE = re.compile(f"^{NAME}$")
_VERSION_RE = re.compile(f"^v{SEMVER}$")
_TAG_RE = re.compile(
    rf"^(?P<name>{NAME})(((#(?P<stage>{NAME})|@(?P<version>v{SEMVER}))(?P<cancel>!?))"
    rf"|@(?P<deprecated>deprecated))(#(?P<counter>[0-9]+))?$"
)

Action = Literal["register", "deregister", "assign", "unassign", "deprecate"]


def check_name(kind: str, value: str) -> str:
    if not _NAME_RE.match(value):
        raise UsageError(
            f"{kind} {value!r} cannot be used in a GTO tag: use letters, digits, '-', '_' and "
            "'/', starting and ending with a letter or digit"
        )
    return value


def parse_version(text: str) -> str:
    """`1.2.0` or `v1.2.0` -> `v1.2.0`; UsageError (exit 2) for anything that is not semver."""
    version = text if text.startswith("v") else f"v{text}"
    if not _VERSION_RE.match(version):
        raise UsageError(
            f"{text!r} is not a semantic version",
            hint="write it as vMAJOR.MINOR.PATCH, e.g. v1.2.0",
        )
    return version


@functools.cache  # a registry of 10,000 versions sorts them several times per command
def semver_key(version: str) -> tuple[int, int, int, int, tuple[tuple[int, int | str], ...]]:
    """Sort key of semver precedence: a pre-release sorts before its release."""
    match = _VERSION_RE.match(version)
    if not match:
        return (-1, -1, -1, -1, ())
    major, minor, patch, pre = int(match[1]), int(match[2]), int(match[3]), match[4]
    if not pre:
        return (major, minor, patch, 1, ())
    parts = tuple((0, int(p)) if p.isdigit() else (1, p) for p in pre.split("."))
    return (major, minor, patch, 0, parts)


def bump(latest: str | None, part: str) -> str:
    """The next version after `latest` (GTO: the first version is v0.0.1 unless bumped)."""
    if latest is None:
        return {"major": "v1.0.0", "minor": "v0.1.0", "patch": "v0.0.1"}[part]
    match = _VERSION_RE.match(latest)
    assert match is not None
    major, minor, patch = int(match[1]), int(match[2]), int(match[3])
    if part == "major":
        return f"v{major + 1}.0.0"
    if part == "minor":
        return f"v{major}.{minor + 1}.0"
    return f"v{major}.{minor}.{patch + 1}"


def register_tag(name: str, version: str) -> str:
    return f"{name}@{version}"


def register_message(name: str, version: str) -> str:
    return f"Registering artifact {name} version {version}"


def deregister_message(name: str, version: str) -> str:
    return f"Deregistering artifact {name} version {version}"


def assign_message(name: str, version: str, stage: str) -> str:
    return f"Assigning stage {stage} to artifact {name} version {version}"


def unassign_message(name: str, version: str, stage: str) -> str:
    return f"Unassigning stage '{stage}' to artifact '{name}' version '{version}'"


def deprecate_message(name: str) -> str:
    return f"Deprecating artifact '{name}'"


@dataclass(frozen=True)
class Event:
    action: Action
    model: str
    tag: str
    commit: str
    time: int
    message: str
    tagger: str
    version: str | None = None
    stage: str | None = None
    counter: int | None = None


def parse_tag(tag: TagInfo) -> Event | None:
    """The registry event a tag encodes; None for other tags and lightweight ones (as GTO)."""
    match = _TAG_RE.match(tag.name)
    if not match or not tag.annotated:
        return None
    cancel = match["cancel"] == "!"
    action: Action
    if match["deprecated"]:
        action = "deprecate"
    elif match["version"]:
        action = "deregister" if cancel else "register"
    else:
        action = "unassign" if cancel else "assign"
    return Event(
        action=action,
        model=match["name"],
        tag=tag.name,
        commit=tag.target,
        time=tag.time,
        message=tag.message,
        tagger=tag.tagger,
        version=match["version"],
        stage=match["stage"],
        counter=int(match["counter"]) if match["counter"] else None,
    )


@dataclass
class VersionState:
    version: str
    commit: str  # the commit the version tag points at
    tag: str
    registered_at: int
    message: str
    active: bool = True
    stages: dict[str, Event] = field(default_factory=dict)  # stage -> its latest assignment


@dataclass
class ModelState:
    name: str
    versions: dict[str, VersionState] = field(default_factory=dict)
    deprecated: bool = False
    max_counter: int = 0
    events: list[Event] = field(default_factory=list)

    def active_versions(self) -> list[VersionState]:
        found = [v for v in self.versions.values() if v.active]
        return sorted(found, key=lambda v: semver_key(v.version), reverse=True)

    def latest(self) -> VersionState | None:
        found = self.active_versions()
        return found[0] if found else None

    def in_stage(self, stage: str) -> VersionState | None:
        holders = [v for v in self.versions.values() if v.active and stage in v.stages]
        return max(holders, key=lambda v: semver_key(v.version)) if holders else None

    def holders(self, stage: str) -> list[VersionState]:
        return [v for v in self.active_versions() if stage in v.stages]

    def stages_of(self, version: str) -> list[str]:
        state = self.versions.get(version)
        if state is None or not state.active:
            return []
        return sorted(s for s in state.stages if self.in_stage(s) is state)

    def stage_holders(self) -> dict[str, VersionState]:
        """stage -> the version holding it, for every stage held (`stages_of` for all
        versions at once: one pass, not one per version)."""
        names = {s for v in self.versions.values() for s in v.stages}
        return {s: held for s in sorted(names) if (held := self.in_stage(s)) is not None}


def build_state(tags: list[TagInfo]) -> dict[str, ModelState]:
    """Replay every registry tag, oldest first, into each model's current state."""
    events = [e for e in (parse_tag(t) for t in tags) if e is not None]
    events.sort(key=lambda e: (e.time, e.counter if e.counter is not None else -1, e.tag))
    models: dict[str, ModelState] = {}
    # model -> commit -> the first version registered on it (what the scan of versions in
    # registration order found): a stage tag is resolved in O(1), not O(versions).
    by_commit: dict[str, dict[str, VersionState]] = {}
    for event in events:
        model = models.setdefault(event.model, ModelState(event.model))
        model.events.append(event)
        model.max_counter = max(model.max_counter, event.counter or 0)
        if event.action == "deprecate":
            model.deprecated = True
        elif event.action == "register" and event.version:
            held = VersionState(event.version, event.commit, event.tag, event.time, event.message)
            old = model.versions.get(event.version)
            model.versions[event.version] = held
            commits = by_commit.setdefault(event.model, {})
            if old is not None and commits.get(old.commit) is old:
                # Re-registered (a tag of the same version again): the dict keeps its
                # first position, so the first-registered lookup must be recomputed.
                commits.clear()
                for v in model.versions.values():
                    commits.setdefault(v.commit, v)
            else:
                commits.setdefault(event.commit, held)
        elif event.action == "deregister" and event.version in model.versions:
            model.versions[event.version].active = False
        elif event.action in ("assign", "unassign") and event.stage:
            # GTO finds the version of a stage tag by the commit it points at.
            state = by_commit.get(event.model, {}).get(event.commit)
            if state is None:
                continue
            if event.action == "assign":
                state.stages[event.stage] = event
            else:
                state.stages.pop(event.stage, None)
    return models


def stage_tag(name: str, stage: str, counter: int, *, cancel: bool = False) -> str:
    return f"{name}#{stage}{'!' if cancel else ''}#{counter}"


_GATE_LINE = re.compile(r"^gate: ", re.MULTILINE)
_RECORD_LINE = re.compile(r"^mlops record: ", re.MULTILINE)


def tag_warnings(tags: list[TagInfo], name: str | None = None) -> dict[str, list[str]]:
    """model -> what is odd about its registry tags: lightweight ones (never counted, as GTO
    ignores them) and annotated ones that mlops did not write (counted, as GTO counts them,
    but they did not go through `register` or the promotion gate). Where a stage policy
    asks for a signature, neither counts as a promotion (registry/policy.py)."""
    out: dict[str, list[str]] = {}
    for tag in tags:
        match = _TAG_RE.match(tag.name)
        if not match or (name is not None and match["name"] != name):
            continue
        problem = None
        if not tag.annotated:
            problem = (
                f"tag {tag.name} is lightweight (plain `git tag`): not counted, as GTO does;"
                f" remove it with `git tag -d '{tag.name}'`"
            )
        elif match["cancel"] or match["deprecated"]:
            continue
        elif match["stage"] and not _GATE_LINE.search(tag.message):
            problem = (
                f"tag {tag.name} was not made by `mlops model promote` (no gate line in its"
                " message): counted, as GTO does, but it did not go through the gate"
            )
        elif match["version"] and not _RECORD_LINE.search(tag.message):
            problem = (
                f"tag {tag.name} was not made by `mlops model register` (no `mlops record:`"
                " line in its message)"
            )
        if problem:
            out.setdefault(match["name"], []).append(problem)
    return out
