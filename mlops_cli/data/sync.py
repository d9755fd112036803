"""`mlops data push|pull`: move data set objects between the cache and a DVC remote.

Pulls are verified: every object is re-hashed on arrival, and an output is checked out only
when all its objects arrived intact, so a corrupt or missing object never costs the user
the copy they have.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mlops_cli.common.errors import InputError
from mlops_cli.common.fs import repo_lock
from mlops_cli.common.progress import NullReporter, Reporter
from mlops_cli.data import sharedremote
from mlops_cli.dvc import driver as dvcdata
from mlops_cli.dvc import files as dvcfiles
from mlops_cli.project.root import Project


@dataclass(frozen=True)
class PushResult:
    remote: str
    url: str | None
    pushed: int
    revisions: list[str]  # besides the workspace: the tags and commits whose data was pushed


def push(
    project: Project, remote: str | None = None, reporter: Reporter | None = None
) -> PushResult:
    """Upload what the remote is owed (obligations.py): the workspace's objects and those of
    every commit not yet on a git remote and every registry-tagged commit, so the version
    in prod reaches the remote however many versions came after it. CheckFailed when some
    are still missing afterwards (e.g. not in this clone's cache either)."""
    from mlops_cli.data.status import missing_error, remote_obligations

    reporter = reporter or NullReporter()
    info = _remote(project, remote)
    sharedremote.warn_first_push(info, reporter)  # a folder in a home: said once
    assert info.name is not None
    reporter.step(f"pushing to remote {info.name} ({info.url or 'url from DVC config'})")
    before = remote_obligations(project, workspace=True, remote=info.name, reporter=reporter)
    revs = sorted({m.rev for m in before.missing if m.commit})
    shas = sorted({m.commit for m in before.missing if m.commit})
    if revs:
        reporter.step(f"also pushing the data of {', '.join(revs)}")
    pushed = dvcdata.push(project.root, info.name, reporter, revs=shas)
    reporter.step(f"pushed {pushed} object(s)" if pushed else "the remote already has everything")
    if before.missing:
        after = remote_obligations(project, workspace=True, remote=info.name, reporter=reporter)
        if after.missing:
            error = missing_error(after, "needed by this clone's revisions")
            error.hint = (
                "they are not in this clone's DVC cache either: run `mlops data push` in the"
                " clone that made them (or `dvc fetch --rev REV` here first)"
            )
            raise error
    return PushResult(info.name, info.url, pushed, revs)


@dataclass(frozen=True)
class PullResult:
    remote: str
    url: str | None
    fetched: int
    added: list[str]
    modified: list[str]


def pull(
    project: Project, remote: str | None = None, reporter: Reporter | None = None
) -> PullResult:
    """Download every object the workspace references, each re-hashed on arrival, then check
    out the outputs whose objects all arrived. A corrupt or missing object fails the pull
    (InputError) and leaves its path in the workspace exactly as it was."""
    from mlops_cli.data.status import objects_on_remote, workspace_outputs

    reporter = reporter or NullReporter()
    root = project.root
    info = _remote(project, remote)
    reporter.step(f"pulling from remote {info.name} ({info.url or 'url from DVC config'})")
    with repo_lock(root, "data pull", on_warning=reporter.warn):
        # Which missing objects a local remote has, asked before DVC runs: its verification
        # deletes a corrupt object from a local remote, after which it looks merely missing.
        seen = objects_on_remote(root, info, set(_absent_locally(root)), reporter, local_only=True)
        fetched, failures = dvcdata.fetch(root, info.name, reporter)
        absent = _absent_locally(root)
        blocked = set(absent.values())
        ready = sorted({o.path for o in workspace_outputs(root) if o.pushable and o.md5} - blocked)
        done = dvcdata.checkout(root, ready, reporter)
        if absent or done.failed or failures:
            raise _pull_failure(root, info, absent, done.failed, failures, seen, reporter)
    changed = len(done.added) + len(done.modified)
    reporter.step(f"fetched {fetched} object(s), checked out {changed} path(s)")
    assert info.name is not None
    return PullResult(info.name, info.url, fetched, done.added, done.modified)


def remote_of(project: Project, name: str | None) -> dvcdata.RemoteInfo:
    """The DVC remote `name`, else mlops.yaml's `remote`, else DVC's default; InputError when
    there is none or it is not configured."""
    return _remote(project, name)


def _remote(project: Project, name: str | None) -> dvcdata.RemoteInfo:
    info = dvcdata.remote_info(project.root, name or project.config.remote)
    if info.name is None:
        raise InputError("no DVC remote is configured", hint=dvcdata.NO_REMOTE_HINT)
    if info.url is None:  # DVC itself fails with a KeyError on it (exit 70 before)
        raise InputError(
            f"no DVC remote named {info.name!r}", hint="`dvc remote list` shows the remotes"
        )
    return info


def _absent_locally(root: Path) -> dict[tuple[str, bool], str]:
    """The objects the workspace's outputs need that the local cache lacks, with a path each."""
    from mlops_cli.data.status import workspace_outputs

    cache = dvcfiles.cache_dir(root)
    absent: dict[tuple[str, bool], str] = {}
    for out in workspace_outputs(root):
        if not out.pushable or out.md5 is None:
            continue
        for oid in dvcfiles.object_ids(cache, out) or [(out.md5, out.legacy)]:
            if not dvcfiles.object_path(cache, oid[0], legacy=oid[1]).exists():
                absent.setdefault(oid, out.path)
    return absent


def _pull_failure(
    root: Path,
    info: dvcdata.RemoteInfo,
    absent: dict[tuple[str, bool], str],
    failed: list[str],
    failures: int,
    seen: set[tuple[str, bool]],
    reporter: Reporter,
) -> InputError:
    """Say which objects were corrupt (on the remote, but discarded by verification), which
    are missing from the remote, and which paths DVC left alone because they have changes."""
    from mlops_cli.data.status import objects_on_remote

    now = objects_on_remote(root, info, set(absent), reporter)
    was = now | seen
    corrupt = sorted({absent[o] for o in absent if o in was})
    missing = sorted({absent[o] for o in absent if o not in was})
    removed = any(o not in now for o in absent if o in was)
    where = f"remote {info.name} ({info.url})" if info.url else f"remote {info.name}"
    problems: list[str] = []
    if corrupt:
        problems.append(
            f"hash verification failed for {', '.join(corrupt)}: the copy on {where} does not"
            " match its md5, so it was discarded and the workspace keeps what it had"
            + ("; DVC deleted the corrupt copy from the remote" if removed else "")
        )
    if missing:
        problems.append(f"{', '.join(missing)}: not on {where}; the workspace keeps what it had")
    kept = sorted(set(failed) - set(corrupt) - set(missing))
    if kept:
        problems.append(
            f"{', '.join(kept)}: not checked out (local changes DVC will not overwrite)"
        )
    if not problems:
        problems.append(f"{failures} download(s) failed")
    hint = (
        "push good copies from a clone that has them (`mlops data push`)"
        + ("" if removed else ", after deleting the corrupt ones on the remote")
        if corrupt
        else "run `mlops data push` in the clone that has this data"
        if missing
        else "version them with `mlops data add`, or delete them and pull again"
    )
    message = f"data pull failed: {problems[0]}"
    error = InputError(message, hint=hint)
    error.problems = [message, *problems[1:]]  # type: ignore[attr-defined]
    return error
