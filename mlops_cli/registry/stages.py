"""`mlops model promote` and `mlops model deprecate`, as GTO tags.

Promotion is gated: the version's committed record must hold tests that passed, on exactly
its artifact (sha256) and on its test data (md5). `--force` skips the gate only with a
reason, which goes into the tag message for everyone to read in `git show`.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from mlops_cli.common.errors import CheckFailed, InputError, UsageError
from mlops_cli.common.fs import repo_lock
from mlops_cli.gitio import refs as gitrefs
from mlops_cli.project.root import Project
from mlops_cli.registry import tags as regtags
from mlops_cli.registry.records import VersionRecord, load_record, model_config, parse_spec

_COUNTER = re.compile(r"#(\d+)$")


@dataclass(frozen=True)
class Promoted:
    model: str
    version: str
    stage: str
    tag: str | None  # None when the version was in the stage already
    replaced: list[str]  # versions unassigned from the stage
    forced: bool
    pushed_to: str | None = None
    signed: bool = False


def gate_problem(record: VersionRecord) -> str | None:
    """Why `record`'s tests do not allow promotion, or None when they do."""
    spec = f"{record.model}@{record.version}"
    tests = record.tests
    rerun = f"run `mlops test {spec} --record`"
    if not tests:
        return f"it has no recorded tests; {rerun}"
    sha = str(record.artifact.get("sha256", ""))
    tested = str(tests.get("artifact_sha256", ""))
    if tested != sha:
        return (
            f"its tests were recorded for artifact sha256 {tested[:12] or '?'}, not for its"
            f" artifact {sha[:12]}; {rerun}"
        )
    test_data = [d for d in record.data.values() if d.get("role") == "test" and d.get("md5")]
    if test_data and tests.get("data_md5") != test_data[0]["md5"]:
        return (
            f"its tests ran on test data md5 {str(tests.get('data_md5'))[:12]}, not on its"
            f" own ({test_data[0]['path']}, md5 {str(test_data[0]['md5'])[:12]}); {rerun}"
        )
    if not tests.get("passed"):
        failed = [str(c.get("name")) for c in tests.get("checks", []) if c.get("passed") is False]
        return f"its recorded tests failed ({', '.join(failed) or 'see the record'})"
    return None


def _next_counter(root_tags: list[gitrefs.TagInfo], name: str) -> int:
    # As GTO: one more than the largest counter among every tag of the model.
    top = 0
    for tag in root_tags:
        if tag.name.startswith((f"{name}#", f"{name}@")) and (m := _COUNTER.search(tag.name)):
            top = max(top, int(m[1]))
    return top + 1


def _stage(project: Project, stage: str) -> str:
    stages = project.config.stages
    if stage not in stages:
        close = difflib.get_close_matches(stage, stages, n=1)
        tip = f"; did you mean {close[0]!r}?" if close else ""
        raise InputError(
            f"unknown stage {stage!r}{tip}",
            hint=f"the stages in mlops.yaml are {', '.join(stages)}",
        )
    return regtags.check_name("stage", stage)


def promote(
    project: Project,
    name: str,
    version: str,
    stage: str,
    *,
    force: bool = False,
    reason: str | None = None,
    push: bool = False,
    sign: bool = False,
) -> Promoted:
    """Assign `stage` to `name@version` (tag `<name>#<stage>#<N>`), unassigning the previous
    holder; CheckFailed (exit 1) when the recorded tests do not allow it. With `sign`, git
    signs every tag it writes."""
    if force and not (reason and reason.strip()):
        raise UsageError("--force needs --reason TEXT: it is stored in the tag message")
    if sign:
        from mlops_cli.gitio.signing import require_signing

        require_signing(project.root)
    model_config(project, name)
    stage = _stage(project, stage)
    version = regtags.parse_version(version)
    root = project.root
    with repo_lock(root, f"model promote {name}@{version} {stage}"):
        tags = gitrefs.list_tags(root)
        current = regtags.build_state(tags).get(name) or regtags.ModelState(name)
        held = current.versions.get(version)
        if held is None or not held.active:
            what = "is deregistered" if held else "is not registered"
            raise InputError(f"{name}@{version} {what}", hint=f"`mlops model list {name}`")
        holders = current.holders(stage)
        if holders == [held]:
            return Promoted(name, version, stage, None, [], False)
        record = load_record(project, name, version)
        problem = gate_problem(record)
        if problem and not force:
            raise CheckFailed(
                f"refusing to promote {name}@{version} to {stage}: {problem}",
                hint="or, with a good reason: --force --reason TEXT",
            )
        counter = _next_counter(tags, name)
        message = regtags.assign_message(name, version, stage)
        if force:
            message += f"\n\nforced: {reason}\ngate: {problem or 'the recorded tests had passed'}"
        new = [gitrefs.NewTag(regtags.stage_tag(name, stage, counter), message, held.commit)]
        for other in holders:
            if other is held:
                continue
            counter += 1
            text = regtags.unassign_message(name, other.version, stage)
            new.append(
                gitrefs.NewTag(
                    regtags.stage_tag(name, stage, counter, cancel=True),
                    f"{text}\n\nreplaced by {version}",
                    other.commit,
                )
            )
        gitrefs.create_tags(root, new, f"mlops: promote {name}@{version} to {stage}", sign=sign)
    pushed = gitrefs.push(root, [f"refs/tags/{t.name}" for t in new]) if push else None
    return Promoted(
        name,
        version,
        stage,
        new[0].name,
        [h.version for h in holders if h is not held],
        force,
        pushed,
        sign,
    )


@dataclass(frozen=True)
class Deprecated:
    model: str
    tags: list[str]
    what: str  # "version", "stage" or "model"
    pushed_to: str | None = None


def deprecate(
    project: Project, spec: str, *, message: str | None = None, push: bool = False
) -> Deprecated:
    """GTO's three kinds: `name@v1.2.0` deregisters a version (`name@v1.2.0!`), `name#prod`
    empties a stage (`name#prod!#N`), `name` deprecates the whole model (`name@deprecated`)."""
    name, version, stage = parse_spec(spec)
    model_config(project, name)
    root = project.root
    with repo_lock(root, f"model deprecate {spec}"):
        tags = gitrefs.list_tags(root)
        current = regtags.build_state(tags).get(name) or regtags.ModelState(name)
        new: list[gitrefs.NewTag] = []
        if stage is not None:
            stage = _stage(project, stage)
            counter = _next_counter(tags, name)
            for held in current.holders(stage):
                text = regtags.unassign_message(name, held.version, stage)
                tag = regtags.stage_tag(name, stage, counter, cancel=True)
                new.append(gitrefs.NewTag(tag, message or text, held.commit))
                counter += 1
            if not new:
                raise InputError(f"no version of {name} is in stage {stage!r}")
            what = "stage"
        elif version not in (None, "latest"):
            registered = current.versions.get(version)
            if registered is None or not registered.active:
                what = "was deregistered already" if registered else "is not registered"
                raise InputError(f"{name}@{version} {what}")
            text = message or regtags.deregister_message(name, version)
            new.append(gitrefs.NewTag(f"{name}@{version}!", text, registered.commit))
            what = "version"
        else:
            if current.deprecated:
                raise InputError(f"{name} was deprecated already")
            target = current.events[-1].commit if current.events else gitrefs.head(root)
            text = message or regtags.deprecate_message(name)
            new.append(gitrefs.NewTag(f"{name}@deprecated", text, target))
            what = "model"
        gitrefs.create_tags(root, new, f"mlops: deprecate {spec}")
    pushed = gitrefs.push(root, [f"refs/tags/{t.name}" for t in new]) if push else None
    return Deprecated(name, [t.name for t in new], what, pushed)
