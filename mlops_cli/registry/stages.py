"""`mlops model promote` and `mlops model deprecate`, as GTO tags.

Promotion is gated (`gate.py`): the version's committed record must hold tests that cover
the checks mlops.yaml declares and passed, on exactly the registered artifact (sha256) and
data (md5). `--force` skips the gate only with a reason, which goes into the tag message for
everyone to read in `git show`. A stage with a `policy:` also needs the signatures it names
(`policy.py`), which `--force` does not skip.
"""

from __future__ import annotations

import difflib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mlops_cli.common.errors import CheckFailed, InputError, UsageError
from mlops_cli.common.fs import repo_lock
from mlops_cli.gitio import refs as gitrefs
from mlops_cli.project.root import Project
from mlops_cli.registry import tags as regtags
from mlops_cli.registry.gate import gate_problem
from mlops_cli.registry.policy import check_policy
from mlops_cli.registry.records import load_record, model_config, parse_spec

if TYPE_CHECKING:
    from pathlib import Path

_COUNTER = re.compile(r"#(\d+)$")

# Given the registry state the new tags make, the files to commit with them (path -> bytes,
# None to delete): deploy/gitops.py's overlay rewrite, passed in from above (the registry
# does not know about deploy/).
TreeHook = Callable[[dict[str, regtags.ModelState]], dict[str, bytes | None]]


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
    commit: str | None = None  # the commit holding the overlay change, when there was one
    files: list[str] = field(default_factory=list)  # what that commit changed


def _after(tags: list[gitrefs.TagInfo], new: list[gitrefs.NewTag]) -> dict[str, regtags.ModelState]:
    """The registry state once `new` exist (they sort last: now, and the highest counters)."""
    now = int(time.time())
    pending = [gitrefs.TagInfo(t.name, True, t.target or "", now, "", t.message) for t in new]
    return regtags.build_state([*tags, *pending])


def _write(
    root: Path,
    tags: list[gitrefs.TagInfo],
    new: list[gitrefs.NewTag],
    reason: str,
    *,
    sign: bool,
    tree: TreeHook | None,
) -> tuple[str | None, str | None, list[str]]:
    """Create `new`; when `tree` has files to change, as one commit on HEAD plus the tags in
    one ref transaction (the tags still point at the versions' own commits, as GTO needs).
    Returns (the commit or None, its parent, the paths it changed). `tree` must write at
    least one file when it changes anything (deploy/gitops.py always rewrites the
    overlay's kustomization.yaml)."""
    changes = tree(_after(tags, new)) if tree is not None else {}
    if not any(b is not None for b in changes.values()):
        gitrefs.create_tags(root, new, reason, sign=sign)
        return None, None, []
    parent = gitrefs.head(root)
    writes = [(p, b) for p, b in sorted(changes.items()) if b is not None]
    removes = sorted(p for p, b in changes.items() if b is None)
    first, *rest = writes
    lines = "\n".join(f"  {p}" for p in sorted(changes))
    commit = gitrefs.commit_file(
        root,
        first[0],
        first[1],
        f"{reason}\n\nThe stage tags and this overlay change are one transaction:\n{lines}",
        expect_head=parent,
        tags=new,
        also=rest,
        remove=removes,
        sign=sign,
    )
    return commit, parent, sorted(changes)


def _push(root: Path, commit: str | None, new: list[gitrefs.NewTag]) -> str:
    return gitrefs.push(
        root, [*(["HEAD"] if commit else []), *(f"refs/tags/{t.name}" for t in new)]
    )


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
    tree: TreeHook | None = None,
) -> Promoted:
    """Assign `stage` to `name@version` (tag `<name>#<stage>#<N>`), unassigning the previous
    holder; CheckFailed (exit 1) when the recorded tests do not allow it. With `sign`, git
    signs every tag it writes. `tree`: files to commit with the tags (the GitOps overlay)."""
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
        models = regtags.build_state(tags)
        current = models.get(name) or regtags.ModelState(name)
        held = current.versions.get(version)
        if held is None or not held.active:
            what = "is deregistered" if held else "is not registered"
            raise InputError(f"{name}@{version} {what}", hint=f"`mlops model list {name}`")
        holders = current.holders(stage)
        if holders == [held]:
            return Promoted(name, version, stage, None, [], False)
        record = load_record(project, name, version)
        problem = gate_problem(project, record, models)
        if problem and not force:
            raise CheckFailed(
                f"refusing to promote {name}@{version} to {stage}: {problem}",
                hint="or, with a good reason: --force --reason TEXT",
            )
        counter = _next_counter(tags, name)
        message = regtags.assign_message(name, version, stage)
        # --force skips the test gate, never the policy: signatures are access control.
        rule = project.config.policy.stages.get(stage)
        signs_promotion = sign and rule is not None and "promotion" in rule.require
        if refused := check_policy(project, name, version, stage, promotion_pending=sign):
            tag = regtags.stage_tag(name, stage, counter)
            raise CheckFailed(
                f"refusing to promote {name}@{version} to {stage}: the policy is not met:"
                f" {'; '.join(refused)}",
                hint=f"promote with --sign (or sign the stage tag yourself: git tag -s '{tag}'"
                f" -m '{message}' {held.commit})"
                if "promotion" in project.config.policy.stages[stage].require and not sign
                else "sign what the policy names (docs/security.md#stage-policies)",
            )
        if force:
            message += f"\n\nforced: {reason}\ngate: {problem or 'the recorded tests had passed'}"
        else:
            message += "\n\ngate: passed"
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
        reason_line = f"mlops: promote {name}@{version} to {stage}"
        commit, parent, files = _write(root, tags, new, reason_line, sign=sign, tree=tree)
        if signs_promotion:
            _verify_signed_promotion(project, name, version, stage, new, (commit, parent, files))
    pushed = _push(root, commit, new) if push else None
    return Promoted(
        name,
        version,
        stage,
        new[0].name,
        [h.version for h in holders if h is not held],
        force,
        pushed,
        sign,
        commit,
        files,
    )


def _verify_signed_promotion(
    project: Project,
    name: str,
    version: str,
    stage: str,
    new: list[gitrefs.NewTag],
    made: tuple[str | None, str | None, list[str]],
) -> None:
    """The stage tag just signed must meet the policy (the key is yours, but is it one the
    policy's group allows?); if not, the tags just written (and the overlay commit, if
    any) are taken back, before anything is pushed, and the promotion is refused."""
    refused = check_policy(project, name, version, stage, promotion_tag=new[0].name)
    if not refused:
        return
    commit, parent, files = made
    if commit is not None and parent is not None:
        gitrefs.undo_commit(project.root, commit, parent, [t.name for t in new], files)
    else:
        gitrefs.delete_tags(project.root, [t.name for t in new], f"mlops: promote {name} undone")
    raise CheckFailed(
        f"refusing to promote {name}@{version} to {stage}: the policy is not met:"
        f" {'; '.join(refused)}",
        hint="sign with a key your allowed-signers file lists for the policy's group"
        " (docs/security.md#stage-policies); nothing was kept",
    )


@dataclass(frozen=True)
class Deprecated:
    model: str
    tags: list[str]
    what: str  # "version", "stage" or "model"
    pushed_to: str | None = None
    signed: bool = False
    commit: str | None = None
    files: list[str] = field(default_factory=list)


def deprecate(
    project: Project,
    spec: str,
    *,
    message: str | None = None,
    push: bool = False,
    sign: bool = False,
    tree: TreeHook | None = None,
) -> Deprecated:
    """GTO's three kinds: `name@v1.2.0` deregisters a version (`name@v1.2.0!`), `name#prod`
    empties a stage (`name#prod!#N`), `name` deprecates the whole model (`name@deprecated`).
    With `sign`, git signs every tag it writes (as `promote --sign`)."""
    name, version, stage = parse_spec(spec)
    if sign:
        from mlops_cli.gitio.signing import require_signing

        require_signing(project.root)
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
        commit, _, files = _write(root, tags, new, f"mlops: deprecate {spec}", sign=sign, tree=tree)
    pushed = _push(root, commit, new) if push else None
    return Deprecated(name, [t.name for t in new], what, pushed, sign, commit, files)
