"""`mlops template update`: merge a newer template version into a project, three-way.

base   = the template version the project was made from, rendered with its recorded answers
theirs = the new version, rendered with the same answers (plus any --set)
ours   = the project's files as they are now

Where only the template changed, the new text is taken; where only the user changed, theirs
is kept; where both changed, `git merge-file` merges and marks conflicts in the file. A file
the user deleted stays deleted; a file the template dropped is removed only if the user never
edited it. Nothing is committed: the user reviews the change with `git diff`.

Where the old version comes from, in order: the template folder's git tags (`v1.2.0`,
`1.2.0`, `<name>-v1.2.0`), a snapshot of a built-in template under `_history/<name>/<version>`
(a reverse patch against the next version, rebuilt by `history.materialize`), and, failing
both, the project's own scaffold commit (pristine output of the old version).
"""

from __future__ import annotations

import contextlib
import difflib
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from mlops_cli.common.errors import ConfigError, InputError
from mlops_cli.common.fs import atomic_write_bytes, ensure_inside, repo_lock
from mlops_cli.common.progress import NullReporter, Reporter
from mlops_cli.gitio import objects as gitobjects
from mlops_cli.gitio import porcelain
from mlops_cli.gitio import repo as gitrepo
from mlops_cli.gitio.run import git
from mlops_cli.project.root import CONFIG_FILE, Project
from mlops_cli.scaffold import history
from mlops_cli.scaffold.init import render_project
from mlops_cli.scaffold.render import RenderedFile
from mlops_cli.scaffold.templates import (
    Template,
    builtin_root,
    load_template_dir,
    resolve_answers,
    resolve_template,
)

Outcome = Literal["updated", "merged", "conflict", "added", "removed", "kept", "skipped"]


@dataclass(frozen=True)
class FileUpdate:
    path: str
    outcome: Outcome
    note: str = ""
    diff: str = ""


@dataclass(frozen=True)
class UpdateResult:
    template: str
    from_version: str
    to_version: str
    base_source: str
    dry_run: bool
    files: list[FileUpdate] = field(default_factory=list)

    @property
    def conflicts(self) -> list[str]:
        return [f.path for f in self.files if f.outcome == "conflict"]


def update_project(
    project: Project,
    *,
    template_ref: str | None = None,
    sets: dict[str, str] | None = None,
    dry_run: bool = False,
    reporter: Reporter | None = None,
) -> UpdateResult:
    reporter = reporter or NullReporter()
    record = project.config.template
    if record is None:
        raise ConfigError(
            f"{project.config_path}: no `template:` record, so there is nothing to update from",
            hint="only projects made by `mlops init` can be updated",
        )
    _require_clean(project.root)
    new = resolve_template(template_ref or record.name, cwd=project.root)
    answers_new = resolve_answers(
        new, sets or {}, dest_name=project.root.name, previous=record.answers
    )
    # A dry run is read-only: it takes no lock and leaves no .mlops/lock behind.
    lock = (
        contextlib.nullcontext()
        if dry_run
        else repo_lock(project.root, "mlops template update", on_warning=reporter.warn)
    )
    with (
        lock,
        _base_files(project, new, record.name, record.version, record.answers) as base,
    ):
        base_files, source = base
        reporter.step(f"base: {record.name} {record.version} ({source})")
        theirs = {f.rel: f for f in render_project(new, answers_new)}
        return UpdateResult(
            template=new.ref,
            from_version=record.version,
            to_version=new.version,
            base_source=source,
            dry_run=dry_run,
            files=_merge_all(project.root, base_files, theirs, dry_run, reporter),
        )


def _require_clean(root: Path) -> None:
    proc = git(root, "status", "--porcelain=v1", "-z", "--untracked-files=no", check=False)
    if proc.returncode != 0:
        raise InputError(f"{root} is not a git work tree", hint="template update needs git")
    dirty = porcelain.parse(proc.stdout, errors="replace")
    if dirty:
        changed = ", ".join(list(dirty)[:5])
        raise InputError(
            f"the work tree has uncommitted changes ({changed}); nothing was changed",
            hint="commit or stash them first, so the update can be reviewed on its own",
        )


Base = tuple[dict[str, RenderedFile] | None, str]


@contextmanager
def _base_files(
    project: Project, new: Template, ref: str, version: str, answers: dict[str, Any]
) -> Iterator[Base]:
    """The old version's output; `None` for files means "use the scaffold commit"."""
    if new.version == version and (new.ref == ref or new.name == ref):
        yield {f.rel: f for f in render_project(new, answers, ref=ref)}, "the current template"
        return
    with tempfile.TemporaryDirectory(prefix="mlops-template-") as tmp:
        old = _old_version(new, version, Path(tmp))
        if old is not None:
            tpl, source = old
            yield {f.rel: f for f in render_project(tpl, answers, ref=ref)}, source
            return
    commit = _scaffold_commit(project.root, version)
    if commit is None:
        raise InputError(
            f"template {ref!r} version {version} is not available to merge from: no git tag "
            "for it in the template folder, no snapshot, and no scaffold commit in this project",
            hint="pass --template PATH pointing at a checkout of the template with version tags",
        )
    yield _files_at_commit(project.root, commit), f"scaffold commit {commit[:10]}"


def _old_version(new: Template, version: str, tmp: Path) -> tuple[Template, str] | None:
    snapshot = builtin_root() / history.HISTORY_DIR / new.name / version
    if new.builtin and history.is_entry(snapshot):
        rebuilt = history.materialize(snapshot, tmp)
        return load_template_dir(rebuilt, builtin=True), f"snapshot {snapshot}"
    repo = gitrepo.enclosing_worktree(new.root)
    if repo is None:
        return None
    prefix = new.root.resolve().relative_to(repo).as_posix()
    for tag in (f"v{version}", version, f"{new.name}-v{version}", f"{new.name}@{version}"):
        archive = tmp / "old.tar"
        paths = [prefix] if prefix != "." else []
        proc = git(repo, "archive", "--format=tar", "-o", str(archive), tag, *paths, check=False)
        if proc.returncode == 0:
            with tarfile.open(archive) as tar:
                tar.extractall(tmp / "old", filter="data")
            folder = tmp / "old" / (prefix if prefix != "." else "")
            tpl = load_template_dir(folder, builtin=new.builtin)
            if tpl.version != version:
                raise InputError(
                    f"tag {tag} of {repo} holds template version {tpl.version}, not {version}"
                )
            return tpl, f"git tag {tag} of {repo}"
    return None


def _scaffold_commit(root: Path, version: str) -> str | None:
    log = git(root, "log", "--format=%H%x00%s", "--reverse", "--", CONFIG_FILE, check=False)
    for line in log.stdout.decode("utf-8", "replace").splitlines():
        sha, _, subject = line.partition("\0")
        if subject.startswith("Scaffold from mlops template") and subject.endswith(version):
            return sha
    return None


def _files_at_commit(root: Path, commit: str) -> dict[str, RenderedFile]:
    listed = git(root, "ls-tree", "-r", "-z", "--name-only", commit).stdout
    names = [raw.decode("utf-8", "surrogateescape") for raw in listed.split(b"\0") if raw]
    blobs = gitobjects.read_blobs(root, commit, names)
    return {name: RenderedFile(name, blobs[name], 0o644) for name in names if name in blobs}


def _merge_all(
    root: Path,
    base: dict[str, RenderedFile] | None,
    theirs: dict[str, RenderedFile],
    dry_run: bool,
    reporter: Reporter,
) -> list[FileUpdate]:
    base = base or {}
    results = []
    for rel in sorted(set(base) | set(theirs)):
        old = base[rel].content if rel in base else None
        new = theirs[rel].content if rel in theirs else None
        if old == new:
            continue  # the template did not change this file: nothing to bring in
        path = ensure_inside(root, root / rel)
        ours = path.read_bytes() if path.is_file() else None
        update, final = _merge_one(rel, old, new, ours)
        if update.outcome in ("kept", "skipped"):
            results.append(update)
            continue
        results.append(FileUpdate(rel, update.outcome, update.note, _diff(rel, ours, final)))
        if dry_run:
            continue
        reporter.step(f"{update.outcome:<8} {rel}")
        if final is None:
            path.unlink(missing_ok=True)
        else:
            mode = theirs[rel].mode if rel in theirs else None
            atomic_write_bytes(path, final, mode=mode if ours is None else None)
    return results


def _merge_one(
    rel: str, old: bytes | None, new: bytes | None, ours: bytes | None
) -> tuple[FileUpdate, bytes | None]:
    """What happens to one file, and its content afterwards (None: no file)."""
    if new is None:
        if ours is None:
            return FileUpdate(rel, "skipped", "removed by the template and by you"), None
        if ours == old:
            return FileUpdate(rel, "removed", "the template no longer has it"), None
        return FileUpdate(rel, "kept", "the template removed it, but you edited it"), ours
    if ours is None:
        if old is None:
            return FileUpdate(rel, "added", "new in the template"), new
        return FileUpdate(rel, "skipped", "you deleted it; the template changed it"), None
    if ours == new:
        return FileUpdate(rel, "skipped", "already up to date"), ours
    if ours == old:
        return FileUpdate(rel, "updated", "taken from the new template"), new
    merged, conflicts = _merge_file(old or b"", ours, new)
    if conflicts:
        return FileUpdate(rel, "conflict", f"{conflicts} conflict(s) marked in the file"), merged
    return FileUpdate(rel, "merged", "your edits and the template's merged"), merged


def _merge_file(base: bytes, ours: bytes, theirs: bytes) -> tuple[bytes, int]:
    """`git merge-file`: the same merge and conflict markers git users know."""
    if b"\0" in base + ours + theirs:
        return ours, 1  # binary: keep the user's bytes and report a conflict
    with tempfile.TemporaryDirectory(prefix="mlops-merge-") as tmp:
        paths = []
        for name, data in (("ours", ours), ("base", base), ("theirs", theirs)):
            p = Path(tmp) / name
            p.write_bytes(data)
            paths.append(str(p))
        labels = ("-L", "yours", "-L", "base", "-L", "template")
        proc = git(None, "merge-file", "-p", *labels, *paths, check=False)
    if proc.returncode < 0 or proc.returncode > 127:
        raise InputError(f"git merge-file failed: {proc.stderr.decode(errors='replace')}")
    return proc.stdout, proc.returncode


def _diff(rel: str, before: bytes | None, after: bytes | None) -> str:
    def lines(data: bytes | None) -> list[str]:
        if data is None:
            return []
        return data.decode("utf-8", errors="replace").splitlines(keepends=True)

    return "".join(difflib.unified_diff(lines(before), lines(after), f"a/{rel}", f"b/{rel}", n=2))
