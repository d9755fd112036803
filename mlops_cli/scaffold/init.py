"""`mlops init`: render a template into a folder, transactionally.

Everything is rendered in memory first, so a broken or hostile template fails before a
single byte is written. Writing then goes through a `Transaction` that removes what it
created (and restores what it overwrote) when anything fails or the user presses Ctrl-C.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from mlops_cli import __version__
from mlops_cli.common.errors import ConflictError, InputError, UnsafeError
from mlops_cli.common.fs import atomic_write_bytes
from mlops_cli.common.progress import NullReporter, Reporter
from mlops_cli.common.yamlio import dump_yaml, parse_yaml
from mlops_cli.dvc import driver as dvcdata
from mlops_cli.dvc import repo as dvcrepo
from mlops_cli.gitio import repo as gitrepo
from mlops_cli.gitio.state import refuse_unsafe_state
from mlops_cli.project.root import CONFIG_FILE, validate_config
from mlops_cli.scaffold.render import RenderedFile, render_files, render_string
from mlops_cli.scaffold.templates import Template

Action = Literal["create", "overwrite", "identical", "conflict", "merge", "keep"]
NEW_SUFFIX = ".mlops-new"


@dataclass(frozen=True)
class FileAction:
    """What init does with one template file. In place (`adopt`): `merge` adds the
    template's missing lines to the user's `.gitignore`; `keep` leaves the user's file as it
    is and writes the template's version beside it, to `written` (`<file>.mlops-new`)."""

    path: str
    action: Action
    bytes: int
    written: str | None = None


@dataclass(frozen=True)
class InitResult:
    dest: Path
    template: str
    template_version: str
    answers: dict[str, Any]
    files: list[FileAction]
    dry_run: bool
    exports: list[str] = field(default_factory=list)
    dvc_tracked: list[str] = field(default_factory=list)
    commit: str | None = None
    adopted: bool = False
    kept: list[str] = field(default_factory=list)  # existing git/DVC setup left as it was


def init_project(
    dest: Path,
    template: Template,
    answers: dict[str, Any],
    *,
    overwrite: bool | Collection[str] = False,
    dry_run: bool = False,
    git: bool = True,
    adopt: bool = False,
    reporter: Reporter | None = None,
) -> InitResult:
    """Scaffold `template` into `dest`; see the module docstring for the guarantees.

    `overwrite`: True replaces every conflicting file; a collection replaces only the files
    it names (paths relative to `dest`). `adopt` (`init --here`): `dest` is an existing
    repository, adopted in place: its git history and DVC setup are kept, `.gitignore` is
    merged line by line, and any other file of the user's that the template would change is
    kept, with the template's version written beside it as `<file>.mlops-new`.
    """
    reporter = reporter or NullReporter()
    dest = dest.absolute()
    _check_dest(dest, adopt=adopt)
    named = _overwrite_names(overwrite)
    plan = _plan_project(dest, template, answers, git=git, adopt=adopt, reporter=reporter)
    plan = _settle_conflicts(dest, plan, named, adopt=adopt)
    result = InitResult(
        dest=dest,
        template=template.ref,
        template_version=template.version,
        answers=answers,
        files=plan.actions,
        dry_run=dry_run,
        exports=[p for _, p in plan.exports],
        dvc_tracked=plan.tracked,
        adopted=adopt,
        kept=plan.kept,
    )
    if dry_run:
        return result
    if git:
        _git_preflight(dest)
    commit = _write_project(dest, template, plan, git=git, adopt=adopt, reporter=reporter)
    return InitResult(**{**result.__dict__, "commit": commit})


@dataclass(frozen=True)
class _Plan:
    """What init is about to do, before anything is written."""

    files: list[RenderedFile]
    actions: list[FileAction]  # one per file, in the same order
    exports: list[tuple[str, str]]  # (scikit-learn data set, path)
    tracked: list[str]  # paths `dvc add` tracks
    remote: dvcdata.DefaultRemote | None  # the DVC remote to configure
    kept: list[str]  # existing git/DVC setup left as it was


def _check_dest(dest: Path, *, adopt: bool) -> None:
    if dest.exists() and not dest.is_dir():
        raise InputError(f"{dest} exists and is not a folder")
    if adopt and not dest.is_dir():
        raise InputError(f"{dest} does not exist; --here adopts an existing folder")


def _plan_project(
    dest: Path,
    template: Template,
    answers: dict[str, Any],
    *,
    git: bool,
    adopt: bool,
    reporter: Reporter,
) -> _Plan:
    """Render the template in memory and decide, per file, what writing it would do."""
    context = render_context(template, answers)
    reporter.step(f"rendering template {template.name} {template.version}")
    files = render_project(template, answers)
    had_dvc = (dest / ".dvc").is_dir()
    kept = [n for n in (".git", ".dvc") if (dest / n).exists()] if adopt else []
    # An existing DVC setup is the user's: its remotes stay as they are.
    files, remote = _with_default_remote(files) if git and not had_dvc else (files, None)
    exports = [
        (render_string(e.sklearn, context), _safe_rel(e.path)) for e in template.spec.exports
    ]
    tracked = [_safe_rel(p) for p in template.spec.dvc_add]
    if adopt:
        files = [_with_review_ignore(f) if f.rel == ".gitignore" else f for f in files]
    actions = [_plan(dest, f, adopt=adopt) for f in files]
    return _Plan(files, actions, exports, tracked, remote, kept)


def _settle_conflicts(dest: Path, plan: _Plan, named: set[str] | None, *, adopt: bool) -> _Plan:
    """Refuse (ConflictError, nothing written) when a file of the user's would be replaced
    without being named in `overwrite`; else the plan with the named ones overwritten."""
    if adopt and (dest / CONFIG_FILE).exists() and named is not None and CONFIG_FILE not in named:
        raise ConflictError(
            f"{dest} has a {CONFIG_FILE} already: it is an mlops project; nothing was changed",
            paths=[CONFIG_FILE],
            hint="edit mlops.yaml, or `mlops template update` to merge a newer template",
        )
    exports, tracked = plan.exports, plan.tracked
    conflicts = [a.path for a in plan.actions if a.action == "conflict"]
    # Exported data and an existing project count as conflicts too: a second `init` over a
    # project must not silently re-export its data or commit the user's pending work.
    existing_exports = [rel for _, rel in exports if (dest / rel).exists()]
    if adopt:
        exports = [(d, rel) for d, rel in exports if rel not in existing_exports]
        tracked = [t for t in tracked if t not in existing_exports]
    else:
        conflicts += existing_exports
    if (dest / CONFIG_FILE).exists() and CONFIG_FILE not in conflicts and not adopt:
        conflicts.append(CONFIG_FILE)
    unnamed = [c for c in conflicts if named is not None and c not in named]
    if unnamed:
        shown = ", ".join(unnamed[:5]) + (
            f" and {len(unnamed) - 5} more" if len(unnamed) > 5 else ""
        )
        raise ConflictError(
            f"{len(unnamed)} file(s) in {dest} would be overwritten: {shown}; nothing was changed",
            paths=unnamed,
            hint="pass --overwrite FILE for each file to replace, or adopt the folder in"
            " place with `mlops init --here` (which keeps your files)",
        )
    actions = [_resolve(a, named) for a in plan.actions]
    return replace(plan, actions=actions, exports=exports, tracked=tracked)


def _write_project(
    dest: Path, template: Template, plan: _Plan, *, git: bool, adopt: bool, reporter: Reporter
) -> str | None:
    """Carry out `plan` in one transaction: files, exported data, then (with `git`) git and
    DVC set up and the first commit, whose id is returned. Any failure or Ctrl-C rolls
    everything back."""
    tx = Transaction(dest)
    try:
        _write_files(tx, dest, plan)
        _export_data(tx, plan.exports, reporter)
        commit = None
        if git:
            _set_up_git_and_dvc(dest, plan, reporter)
            reporter.step("first commit")
            message = f"Scaffold from mlops template {template.name} {template.version}"
            if adopt:
                message = f"Adopt with mlops (template {template.name} {template.version})"
            commit = gitrepo.init_and_commit(dest, message, _files_made(plan), only=adopt)
    except BaseException:
        tx.rollback()
        raise
    return commit


def _write_files(tx: Transaction, dest: Path, plan: _Plan) -> None:
    for rendered, action in zip(plan.files, plan.actions, strict=True):
        if action.action == "merge":
            tx.write(RenderedFile(rendered.rel, _merged(dest / rendered.rel, rendered), 0o644))
        elif action.action == "keep":
            assert action.written is not None
            tx.write(RenderedFile(action.written, rendered.content, rendered.mode))
        elif action.action != "identical":
            tx.write(rendered)


def _export_data(tx: Transaction, exports: list[tuple[str, str]], reporter: Reporter) -> None:
    for dataset, rel in exports:
        reporter.step(f"exporting scikit-learn data set {dataset} to {rel}")
        from mlops_cli.scaffold.sampledata import export_sklearn_dataset

        tx.prepare(rel)
        export_sklearn_dataset(dataset, tx.target(rel))


def _set_up_git_and_dvc(dest: Path, plan: _Plan, reporter: Reporter) -> None:
    reporter.step("git init")
    gitrepo.init(dest)
    reporter.step("dvc init")
    dvcrepo.init(dest, reporter)
    if plan.remote is not None:
        remote = plan.remote
        reporter.step(f"dvc remote add -d {remote.name} {remote.url}")
        dvcrepo.add_remote(dest, remote.name, remote.url, reporter=reporter)
    if plan.tracked:
        reporter.step(f"dvc add {' '.join(plan.tracked)}")
        dvcrepo.add(dest, plan.tracked, reporter)


def _files_made(plan: _Plan) -> list[str]:
    """What the first commit holds: only what init made, for files already in the folder
    are the user's to commit. An exported file that DVC tracks is git-ignored (its .dvc file
    is committed); a kept file's .mlops-new is the user's to review, not to commit."""
    made = [f.rel for f, a in zip(plan.files, plan.actions, strict=True) if a.action != "keep"]
    made += [rel for _, rel in plan.exports if rel not in plan.tracked]
    made += [".dvc", ".dvcignore"]
    for rel in plan.tracked:
        made += [f"{rel}.dvc", str(PurePosixPath(rel).parent / ".gitignore")]
    return made


def render_context(template: Template, answers: dict[str, Any]) -> dict[str, Any]:
    return {
        **answers,
        "mlops_version": __version__,
        "template_name": template.name,
        "template_version": template.version,
        "python_version": f"{sys.version_info.major}.{sys.version_info.minor}",
    }


def render_project(
    template: Template, answers: dict[str, Any], *, ref: str | None = None
) -> list[RenderedFile]:
    """Every file the template makes for these answers, `mlops.yaml` with its record.

    `ref` overrides where the record says the template lives (an old version rendered from
    a temporary checkout must still record the template's real location).
    """
    files = render_files(template.root, render_context(template, answers))
    return _with_template_record(files, template, answers, ref or template.ref)


def _git_preflight(dest: Path) -> None:
    outer = gitrepo.enclosing_worktree(dest)
    if outer is not None and outer != dest.resolve():
        raise InputError(
            f"{dest} is inside the git work tree {outer}; a project needs its own repository",
            hint="choose a folder outside it, or pass --no-git",
        )
    gitrepo.require_identity(dest)
    if (dest / ".git").exists():  # before anything is written, not only at the commit
        refuse_unsafe_state(dest, "commit what init made")


def _with_template_record(
    files: list[RenderedFile], template: Template, answers: dict[str, Any], ref: str
) -> list[RenderedFile]:
    """Append the `template:` record to the rendered `mlops.yaml` and validate the result."""
    record = dump_yaml({"template": {"name": ref, "version": template.version, "answers": answers}})
    block = "\n# Written by `mlops init`: the template update merges from this.\n" + record
    out: list[RenderedFile] = []
    found = False
    for f in files:
        if f.rel == CONFIG_FILE:
            found = True
            text = f.content.decode("utf-8")
            f = RenderedFile(f.rel, (text.rstrip("\n") + "\n" + block).encode(), f.mode)
        out.append(f)
    if not found:
        name = str(answers.get("project_name", "project"))
        text = dump_yaml({"schema_version": 1, "project": name}) + block
        out.append(RenderedFile(CONFIG_FILE, text.encode(), 0o644))
    config = next(f for f in out if f.rel == CONFIG_FILE)
    data = parse_yaml(config.content, f"{template.root}/{CONFIG_FILE} (rendered)")
    if isinstance(data.data, dict) and list(data.data).count("template") > 1:
        raise InputError("the template's mlops.yaml must not set `template:` itself")
    validate_config(data)
    return out


def _with_default_remote(
    files: list[RenderedFile],
) -> tuple[list[RenderedFile], dvcdata.DefaultRemote | None]:
    """Name the local folder remote that init configures in mlops.yaml (docs/data.md)."""
    out: list[RenderedFile] = []
    remote = None
    for f in files:
        if f.rel == CONFIG_FILE:
            text = f.content.decode("utf-8")
            project = validate_config(parse_yaml(f.content, CONFIG_FILE)).project
            remote = dvcdata.default_remote(text, project)
            if remote is not None:
                text = dvcdata.with_remote_setting(text, remote.name)
                f = RenderedFile(f.rel, text.encode("utf-8"), f.mode)
        out.append(f)
    return out, remote


def _safe_rel(rel: str) -> str:
    path = PurePosixPath(rel)
    if path.is_absolute() or ".." in path.parts or not path.parts or ".git" in path.parts:
        raise UnsafeError(f"template path {rel!r} escapes the destination folder")
    return str(path)


def _plan(dest: Path, f: RenderedFile, *, adopt: bool = False) -> FileAction:
    target = dest / f.rel
    if target.is_symlink() or target.exists():
        regular = target.is_file() and not target.is_symlink()
        if regular and target.read_bytes() == f.content:
            return FileAction(f.rel, "identical", len(f.content))
        if adopt and regular and PurePosixPath(f.rel).name == ".gitignore":
            merged = _merged(target, f)
            if merged == target.read_bytes():
                return FileAction(f.rel, "identical", len(merged))
            return FileAction(f.rel, "merge", len(merged))
        if adopt:
            return FileAction(f.rel, "keep", len(f.content), written=f.rel + NEW_SUFFIX)
        return FileAction(f.rel, "conflict", len(f.content))
    return FileAction(f.rel, "create", len(f.content))


def _overwrite_names(overwrite: bool | Collection[str]) -> set[str] | None:
    """None: every conflict may be replaced; else the normalised paths that may be."""
    if overwrite is True:
        return None
    if overwrite is False:
        return set()
    return {
        PurePosixPath(str(p).replace("\\", "/")).as_posix().removeprefix("./") for p in overwrite
    }


def _resolve(action: FileAction, named: set[str] | None) -> FileAction:
    if action.action == "conflict":
        return FileAction(action.path, "overwrite", action.bytes)
    if action.action in ("keep", "merge") and named is not None and action.path in named:
        return FileAction(action.path, "overwrite", action.bytes)
    return action


def _with_review_ignore(f: RenderedFile) -> RenderedFile:
    """In place, the template's versions of the user's files are for review, never commits."""
    text = f.content.decode("utf-8").rstrip("\n")
    extra = f"\n\n# mlops init --here: the template's versions of your files\n*{NEW_SUFFIX}\n"
    return RenderedFile(f.rel, (text + extra).encode("utf-8"), f.mode)


def _merged(target: Path, f: RenderedFile) -> bytes:
    """The user's `.gitignore` with the template's lines it lacks appended: never a line
    removed or reordered, so whatever it ignores (`.env`) stays ignored."""
    mine = target.read_bytes().decode("utf-8", errors="surrogateescape")
    have = {line.strip() for line in mine.splitlines()}
    theirs = f.content.decode("utf-8")
    missing: list[str] = []
    comment: str | None = None
    for line in theirs.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            comment = line
            continue
        if stripped not in have and line not in missing:
            if comment is not None:
                missing.append(comment)
                comment = None
            missing.append(line)
    if not missing:
        return target.read_bytes()
    body = mine if mine.endswith("\n") or not mine else mine + "\n"
    block = "\n# Added by `mlops init --here`\n" + "\n".join(missing) + "\n"
    return (body + block).encode("utf-8", errors="surrogateescape")


class Transaction:
    """Writes files under `dest`; `rollback` leaves the folder as it was before."""

    def __init__(self, dest: Path) -> None:
        self.dest = dest
        self.dest_created = not dest.exists()
        self.before = {p.name for p in dest.iterdir()} if dest.exists() else set()
        self.created_dirs: list[Path] = []
        self.created_files: list[Path] = []
        self.backups: dict[Path, tuple[bytes, int]] = {}

    def target(self, rel: str) -> Path:
        from mlops_cli.common.fs import ensure_inside

        path = self.dest / rel
        self._mkdirs(path.parent)
        ensure_inside(self.dest.resolve(), path.parent)
        return path

    def prepare(self, rel: str) -> None:
        path = self.target(rel)
        if path.is_file() and not path.is_symlink():
            self.backups.setdefault(path, (path.read_bytes(), path.stat().st_mode))
        elif not path.exists():
            self.created_files.append(path)

    def write(self, f: RenderedFile) -> None:
        self.prepare(f.rel)
        path = self.target(f.rel)
        atomic_write_bytes(path, f.content, mode=f.mode)

    def _mkdirs(self, folder: Path) -> None:
        missing = []
        probe = folder
        while not probe.exists():
            missing.append(probe)
            probe = probe.parent
        for d in reversed(missing):
            d.mkdir()
            self.created_dirs.append(d)

    def rollback(self) -> None:
        if self.dest_created:
            # A child process that is still dying (a killed `git`) can add a file while
            # the tree is removed, so the last rmdir fails: try again, briefly.
            for _ in range(20):
                shutil.rmtree(self.dest, ignore_errors=True)
                if not self.dest.exists():
                    break
                time.sleep(0.05)
            return
        for path, (content, mode) in self.backups.items():
            atomic_write_bytes(path, content, mode=mode & 0o7777)
        for path in reversed(self.created_files):
            path.unlink(missing_ok=True)
        # .git, .dvc and the like: whatever appeared at the top level was ours.
        for name in {p.name for p in self.dest.iterdir()} - self.before:
            victim = self.dest / name
            if victim.is_dir() and not victim.is_symlink():
                shutil.rmtree(victim, ignore_errors=True)
            else:
                victim.unlink(missing_ok=True)
        for d in reversed(self.created_dirs):
            if d.exists():
                shutil.rmtree(d, ignore_errors=True)
