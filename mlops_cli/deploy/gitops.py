"""The GitOps layout: `deploy/base/<model>/` and `deploy/overlays/<stage>/`, kustomize folders.

`deploy/base/<model>/` is written once by `mlops deploy init` and is the user's from then on:
the Deployment and Service of `manifests.render`, less everything that belongs to a version,
with the placeholder image `mlops.dev/<model>`. `deploy/overlays/<stage>/` is mlops's: a
kustomization naming the base of every model holding the stage, an `images:` entry pinning
the placeholder to the registry name and digest recorded at push, and one strategic-merge
patch per model with the version's own parts (lineage labels and annotations, env, startup
probe). So `kubectl kustomize deploy/overlays/prod` renders what `mlops deploy render
churn#prod` prints, as long as the base is as init wrote it.

`overlay_changes` computes the overlay files for a registry state that is about to exist;
`registry/stages.py` commits them together with the stage tags (the `OverlayHook`), so
a stage change and the overlay that deploys it are one commit.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import yaml

from mlops_cli.common.errors import ConflictError, InputError, UnsafeError
from mlops_cli.common.fs import repo_lock
from mlops_cli.deploy.manifests import Release, release_from_record, render
from mlops_cli.gitio import refs as gitrefs
from mlops_cli.registry import tags as regtags
from mlops_cli.registry.records import load_record

if TYPE_CHECKING:
    from pathlib import Path

    from mlops_cli.project.root import Project
    from mlops_cli.registry.stages import Promoted

DEPLOY = "deploy"
PLACEHOLDER = "mlops.dev/{model}"
KUSTOMIZATION = "kustomization.yaml"
PATCH_SUFFIX = ".patch.yaml"
OWNED_HEADER = (
    "# Owned by mlops: `mlops model promote|deprecate` and `mlops deploy rollback` rewrite this\n"
    "# folder in the commit of every stage change of {stage}. Edits here are overwritten;\n"
    "# change deploy/base/<model>/ instead (docs/deploy.md).\n"
)
BASE_HEADER = (
    "# Written by `mlops deploy init`; yours from now on (mlops never rewrites it).\n"
    "# deploy/overlays/<stage>/ sets the image digest and the version's labels (docs/deploy.md).\n"
)

# A map of path -> new content, None to remove the tracked file.
Changes = dict[str, bytes | None]
OverlayHook = Callable[[dict[str, regtags.ModelState]], Changes]


def _dump(obj: Any) -> str:
    return yaml.safe_dump(obj, sort_keys=True, default_flow_style=False)


def _docs(objects: list[dict[str, Any]]) -> str:
    return "---\n".join(_dump(o) for o in objects)


def _placeholder(model: str, uid: int) -> Release:
    return Release(
        model=model,
        version="",
        image=PLACEHOLDER.format(model=model),
        digest="sha256:" + "0" * 64,
        artifact_sha256="",
        uid=uid,
    )


def base_files(model: str, uid: int) -> dict[str, bytes]:
    """deploy/base/<model>/: the rendered objects without the version's parts."""
    dep, svc = render(_placeholder(model, uid))
    for meta in (dep["metadata"], dep["spec"]["template"]["metadata"], svc["metadata"]):
        meta["labels"] = {
            k: v for k, v in meta["labels"].items() if k != "app.kubernetes.io/version"
        }
        meta.pop("annotations", None)
    container = dep["spec"]["template"]["spec"]["containers"][0]
    container["image"] = PLACEHOLDER.format(model=model)
    for key in ("env", "startupProbe"):
        container.pop(key)
    kust = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": ["deployment.yaml", "service.yaml"],
    }
    folder = f"{DEPLOY}/base/{model}"
    return {
        f"{folder}/{KUSTOMIZATION}": (BASE_HEADER + _dump(kust)).encode(),
        f"{folder}/deployment.yaml": (BASE_HEADER + _dump(dep)).encode(),
        f"{folder}/service.yaml": (BASE_HEADER + _dump(svc)).encode(),
    }


def _patch(rel: Release) -> list[dict[str, Any]]:
    """The version's parts of `render(rel)`, as strategic-merge patches of the base."""
    dep, svc = render(rel)
    container = dep["spec"]["template"]["spec"]["containers"][0]
    tmeta = dep["spec"]["template"]["metadata"]
    return [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": copy.deepcopy(dep["metadata"]),
            "spec": {
                "template": {
                    "metadata": copy.deepcopy(tmeta),
                    "spec": {
                        "containers": [
                            {
                                "name": container["name"],
                                "env": container["env"],
                                "startupProbe": container["startupProbe"],
                            }
                        ]
                    },
                }
            },
        },
        {"apiVersion": "v1", "kind": "Service", "metadata": copy.deepcopy(svc["metadata"])},
    ]


def overlay_files(stage: str, releases: list[Release]) -> dict[str, bytes]:
    """deploy/overlays/<stage>/ for the versions holding it, one per model."""
    folder = f"{DEPLOY}/overlays/{stage}"
    releases = sorted(releases, key=lambda r: r.model)
    files: dict[str, bytes] = {}
    for rel in releases:
        files[f"{folder}/{rel.model}{PATCH_SUFFIX}"] = _docs(_patch(rel)).encode()
    kust = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": [f"../../base/{r.model}" for r in releases],
        "images": [
            {
                "name": PLACEHOLDER.format(model=r.model),
                "newName": r.image,
                "digest": r.digest,
            }
            for r in releases
        ],
        "patches": [{"path": f"{r.model}{PATCH_SUFFIX}"} for r in releases],
    }
    header = OWNED_HEADER.format(stage=stage)
    files[f"{folder}/{KUSTOMIZATION}"] = (header + _dump(kust)).encode()
    return files


def refuse_symlinks(root: Path, paths: list[str]) -> None:
    """UnsafeError (exit 4) when any existing component of `paths` under the project is a
    symlink: a write through `deploy/overlays -> /elsewhere` would land outside the repo."""
    for rel in paths:
        parts = rel.split("/")
        for depth in range(1, len(parts) + 1):
            here = root.joinpath(*parts[:depth])
            if here.is_symlink():
                raise UnsafeError(
                    f"{here.relative_to(root)} is a symlink; mlops writes deploy/ only through"
                    " real folders",
                    hint="replace the symlink by a real folder or file; nothing was written",
                )


def _releases(
    project: Project, stage: str, models: dict[str, regtags.ModelState], uid: int
) -> list[Release]:
    found = []
    for name in sorted(project.config.models):
        state = models.get(name)
        if state is None or state.deprecated:
            continue
        held = state.in_stage(stage)
        if held is None:
            continue
        rel = release_from_record(load_record(project, name, held.version), uid=uid)
        if not rel.digest:
            raise InputError(
                f"{name}@{held.version} holds {stage} but has no pushed image digest, so"
                f" deploy/overlays/{stage} cannot pin it",
                hint="run `mlops image push` for it first; nothing was written",
            )
        found.append(rel)
    return found


def overlay_stages(root: Path, rev: str = "HEAD") -> list[str]:
    """The stages with an overlay committed at `rev` (empty: no GitOps layout)."""
    prefix = f"{DEPLOY}/overlays/"
    stages = set()
    for path in gitrefs.ls_tree(root, rev, prefix):
        rest = path[len(prefix) :].split("/")
        if len(rest) == 2 and rest[1] == KUSTOMIZATION:
            stages.add(rest[0])
    return sorted(stages)


def overlay_changes(
    project: Project, models: dict[str, regtags.ModelState], uid: int, stages: list[str]
) -> Changes:
    """What to write and remove so every overlay in `stages` deploys `models`' holders:
    only the files that differ from HEAD. Refuses (exit 3) a holder without a digest and an
    overlay file with uncommitted changes, and (exit 4) symlinks, before anything is written."""
    root = project.root
    changes: Changes = {}
    for stage in stages:
        releases = _releases(project, stage, models, uid)
        want: dict[str, bytes] = overlay_files(stage, releases)
        for rel in releases:  # a model declared after init gets its base
            base = base_files(rel.model, uid)
            if not gitrefs.is_tracked(root, f"{DEPLOY}/base/{rel.model}/{KUSTOMIZATION}"):
                want.update({p: b for p, b in base.items() if not (root / p).exists()})
        folder = f"{DEPLOY}/overlays/{stage}/"
        have = gitrefs.ls_tree_ids(root, "HEAD", folder)
        mine = {f"{folder}{m}{PATCH_SUFFIX}" for m in project.config.models}
        found: Changes = {p: d for p, d in want.items() if gitrefs.read_blob(root, "HEAD", p) != d}
        found.update({p: None for p in have if p in mine and p not in want})
        if found:  # the kustomization is always among what is written (the commit adds a file)
            kust = f"{folder}{KUSTOMIZATION}"
            changes.update({kust: want[kust], **found})
    refuse_symlinks(root, sorted(changes))
    dirty = gitrefs.dirty_paths(root, sorted(changes))
    if dirty:
        raise ConflictError(
            "the overlay files to rewrite have uncommitted changes: "
            + ", ".join(f"{p} ({why})" for p, why in sorted(dirty.items())),
            paths=sorted(dirty),
            hint="commit or discard them (deploy/overlays/ is mlops's); nothing was written",
        )
    return changes


def hook(project: Project, uid: int) -> OverlayHook | None:
    """The overlay rewrite promote/deprecate run, or None when no overlay is committed."""
    stages = overlay_stages(project.root)
    if not stages:
        return None
    return lambda models: overlay_changes(project, models, uid, stages)


@dataclass(frozen=True)
class Initialized:
    commit: str
    written: list[str]
    stages: list[str]


def init(
    project: Project, *, uid: int, stages: list[str] | None = None, overwrite: tuple[str, ...] = ()
) -> Initialized:
    """Write and commit (one commit) deploy/base/<model>/ for every model in mlops.yaml and
    deploy/overlays/<stage>/ for every stage, from the committed tags and records."""
    root = project.root
    chosen = list(stages or project.config.stages)
    for stage in chosen:
        if stage not in project.config.stages:
            raise InputError(
                f"unknown stage {stage!r}",
                hint=f"the stages in mlops.yaml are {', '.join(project.config.stages)}",
            )
    if not project.config.models:
        raise InputError("mlops.yaml declares no model", hint="`mlops model add NAME` first")
    with repo_lock(root, "deploy init"):
        models = regtags.build_state(gitrefs.list_tags(root))
        files: dict[str, bytes] = {}
        for name in sorted(project.config.models):
            files.update(base_files(name, uid))
        for stage in chosen:
            files.update(overlay_files(stage, _releases(project, stage, models, uid)))
        paths = sorted(files)
        refuse_symlinks(root, paths)
        allowed = {p.rstrip("/") for p in overwrite}
        taken = [p for p in paths if (root / p).exists() and p not in allowed]
        if taken:
            raise ConflictError(
                f"deploy init would overwrite {len(taken)} existing file(s): {', '.join(taken)}",
                paths=taken,
                hint="move them away, or name each with --overwrite PATH; nothing was written",
            )
        expect = gitrefs.head(root)
        first, *rest = paths
        commit = gitrefs.commit_file(
            root,
            first,
            files[first],
            "mlops: deploy init (deploy/base, deploy/overlays/"
            + ",".join(chosen)
            + ")\n\nWritten by `mlops deploy init`.",
            expect_head=expect,
            also=[(p, files[p]) for p in rest],
        )
    return Initialized(commit, paths, chosen)


def previous_holder(state: regtags.ModelState, stage: str) -> str | None:
    """The version that held `stage` before its current holder, from the stage's assignment
    history (the latest earlier assignment of another version that is still active)."""
    current = state.in_stage(stage)
    if current is None:
        return None
    by_commit: dict[str, str] = {}
    for v in state.versions.values():
        by_commit.setdefault(v.commit, v.version)
    history = [
        by_commit.get(e.commit)
        for e in state.events
        if e.action == "assign" and e.stage == stage and e.commit in by_commit
    ]
    # Drop the current holder's own latest run of assignments, then look back.
    while history and history[-1] == current.version:
        history.pop()
    for version in reversed(history):
        held = state.versions.get(version or "")
        if held is not None and held.active and held.version != current.version:
            return held.version
    return None


def rollback(
    project: Project,
    name: str,
    stage: str,
    *,
    uid: int,
    force: bool = False,
    reason: str | None = None,
    push: bool = False,
    sign: bool = False,
) -> Promoted:
    """Promote the version that held `stage` before the current one (one commit with the
    overlay, plus the stage tags); InputError (exit 3) when there is none."""
    from mlops_cli.registry.records import model_config
    from mlops_cli.registry.stages import promote

    model_config(project, name)
    tags = gitrefs.list_tags(project.root, [f"{name}@*", f"{name}#*"])
    state = regtags.build_state(tags).get(name)
    previous = previous_holder(state, stage) if state is not None else None
    if state is None or previous is None:
        now = state.in_stage(stage) if state is not None else None
        what = f"{name}@{now.version} holds {stage}" if now else f"no version holds {stage}"
        raise InputError(
            f"cannot roll back {name} in {stage}: {what}, and no earlier active version held it",
            hint=f"promote one yourself: `mlops model promote {name} vX.Y.Z {stage}`",
        )
    if not force:
        reason = None
    return promote(
        project,
        name,
        previous,
        stage,
        force=force,
        reason=reason,
        push=push,
        sign=sign,
        tree=hook(project, uid),
    )
