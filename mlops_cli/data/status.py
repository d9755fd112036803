"""`mlops data status` and the pre-push check, without importing DVC on the fast path.

Status compares each data set's workspace content with the md5 DVC recorded for it (its
`.dvc` file or `dvc.lock`), through the stat cache of `dvcfiles.Hasher`, so an unchanged
data set costs a few `stat`s. Only `--remote` against a non-local remote, and folders under
`.dvcignore` rules, need DVC itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from mlops_cli.common.errors import CheckFailed, InputError
from mlops_cli.common.progress import NullReporter, Reporter
from mlops_cli.dvc import files as dvcfiles
from mlops_cli.dvc.driver import RemoteInfo, remote_info
from mlops_cli.gitio import data as datagit
from mlops_cli.project.root import Project

Oid = tuple[str, bool]  # (md5, legacy)


@dataclass(frozen=True)
class DatasetStatus:
    dataset: str
    path: str
    state: str  # ok | modified | missing | untracked | unknown
    tracked_by: str | None  # "data/x.csv.dvc" or "dvc.lock:prepare"
    md5: str | None  # what DVC recorded
    workspace_md5: str | None
    size: int | None
    in_cache: bool | None  # every object of the recorded version is in the local cache
    dvc_file: str | None  # the tracking file in git: committed | staged | modified | untracked
    on_remote: bool | None  # None unless asked (--remote)
    hint: str | None


def status(
    project: Project,
    remote: bool = False,
    *,
    remote_name: str | None = None,
    reporter: Reporter | None = None,
) -> list[DatasetStatus]:
    """Per declared data set: workspace vs the version DVC recorded, whether the local cache
    has it, whether its tracking file is committed and, with `remote`, whether the remote
    has every object."""
    reporter = reporter or NullReporter()
    root = project.root
    cache = dvcfiles.cache_dir(root)
    rows: list[DatasetStatus] = []
    wanted: dict[int, list[Oid]] = {}
    outputs = workspace_outputs(root)
    with dvcfiles.Hasher(root) as hasher:
        for name, ds in project.config.datasets.items():
            rel = dvcfiles.join_posix(".", ds.path)
            row, ids = _one(root, cache, hasher, name, rel, outputs, reporter)
            rows.append(row)
            if ids is not None:
                wanted[len(rows) - 1] = ids
    sources = sorted({r.tracked_by.split(":")[0] for r in rows if r.tracked_by})
    states = datagit.status(root, [s for s in sources if (root / s).exists()])
    rows = [_with(r, dvc_file=states.get((r.tracked_by or "").split(":")[0])) for r in rows]
    if remote and wanted:
        info = remote_info(root, remote_name or project.config.remote)
        present = objects_on_remote(
            root, info, {o for ids in wanted.values() for o in ids}, reporter
        )
        rows = [
            _with(r, on_remote=all(o in present for o in wanted[i])) if i in wanted else r
            for i, r in enumerate(rows)
        ]
    return rows


def _with(row: DatasetStatus, **changes: object) -> DatasetStatus:
    from dataclasses import replace

    return replace(row, **changes)  # type: ignore[arg-type]


def _one(
    root: Path,
    cache: Path,
    hasher: dvcfiles.Hasher,
    name: str,
    rel: str,
    outputs: list[dvcfiles.Output],
    reporter: Reporter,
) -> tuple[DatasetStatus, list[Oid] | None]:
    """The status of one data set, and the objects its recorded version needs (None when
    unknown: not tracked, or a folder whose listing is not in the cache)."""
    outs = sorted(
        (o for o in outputs if o.md5 and dvcfiles.covers(o.path, rel)),
        key=lambda o: (o.path != rel, -len(o.path)),
    )
    target = root / rel
    if not outs:
        stage = dvcfiles.pipeline_stage(root, rel)
        hint = (
            f"an output of stage {stage} in dvc.yaml: run `dvc repro`"
            if stage
            else f"run `mlops data add {rel}`"
        )
        return DatasetStatus(
            name, rel, "untracked", None, None, None, None, None, None, None, hint
        ), None  # fmt: skip
    out = outs[0]
    md5, legacy = _expected(cache, out, rel)
    ids = dvcfiles.object_ids(cache, out) if out.pushable else None
    in_cache = ids is not None and all(
        dvcfiles.object_path(cache, m, legacy=lg).exists() for m, lg in ids
    )
    base = DatasetStatus(
        name, rel, "unknown", out.source, md5, None, out.size if out.path == rel else None,
        in_cache, None, None, None,
    )  # fmt: skip
    if not target.exists():
        return _with(base, state="missing", hint="run `mlops data pull`"), ids
    if md5 is None or legacy:
        why = "hashed by DVC 2" if legacy else "its folder's listing is not in the cache"
        return _with(base, hint=f"{why}; run `dvc status` for this one"), ids
    try:
        digest = hasher.digest(target)
        actual = digest.md5
    except dvcfiles.NeedsDvc:
        from mlops_cli.dvc.driver import dir_digest

        actual = dir_digest(root, target, reporter)
    if actual == md5:
        return _with(base, state="ok", workspace_md5=actual), ids
    hint = f"run `mlops data add {rel}` to version the change"
    return _with(base, state="modified", workspace_md5=actual, hint=hint), ids


def _expected(cache: Path, out: dvcfiles.Output, rel: str) -> tuple[str | None, bool]:
    """The md5 DVC recorded for `rel`: the output's own, or its entry in a tracked folder."""
    if out.path == rel:
        return out.md5, out.legacy
    listing = dvcfiles.dir_listing(cache, out.md5 or "", legacy=out.legacy)
    inner = rel[len(out.path) + 1 :]
    if listing is None:
        return None, out.legacy
    entries = [e for e in listing if e.get("relpath") == inner]
    if entries:
        return entries[0]["md5"], out.legacy
    # A folder inside the tracked folder: no md5 of its own in DVC's records.
    return None, out.legacy


def workspace_outputs(root: Path) -> list[dvcfiles.Output]:
    """The outputs DVC sees in the work tree, with DVC's flags (obligations.py)."""
    from mlops_cli.data.obligations import workspace_outputs as outputs

    return outputs(root)


def objects_on_remote(
    root: Path,
    info: RemoteInfo,
    oids: Iterable[Oid],
    reporter: Reporter,
    *,
    local_only: bool = False,
) -> set[Oid]:
    """Which objects the remote holds. A local-folder remote is answered with `stat` calls;
    any other remote by DVC (which then gets imported), or not at all with `local_only`."""
    wanted = set(oids)
    if not wanted:
        return set()
    folder = info.local_folder
    if folder is not None:
        return {o for o in wanted if dvcfiles.object_path(folder, o[0], legacy=o[1]).exists()}
    if local_only:
        return set()
    from mlops_cli.dvc.driver import remote_has

    return remote_has(root, info.name, wanted, reporter)


@dataclass(frozen=True)
class MissingObject:
    path: str
    md5: str
    source: str  # "data/x.csv.dvc" or "dvc.lock:prepare"
    rev: str = ""  # who needs it: "workspace", a registry tag, "HEAD" or a short commit sha
    commit: str | None = None  # the full sha of that commit (None: the workspace)


@dataclass(frozen=True)
class CheckPushedResult:
    remote: str | None
    url: str | None
    commits: int
    objects: int
    missing: list[MissingObject]


def remote_obligations(
    project: Project,
    *,
    from_ref: str | None = None,
    to_ref: str | None = None,
    workspace: bool = False,
    remote: str | None = None,
    reporter: Reporter | None = None,
) -> CheckPushedResult:
    """Which objects the revisions a push owes (obligations.revisions: the commits being
    pushed, every registry-tagged commit and, with `workspace`, the work tree) need on the
    DVC remote, and which of them it lacks. InputError when some are needed and no remote
    is configured."""
    from mlops_cli.data import obligations

    reporter = reporter or NullReporter()
    root = project.root
    info = remote_info(root, remote or project.config.remote)
    if from_ref and to_ref:
        base, tip = datagit.resolve(root, from_ref), datagit.resolve(root, to_ref)
        if tip is None or (base is not None and not datagit.commits_in_range(root, base, tip)):
            return CheckPushedResult(info.name, info.url, 0, 0, [])  # nothing is being sent
    elif to_ref and datagit.resolve(root, to_ref) is None:
        return CheckPushedResult(info.name, info.url, 0, 0, [])  # a branch being deleted
    revs = obligations.revisions(root, from_ref=from_ref, to_ref=to_ref, workspace=workspace)
    needed = obligations.needs(root, revs)
    if not needed:
        return CheckPushedResult(info.name, info.url, len(revs.commits), 0, [])
    if info.name is None:
        raise InputError(
            f"{len(needed)} DVC object(s) would be pushed, but no DVC remote is configured",
            hint="configure one with `dvc remote add -d NAME URL`",
        )
    reporter.step(f"checking {len(needed)} object(s) on remote {info.name}")
    present = objects_on_remote(root, info, set(needed), reporter)
    missing = sorted(
        (
            MissingObject(
                n.path,
                n.md5,
                n.source,
                revs.label(n.rev),
                None if n.rev == obligations.WORKSPACE else n.rev,
            )
            for o, held in needed.items()
            if o not in present
            for n in held
        ),
        key=lambda m: (m.path, m.md5),
    )
    return CheckPushedResult(info.name, info.url, len(revs.commits), len(needed), missing)


def check_pushed(
    project: Project,
    from_ref: str | None = None,
    to_ref: str | None = None,
    *,
    remote: str | None = None,
    reporter: Reporter | None = None,
) -> CheckPushedResult:
    """For a pre-push hook: every object the revisions being pushed owe the remote (the
    commits `from_ref..to_ref`, or without `from_ref` those no remote-tracking branch has,
    plus every registry-tagged commit) must be on the DVC remote, else CheckFailed listing
    them."""
    result = remote_obligations(
        project, from_ref=from_ref, to_ref=to_ref or "HEAD", remote=remote, reporter=reporter
    )
    if result.missing:
        raise missing_error(result, "referenced by the commits being pushed")
    return result


def missing_error(result: CheckPushedResult, needed_by: str) -> CheckFailed:
    """CheckFailed naming every output whose objects the remote lacks, and who needs it."""
    missing = result.missing
    paths = sorted({m.path for m in missing})
    message = (
        f"{len(missing)} DVC object(s) {needed_by} are not on remote {result.remote}:"
        f" {', '.join(paths)}"
    )
    error = CheckFailed(message, hint="run `mlops data push`, then push again")
    error.problems = [message] + [  # type: ignore[attr-defined]
        f"{m.path} ({m.md5}, from {m.source}, needed by {m.rev})" for m in missing
    ]
    return error
