"""`mlops gc`: remove from the DVC cache (and a remote) only what no kept version needs.

`dvc gc -w` keeps what the workspace references and nothing else, so the model in prod,
trained three versions ago, is deleted with the rest. Here the keep set is computed first,
completely, from git alone:

- every version holding a stage (registry tags, `tags.build_state`), with `keep_stages`;
- the last `keep_last` active versions of each model (by semver);
- every commit a branch (local or remote-tracking), HEAD or a tag points at, but for the
  registry's own tags (`churn@v0.1.0`, `churn#prod#3`): they keep a version only as the
  two rules above say, or nothing registered could ever be collected;
- the work tree's `.dvc` files and `dvc.lock`.

A version needs the objects its record names (`data.*.md5`, `artifact.dvc_md5`) and every
object the `.dvc` files and `dvc.lock` at its commits reference (the tag's commit and the
record's training commit, read with `git cat-file`, never checked out); a folder needs its
`.dir` listing and every file in it. An object is kept by md5 in both cache layouts (DVC 3's
`files/md5/` and DVC 2's top level).

Nothing is removed unless the whole keep set is known: a record or DVC file that does not
parse, a kept folder whose `.dir` listing is neither in the local cache nor on the DVC remote
(it is fetched from there, verified, when it is), or a remote that cannot be listed is an
InputError (exit 3) before anything is deleted. Removal holds mlops' repo
lock and DVC's own lock, so no `mlops data add` or `dvc add` writes an object meanwhile.
"""

from __future__ import annotations

import contextlib
import re
import shutil
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlops_cli.common.errors import InputError
from mlops_cli.common.fs import repo_lock
from mlops_cli.common.progress import NullReporter, Reporter
from mlops_cli.data import obligations
from mlops_cli.dvc import files as dvcfiles
from mlops_cli.dvc.files import Output
from mlops_cli.gitio import data as datagit
from mlops_cli.gitio import objects as gitobjects
from mlops_cli.gitio import refs as gitrefs
from mlops_cli.project.root import Project
from mlops_cli.registry import records as regrecords
from mlops_cli.registry import tags as regtags

DEFAULT_KEEP_LAST = 3
_OID = re.compile(r"^[0-9a-f]{30}(\.dir)?$")
_PREFIX = re.compile(r"^[0-9a-f]{2}$")


@dataclass(frozen=True)
class KeptVersion:
    model: str
    version: str
    commits: list[str]  # the tag's commit, then the record's training commit when different
    why: list[str]  # "stage prod", "last 3"


@dataclass(frozen=True)
class CacheObject:
    md5: str
    legacy: bool  # DVC 2's layout (the cache's top level)
    path: str  # relative to the cache (or remote) folder
    size: int | None
    kept_by: list[str] = field(default_factory=list)  # empty: not needed, removed


@dataclass(frozen=True)
class RemoteGc:
    name: str
    url: str | None
    kept: int
    removed: list[CacheObject]


@dataclass(frozen=True)
class GcResult:
    dry_run: bool
    keep_last: int
    keep_stages: bool
    cache: str
    versions: list[KeptVersion]
    revisions: dict[str, list[str]]  # commit -> what names it ("churn@v0.1.0", "main", "HEAD")
    kept: list[CacheObject]  # in the local cache and needed, with what needs each
    removed: list[CacheObject]  # in the local cache and not needed (would be, with dry_run)
    removed_bytes: int
    needed: int  # objects in the keep set (present in the cache or not)
    remote: RemoteGc | None


# ---------------------------------------------------------------- the keep set


def kept_versions(
    tags: list[gitrefs.TagInfo], keep_last: int, keep_stages: bool
) -> list[tuple[regtags.VersionState, str, list[str]]]:
    """(version state, model, why) of every version that must be kept."""
    models = regtags.build_state(tags)
    found: list[tuple[regtags.VersionState, str, list[str]]] = []
    for name, model in sorted(models.items()):
        why: dict[str, list[str]] = {}
        for v in model.active_versions()[: max(keep_last, 0)]:
            why.setdefault(v.version, []).append(f"last {keep_last}")
        if keep_stages:
            for stage, held in model.stage_holders().items():
                why.setdefault(held.version, []).append(f"stage {stage}")
        for version, reasons in why.items():
            found.append((model.versions[version], name, reasons))
    return found


class _KeepSet:
    """md5 -> what needs it; the problems that make it incomplete."""

    def __init__(self, cache: Path) -> None:
        self.cache = cache
        self.needed: dict[str, list[str]] = {}
        self.problems: list[str] = []
        self.missing: set[tuple[str, bool]] = set()  # folder listings not in the cache

    def add(self, md5: str, why: str) -> None:
        held = self.needed.setdefault(md5, [])
        if why not in held and len(held) < 20:  # enough to say why; a bound on the JSON
            held.append(why)

    def add_object(self, md5: str, legacy: bool, why: str, label: str) -> None:
        self.add(md5, why)
        if not md5.endswith(dvcfiles.DIR_SUFFIX):
            return
        listing = dvcfiles.dir_listing(self.cache, md5, legacy=legacy)
        if listing is None and not legacy:  # a record does not say which layout
            listing = dvcfiles.dir_listing(self.cache, md5, legacy=True)
        if listing is None:
            self.missing.add((md5, legacy))
            self.problems.append(
                f"{label}: the listing of folder object {md5} is not in the local cache, so"
                " the files it needs are unknown"
            )
            return
        for entry in listing:
            self.add(entry["md5"], why)

    def add_outputs(self, outs: Iterable[Output], label: str) -> None:
        for out in outs:
            if out.md5 is None or not out.cache:
                continue
            self.add_object(out.md5, out.legacy, f"{label}: {out.path} ({out.source})", label)


def _strict(files: Mapping[str, bytes], where: str) -> None:
    """ConfigError for a `.dvc` file or `dvc.lock` that does not parse (obligations' reader
    skips a broken `dvc.lock`: right for a push check, not for deciding what to delete)."""
    for path, text in files.items():
        if datagit.is_dvc_file(path):
            dvcfiles.load_yaml(text, f"{path} at {where}")


def _commit_outputs(root: Path, commits: Mapping[str, str]) -> Iterator[tuple[str, list[Output]]]:
    """(label, outputs) of each commit's whole tree, read with git only."""
    listed = {
        sha: datagit.tree_blobs(root, sha, keep=obligations.is_dvc_metadata) for sha in commits
    }
    contents = gitobjects.read_objects(
        root, sorted({b for f in listed.values() for b in f.values()})
    )
    memo: dict[frozenset[tuple[str, str]], list[Output]] = {}
    for sha, blobs in listed.items():
        key = frozenset(blobs.items())
        if key not in memo:
            files = {p: contents.get(b, b"") for p, b in blobs.items()}
            _strict(files, commits[sha])
            memo[key] = obligations.tree_outputs(files)
        yield commits[sha], memo[key]


def keep_set(
    project: Project,
    keep_last: int,
    keep_stages: bool,
    fetch: Callable[[set[tuple[str, bool]]], set[tuple[str, bool]]] | None = None,
) -> tuple[_KeepSet, list[KeptVersion], dict[str, list[str]]]:
    """What must stay, with why; InputError naming every problem when it is incomplete.

    `fetch` gets the folder listings missing from the local cache and returns the ones it
    put there (from the remote); the set is then computed again with them.
    """
    keep, versions, revisions = _keep_set(project, keep_last, keep_stages)
    if keep.missing and fetch is not None and fetch(set(keep.missing)):
        keep, versions, revisions = _keep_set(project, keep_last, keep_stages)
    if keep.problems:
        error = InputError(
            f"cannot tell what kept versions need, so nothing was removed: {keep.problems[0]}",
            hint="fetch the missing objects (`dvc fetch --all-tags --all-branches`), or run"
            " `mlops gc` in the clone that has them",
        )
        error.problems = keep.problems  # type: ignore[attr-defined]
        raise error
    return keep, versions, revisions


def _keep_set(
    project: Project, keep_last: int, keep_stages: bool
) -> tuple[_KeepSet, list[KeptVersion], dict[str, list[str]]]:
    root = project.root
    keep = _KeepSet(dvcfiles.cache_dir(root))
    revisions: dict[str, list[str]] = {}
    versions: list[KeptVersion] = []
    tags = gitrefs.list_tags(root)
    for state, model, why in kept_versions(tags, keep_last, keep_stages):
        label = f"{model}@{state.version}"
        record = regrecords.load_record(project, model, state.version)  # ConfigError: exit 3
        commits = list(dict.fromkeys([state.commit, record.git.get("commit") or state.commit]))
        versions.append(KeptVersion(model, state.version, commits, why))
        for sha in commits:
            revisions.setdefault(sha, []).append(label)
        for name, entry in sorted(record.data.items()):
            md5 = entry.get("md5")
            if isinstance(md5, str) and md5:
                keep.add_object(md5, False, f"{label}: record data {name}", label)
        art = record.artifact.get("dvc_md5")
        if isinstance(art, str) and art:
            keep.add_object(art, False, f"{label}: record artifact", label)
    # A registry tag keeps its version only as --keep-stages/--keep-last say (else every
    # registered version would be kept forever); any other tag, a release `v1.0`, keeps its
    # commit, as does every branch and HEAD.
    registry = {t.name for t in tags if regtags.parse_tag(t) is not None}
    for sha, names in gitrefs.ref_commits(root).items():
        others = [n for n in names if n not in registry]
        if others:
            revisions.setdefault(sha, []).extend(others)
    for label, outs in _commit_outputs(root, {s: n[0] for s, n in revisions.items()}):
        keep.add_outputs(outs, label)
    work = obligations.workspace_files(root)
    _strict(work, obligations.WORKSPACE)
    keep.add_outputs(obligations.tree_outputs(work), obligations.WORKSPACE)
    return keep, versions, revisions


# ---------------------------------------------------------------- the local cache


def cache_objects(cache: Path) -> list[CacheObject]:
    """Every object in a DVC cache folder: DVC 3's `files/md5/xx/...`, DVC 2's `xx/...`.
    In-flight copies (`.<random>.tmp`) and anything else are not objects."""
    found: list[CacheObject] = []
    for base, legacy in ((cache / "files" / "md5", False), (cache, True)):
        with contextlib.suppress(FileNotFoundError):
            for prefix in sorted(base.iterdir()):
                if not _PREFIX.match(prefix.name) or not prefix.is_dir():
                    continue
                for item in sorted(prefix.iterdir()):
                    if _OID.match(item.name) and item.is_file():
                        rel = item.relative_to(cache).as_posix()
                        md5 = prefix.name + item.name
                        found.append(CacheObject(md5, legacy, rel, item.stat().st_size))
    return found


def _remove_local(cache: Path, objects: list[CacheObject]) -> None:
    for obj in objects:
        path = cache / obj.path
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        if obj.md5.endswith(dvcfiles.DIR_SUFFIX):  # DVC 2's unpacked copy of a listing
            shutil.rmtree(f"{path}.unpacked", ignore_errors=True)
        with contextlib.suppress(OSError):
            path.parent.rmdir()  # only when empty


# ---------------------------------------------------------------- the command


def gc(
    project: Project,
    *,
    dry_run: bool = False,
    keep_stages: bool = True,
    keep_last: int = DEFAULT_KEEP_LAST,
    remote: str | None = None,
    use_remote: bool = False,
    reporter: Reporter | None = None,
) -> GcResult:
    """Remove what no kept version needs from the local cache (and, with `use_remote`, from
    the remote `remote`, else mlops.yaml's, else DVC's default); with `dry_run`, only say."""
    reporter = reporter or NullReporter()
    if keep_last < 0:
        raise InputError(f"--keep-last must be 0 or more, not {keep_last}")
    root = project.root
    if dry_run:
        return _run(project, dry_run, keep_stages, keep_last, remote, use_remote, reporter)
    from mlops_cli.dvc import driver

    with (
        repo_lock(root, "gc", on_warning=reporter.warn),
        driver.dvc_locked(root, reporter),
    ):
        return _run(project, dry_run, keep_stages, keep_last, remote, use_remote, reporter)


def _run(
    project: Project,
    dry_run: bool,
    keep_stages: bool,
    keep_last: int,
    remote: str | None,
    use_remote: bool,
    reporter: Reporter,
) -> GcResult:
    root = project.root
    reporter.step("reading what kept versions, branches, tags and the workspace need")
    keep, versions, revisions = keep_set(
        project,
        keep_last,
        keep_stages,
        lambda missing: _fetch_listings(project, remote, missing, reporter),
    )
    present = cache_objects(keep.cache)
    kept = [_with(o, keep.needed[o.md5]) for o in present if o.md5 in keep.needed]
    gone = [o for o in present if o.md5 not in keep.needed]
    remote_result: RemoteGc | None = None
    plan: Any = None
    if use_remote:
        from mlops_cli.data.sync import remote_of
        from mlops_cli.dvc import driver

        info = remote_of(project, remote)
        assert info.name is not None
        reporter.step(f"listing remote {info.name}")
        listed = driver.remote_objects(root, info.name, reporter)  # InputError: nothing removed
        unneeded = [(md5, legacy) for md5, legacy in listed if md5 not in keep.needed]
        plan = (info.name, unneeded)
        remote_result = RemoteGc(
            info.name,
            info.url,
            len(listed) - len(unneeded),
            [CacheObject(m, leg, _rel(m, leg), None) for m, leg in sorted(unneeded)],
        )
    if not dry_run:
        reporter.step(f"removing {len(gone)} object(s) from the local cache")
        _remove_local(keep.cache, gone)
        if plan is not None:
            from mlops_cli.dvc import driver

            reporter.step(f"removing {len(plan[1])} object(s) from remote {plan[0]}")
            driver.remote_remove(root, plan[0], plan[1], reporter)
    return GcResult(
        dry_run=dry_run,
        keep_last=keep_last,
        keep_stages=keep_stages,
        cache=str(keep.cache),
        versions=versions,
        revisions=revisions,
        kept=kept,
        removed=gone,
        removed_bytes=sum(o.size or 0 for o in gone),
        needed=len(keep.needed),
        remote=remote_result,
    )


def _fetch_listings(
    project: Project, remote: str | None, missing: set[tuple[str, bool]], reporter: Reporter
) -> set[tuple[str, bool]]:
    """Folder listings a kept version needs, fetched from the DVC remote (`remote`, else
    mlops.yaml's, else DVC's default): they are small, and without them what the folder's
    files are is unknown. Nothing fetched when no remote is configured."""
    from mlops_cli.data.sync import remote_of
    from mlops_cli.dvc import driver

    try:
        info = remote_of(project, remote)
    except InputError:
        return set()
    assert info.name is not None
    reporter.step(f"fetching {len(missing)} folder listing(s) from remote {info.name}")
    return driver.fetch_listings(
        project.root, info.name, missing, dvcfiles.cache_dir(project.root), reporter
    )


def _with(obj: CacheObject, why: list[str]) -> CacheObject:
    return CacheObject(obj.md5, obj.legacy, obj.path, obj.size, list(why))


def _rel(md5: str, legacy: bool) -> str:
    return dvcfiles.object_path(Path(), md5, legacy=legacy).as_posix()
