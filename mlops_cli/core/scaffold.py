"""`mlops init`: render a template into a folder, transactionally.

Everything is rendered in memory first, so a broken or hostile template fails before a
single byte is written. Writing then goes through a `Transaction` that removes what it
created (and restores what it overwrote) when anything fails or the user presses Ctrl-C.
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from mlops_cli import __version__
from mlops_cli.core import dvcdata, dvcrepo, gitrepo
from mlops_cli.core.config import CONFIG_FILE
from mlops_cli.core.errors import ConflictError, InputError, UnsafeError
from mlops_cli.core.fs import atomic_write_bytes
from mlops_cli.core.progress import NullReporter, Reporter
from mlops_cli.core.project import validate_config
from mlops_cli.core.render import RenderedFile, render_files, render_string
from mlops_cli.core.templates import Template
from mlops_cli.core.yamlio import dump_yaml, parse_yaml

Action = Literal["create", "overwrite", "identical", "conflict"]


@dataclass(frozen=True)
class FileAction:
    path: str
    action: Action
    bytes: int


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


def init_project(
    dest: Path,
    template: Template,
    answers: dict[str, Any],
    *,
    overwrite: bool = False,
    dry_run: bool = False,
    git: bool = True,
    reporter: Reporter | None = None,
) -> InitResult:
    """Scaffold `template` into `dest`; see the module docstring for the guarantees."""
    reporter = reporter or NullReporter()
    dest = dest.absolute()
    if dest.exists() and not dest.is_dir():
        raise InputError(f"{dest} exists and is not a folder")
    context = render_context(template, answers)
    reporter.step(f"rendering template {template.name} {template.version}")
    files = render_project(template, answers)
    files, remote = _with_default_remote(files) if git else (files, None)
    exports = [
        (render_string(e.sklearn, context), _safe_rel(e.path)) for e in template.spec.exports
    ]
    tracked = [_safe_rel(p) for p in template.spec.dvc_add]

    actions = [_plan(dest, f) for f in files]
    conflicts = [a.path for a in actions if a.action == "conflict"]
    # Exported data and an existing project count as conflicts too: a second `init` over a
    # project must not silently re-export its data or commit the user's pending work.
    conflicts += [rel for _, rel in exports if (dest / rel).exists()]
    if (dest / CONFIG_FILE).exists() and CONFIG_FILE not in conflicts:
        conflicts.append(CONFIG_FILE)
    if conflicts and not overwrite:
        shown = ", ".join(conflicts[:5]) + (
            f" and {len(conflicts) - 5} more" if len(conflicts) > 5 else ""
        )
        raise ConflictError(
            f"{len(conflicts)} file(s) in {dest} would be overwritten: {shown}; "
            "nothing was changed",
            paths=conflicts,
            hint="pass --overwrite to replace them",
        )
    actions = [
        FileAction(a.path, "overwrite", a.bytes) if a.action == "conflict" else a for a in actions
    ]
    result = InitResult(
        dest=dest,
        template=template.ref,
        template_version=template.version,
        answers=answers,
        files=actions,
        dry_run=dry_run,
        exports=[p for _, p in exports],
        dvc_tracked=tracked,
    )
    if dry_run:
        return result
    if git:
        _git_preflight(dest)

    tx = Transaction(dest)
    try:
        for rendered, action in zip(files, actions, strict=True):
            if action.action != "identical":
                tx.write(rendered)
        for dataset, rel in exports:
            reporter.step(f"exporting scikit-learn data set {dataset} to {rel}")
            from mlops_cli.core.sampledata import export_sklearn_dataset

            tx.prepare(rel)
            export_sklearn_dataset(dataset, tx.target(rel))
        commit = None
        if git:
            reporter.step("git init")
            gitrepo.init(dest)
            reporter.step("dvc init")
            dvcrepo.init(dest, reporter)
            if remote is not None:
                reporter.step(f"dvc remote add -d {remote.name} {remote.url}")
                dvcrepo.add_remote(dest, remote.name, remote.url, reporter=reporter)
            if tracked:
                reporter.step(f"dvc add {' '.join(tracked)}")
                dvcrepo.add(dest, tracked, reporter)
            reporter.step("first commit")
            # Only what init made: files already in the folder are the user's to commit.
            # (an exported file that DVC tracks is git-ignored: its .dvc file is committed)
            made = [f.rel for f in files] + [rel for _, rel in exports if rel not in tracked]
            made += [".dvc", ".dvcignore"]
            for rel in tracked:
                made += [f"{rel}.dvc", str(PurePosixPath(rel).parent / ".gitignore")]
            commit = gitrepo.init_and_commit(
                dest, f"Scaffold from mlops template {template.name} {template.version}", made
            )
    except BaseException:
        tx.rollback()
        raise
    return InitResult(**{**result.__dict__, "commit": commit})


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


def _plan(dest: Path, f: RenderedFile) -> FileAction:
    target = dest / f.rel
    if target.is_symlink() or target.exists():
        if target.is_file() and not target.is_symlink() and target.read_bytes() == f.content:
            return FileAction(f.rel, "identical", len(f.content))
        return FileAction(f.rel, "conflict", len(f.content))
    return FileAction(f.rel, "create", len(f.content))


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
        from mlops_cli.core.fs import ensure_inside

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
            shutil.rmtree(self.dest, ignore_errors=True)
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
