"""`mlops data`: data sets versioned by DVC, schema-checked before they are.

A data set is declared in `mlops.yaml` (`datasets: {name: {path, schema}}`); its bytes are
tracked by DVC in DVC's own formats (`<path>.dvc`, the cache, remotes). `add` lives here;
`push`/`pull` in `datasync`, `status`/`check_pushed` in `datastatus` (which must not import
DVC on their fast path); this module is the API for all of them.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from mlops_cli.common.errors import (
    CheckFailed,
    ConfigError,
    ExternalToolError,
    InputError,
    UsageError,
)
from mlops_cli.common.fs import atomic_write_text, ensure_inside, repo_lock
from mlops_cli.common.progress import NullReporter, Reporter
from mlops_cli.common.yamlio import parse_yaml
from mlops_cli.data.sync import PullResult, PushResult, pull, push
from mlops_cli.dvc import driver as dvcdata
from mlops_cli.dvc import files as dvcfiles
from mlops_cli.gitio import data as datagit
from mlops_cli.project import configedit
from mlops_cli.project.config import Dataset, ProjectConfig
from mlops_cli.project.root import CONFIG_FILE, Project, load_config, validate_config

if TYPE_CHECKING:
    from mlops_cli.data.status import CheckPushedResult, DatasetStatus

__all__ = [
    "AddResult",
    "CheckPushedResult",
    "DatasetStatus",
    "PullResult",
    "PushResult",
    "add",
    "check_pushed",
    "missing_data_error",
    "pull",
    "push",
    "status",
]

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
PULL_HINT = "run `mlops data pull`"


@dataclass(frozen=True)
class AddResult:
    dataset: str
    path: str  # relative to the project root
    dvc_file: str
    md5: str
    size: int | None
    nfiles: int | None
    changed: bool  # False: the .dvc file already recorded exactly this content
    schema: str | None
    validated: bool | None  # None: no schema; False: it failed and --force versioned it
    declared: bool  # newly recorded in mlops.yaml
    staged: list[str] = field(default_factory=list)
    inferred: str | None = None  # the schema file --infer-schema wrote


def add(
    project: Project,
    path: Path,
    dataset: str | None = None,
    *,
    force: bool = False,
    infer_schema: bool = False,
    reporter: Reporter | None = None,
) -> AddResult:
    """Validate `path` (absolute, or relative to the project root) against its data set's
    schema, then DVC-track it, stage its `.dvc` file and `.gitignore`, and declare the data
    set in mlops.yaml. Refuses (CheckFailed) when validation fails, unless `force`.

    Everything happens under the repo lock, and every step is idempotent: a run interrupted
    anywhere is completed by running it again.
    """
    reporter = reporter or NullReporter()
    root = project.root
    target = ensure_inside(root, path)
    rel = target.relative_to(root.resolve()).as_posix()
    if rel == "." or PurePosixPath(rel).parts[0] in (".git", ".dvc", ".mlops"):
        raise InputError(f"{rel} cannot be a data set", hint="give a data file or folder")
    if dataset is not None and not _NAME.match(dataset):
        raise UsageError(
            f"data set name {dataset!r} is not valid",
            hint="use letters, digits, - and _, starting with a letter (at most 64)",
        )
    with repo_lock(root, "data add", on_warning=reporter.warn):
        config = load_config(root / CONFIG_FILE)  # fresh: it may have changed while we waited
        name, declared = _dataset_for(config, rel, dataset)
        if not target.exists():
            raise missing_data_error(root, rel)
        stage = dvcfiles.pipeline_stage(root, rel)
        if stage is not None:
            raise InputError(
                f"{rel} is an output of stage {stage} in dvc.yaml: the pipeline versions it",
                hint="run `dvc repro` (or `dvc commit` after changing it by hand)",
            )
        if target.is_file() and datagit.in_index(root, rel):
            raise InputError(
                f"{rel} is tracked by git; DVC versions a file only once git stops tracking it",
                hint=f"git rm --cached {rel} && git commit -m 'version {rel} with DVC', then"
                " run this again",
            )
        _refuse_ignored_dvc_file(root, rel)
        schema = declared.schema_ if declared else _conventional_schema(root, name)
        inferred = None
        if schema is None and infer_schema:
            if declared is not None:
                raise InputError(
                    f"data set {name!r} is declared without a schema; --infer-schema cannot"
                    " add one to its entry",
                    hint=f"run `mlops schema infer {rel} -o schemas/{name}.yaml` and set"
                    f" datasets.{name}.schema in mlops.yaml",
                )
            from mlops_cli.validation.infer import infer_schema as infer

            inferred = f"schemas/{name}.yaml"
            reporter.step(f"inferring a schema for {rel} into {inferred}")
            infer(target, root / inferred, root=root, name=name, reporter=reporter)
            schema = inferred
        validated = _validate(root, target, rel, name, schema, force, reporter, declared)
        out, changed = _track(root, target, rel, reporter)
        staged = _stage(root, rel)
        newly = False
        if declared is None:
            newly = _declare(root, name, {"path": rel, "schema": schema}, staged, reporter)
        if inferred is not None:
            datagit.stage(root, [inferred])
            staged.append(inferred)
    return AddResult(
        dataset=name,
        path=rel,
        dvc_file=f"{rel}.dvc",
        md5=out.md5 or "",
        size=out.size,
        nfiles=out.nfiles,
        changed=changed,
        schema=schema,
        validated=validated,
        declared=newly,
        staged=staged,
        inferred=inferred,
    )


def missing_data_error(root: Path, rel: str) -> InputError:
    """The error for a data path that is not in the workspace, saying how to get it."""
    outs = dvcfiles.outputs_covering(root, rel)
    if outs:
        return InputError(
            f"{rel} is not in the workspace: DVC tracks it ({outs[0].source}) but its data"
            " was not pulled",
            hint=PULL_HINT,
        )
    return InputError(
        f"{rel}: no such file or folder",
        hint="check the path; if a teammate versioned it, `git pull` and run `mlops data pull`",
    )


def _dataset_for(config: ProjectConfig, rel: str, requested: str | None) -> tuple[str, Any]:
    """The data set name for `rel`, and its declaration when it has one."""
    by_path = [n for n, d in config.datasets.items() if _norm(d.path) == rel]
    if requested is not None:
        ds: Dataset | None = config.datasets.get(requested)
        if ds is not None and _norm(ds.path) != rel:
            raise InputError(
                f"data set {requested!r} is declared in mlops.yaml with path {ds.path}, not {rel}",
                hint="choose another name with --dataset, or edit mlops.yaml",
            )
        if by_path and requested not in by_path:
            raise InputError(
                f"{rel} is already declared as data set {by_path[0]!r} in mlops.yaml",
                hint=f"pass --dataset {by_path[0]}, or leave --dataset out",
            )
        return requested, ds
    if by_path:
        return by_path[0], config.datasets[by_path[0]]
    name = _name_from(rel)
    if name in config.datasets:
        raise InputError(
            f"a data set named {name!r} already exists, with path {config.datasets[name].path}",
            hint="name this one with --dataset NAME",
        )
    return name, None


def _refuse_ignored_dvc_file(root: Path, rel: str) -> None:
    """The `.dvc` file is what git versions: a .gitignore rule that hides it (an adopted
    repository's `/data/`) would leave the data set uncommittable."""
    dvc_file = f"{rel}.dvc"
    source = datagit.ignore_rule(root, dvc_file)
    if source is None:
        return
    where, _, pattern = source.rpartition(":")
    if pattern.startswith("!"):
        return
    parent = PurePosixPath(rel).parent.as_posix()
    raise InputError(
        f"{dvc_file} would be ignored by git ({where}: {pattern}), so this version of {rel}"
        " could not be committed; nothing was versioned",
        hint=f"make that rule ignore the data but not its .dvc file, e.g. replace it with"
        f" `/{parent}/*`, `!/{parent}/*.dvc` and `!/{parent}/.gitignore`",
    )


def _norm(path: str) -> str:
    return dvcfiles.join_posix(".", path)


def _name_from(rel: str) -> str:
    stem = PurePosixPath(rel).name.split(".")[0]
    name = re.sub(r"[^A-Za-z0-9_-]+", "_", stem).lstrip("_-0123456789")
    return (name or "data")[:64]


def _conventional_schema(root: Path, name: str) -> str | None:
    """DESIGN.md §3 puts a data set's schema at `schemas/<name>.yaml`."""
    rel = f"schemas/{name}.yaml"
    return rel if (root / rel).is_file() else None


def _validate(
    root: Path,
    target: Path,
    rel: str,
    name: str,
    schema: str | None,
    force: bool,
    reporter: Reporter,
    declared: Dataset | None = None,
) -> bool | None:
    if schema is None:
        return None
    schema_path = ensure_inside(root, Path(schema))
    if not schema_path.is_file():
        raise InputError(
            f"the schema {schema} of {rel} does not exist",
            hint=f"write one with `mlops schema infer {rel} -o {schema}`, or fix mlops.yaml",
        )
    from mlops_cli.validation.validate import validate_file

    reporter.step(f"validating {rel} against {schema}")
    from mlops_cli.validation.csvdialect import CsvDialect

    dialect = CsvDialect.of(declared) if declared is not None else None
    report = validate_file(
        target, schema_path, root=root, reporter=reporter, dataset=name, dialect=dialect
    )
    if report.passed:
        return True
    problems = [_describe(f) for f in report.failures]
    if force:
        reporter.warn(
            f"{rel} breaks its schema {schema} ({len(problems)} failure(s));"
            " versioning it anyway (--force)"
        )
        return False
    summary = f"{rel} breaks its schema {schema}: {len(problems)} failure(s); nothing was versioned"
    error = CheckFailed(summary, hint="fix the data, or pass --force to version it anyway")
    error.problems = [summary, *problems]  # type: ignore[attr-defined]
    raise error


def _describe(failure: Any) -> str:
    """One line per failure of a `validation.ValidationReport`."""
    message = getattr(failure, "message", None)
    if message:  # a missing or unexpected column, said in words
        return f"{message} ({getattr(failure, 'check', '')})"
    column = getattr(failure, "column", None)
    where = f"column {column}" if column else "table"
    text = f"{where}: {getattr(failure, 'check', failure)}"
    rows = getattr(failure, "failing_rows", 0)
    if rows:
        text += f" failed on {rows} row(s)"
    examples = [
        f"row {row}: {value}" if row is not None else str(value)
        for row, value in getattr(failure, "examples", [])[:3]
    ]
    return text + (f" (e.g. {'; '.join(examples)})" if examples else "")


def _track(root: Path, target: Path, rel: str, reporter: Reporter) -> tuple[dvcfiles.Output, bool]:
    """DVC-track `target` unless its `.dvc` file already records exactly its content."""
    current = _recorded(root, rel, required=False)
    with dvcfiles.Hasher(root) as hasher:
        if current is not None and _unchanged(root, target, current, hasher):
            reporter.step(f"{rel} is already versioned with this content")
            return current, False
        if target.is_dir() and (fast := _track_folder(root, target, rel, hasher, reporter)):
            return fast, current is None or current.md5 != fast.md5
        before = _stat_tree(target)
        reporter.step(f"dvc add {rel}")
        dvcdata.track(root, target, reporter)
        out = _recorded(root, rel, required=True)
        assert out is not None
        _remember(root, target, out, before, hasher)
    return out, current is None or current.md5 != out.md5


def _track_folder(
    root: Path, target: Path, rel: str, hasher: dvcfiles.Hasher, reporter: Reporter
) -> dvcfiles.Output | None:
    """`dvc add` of a folder in DVC's formats without DVC (dvc/fasttrack.py), or None when
    DVC must do it: anything fasttrack does not reproduce exactly, a file in the folder
    that git tracks or another DVC output inside it (DVC's own errors say what to do), or a
    file that changed while it was read."""
    from mlops_cli.dvc import fasttrack

    dvc_file = root / f"{rel}.dvc"
    why = fasttrack.unsupported(root, target, dvc_file)
    files = fasttrack.plan(target) if why is None else None
    if why is None and files is None:
        why = "a symlink, special file or .dvcignore inside"
    elif files is not None and any(f[1].endswith(".dvc") for f in files.files):
        why = "a .dvc file inside"
    elif files is not None and datagit.tracked_under(root, rel):
        why = "git tracks files inside"
    if why is not None or files is None:
        reporter.detail(f"{rel}: added through DVC ({why})")
        return None
    reporter.step(f"hashing {len(files.files):,} files of {rel} into the DVC cache")
    try:
        digest = fasttrack.track_folder(
            root, hasher, files, workers=min(16, 4 * (os.cpu_count() or 1))
        )
    except fasttrack.Changed as exc:
        reporter.detail(f"{exc} changed while it was read: added through DVC")
        return None
    # The objects are in the cache before the .dvc file names them, as with `dvc add`.
    atomic_write_text(dvc_file, fasttrack.dvc_file_text(target.name, digest))
    _ignore_in_git(root, rel)
    return _recorded(root, rel, required=True)


def _ignore_in_git(root: Path, rel: str) -> None:
    """What `dvc add` does to `.gitignore` (scmrepo's `Git.ignore`): unless git already
    ignores the path, `/<name>` appended to the `.gitignore` beside it, after a newline when
    the file does not end with one, and only when that line is not there yet."""
    rule = datagit.ignore_rule(root, rel)
    if rule is not None and not rule.rpartition(":")[2].startswith("!"):
        return
    path = PurePosixPath(rel)
    gitignore = root / path.parent / ".gitignore"
    entry = f"/{path.name}\n"
    try:
        text = gitignore.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = ""
    if entry in text.splitlines(keepends=True):
        return
    prefix = "" if not text or text.endswith("\n") else "\n"
    atomic_write_text(gitignore, text + prefix + entry)


def _recorded(root: Path, rel: str, *, required: bool = False) -> dvcfiles.Output | None:
    dvc_file = root / f"{rel}.dvc"
    try:
        outs = [o for o in dvcfiles.read_outputs(root, dvc_file) if o.path == rel and o.md5]
    except ConfigError:
        if required:
            raise
        return None  # a damaged .dvc file: `dvc add` rewrites it
    if not outs and required:
        raise ExternalToolError(f"dvc add did not record {rel} in {dvc_file}")
    return outs[0] if outs else None


def _unchanged(root: Path, target: Path, out: dvcfiles.Output, hasher: dvcfiles.Hasher) -> bool:
    """True when the stat cache alone proves the content is the one recorded, and the cache
    holds its objects. Never reads the data: on any doubt DVC decides."""
    if out.legacy or not out.md5:
        return False
    digest = hasher.cached_digest(target)
    if digest is None or digest.md5 != out.md5:
        return False
    cache = dvcfiles.cache_dir(root)
    ids = dvcfiles.object_ids(cache, out)
    if ids is None:
        return False
    # Plain strings, not a Path per object: for a folder of 10,000 files the Path objects
    # cost more than the stat calls themselves (issue 14 profile).
    base, legacy_base = str(cache / "files" / "md5"), str(cache)
    return all(
        os.path.exists(f"{legacy_base if lg else base}/{m[:2]}/{m[2:]}")  # noqa: PTH110
        for m, lg in ids
    )


def _stat_tree(target: Path) -> dict[str, tuple[int, int, int, int]]:
    if target.is_dir():
        return {
            p.relative_to(target).as_posix(): dvcfiles.stat_key(p.stat())
            for p in dvcfiles.walk_files(target)
        }
    return {"": dvcfiles.stat_key(target.stat())}


def _remember(
    root: Path,
    target: Path,
    out: dvcfiles.Output,
    before: dict[str, tuple[int, int, int, int]],
    hasher: dvcfiles.Hasher,
) -> None:
    """Teach the stat cache what DVC just hashed, for files that did not change meanwhile:
    the next `status` or `add` then reads nothing."""
    assert out.md5
    if not out.is_dir:
        pairs = [("", target, out.md5)]
    else:
        listing = dvcfiles.dir_listing(dvcfiles.cache_dir(root), out.md5) or []
        pairs = [(e["relpath"], target / e["relpath"], e["md5"]) for e in listing]
    for key, path, md5 in pairs:
        try:
            st = path.stat()
        except OSError:
            continue
        if before.get(key) == dvcfiles.stat_key(st):
            hasher.remember(path, st, md5)


def _stage(root: Path, rel: str) -> list[str]:
    paths = [f"{rel}.dvc"]
    ignore = PurePosixPath(rel).parent / ".gitignore"
    if (root / ignore).is_file():
        paths.append(ignore.as_posix())
    datagit.stage(root, paths)
    return paths


def _declare(
    root: Path, name: str, entry: dict[str, str | None], staged: list[str], reporter: Reporter
) -> bool:
    """Add the data set to mlops.yaml as a text block (comments and layout kept), and stage
    mlops.yaml when this is its only change."""
    path = root / CONFIG_FILE
    clean = {k: v for k, v in entry.items() if v is not None}
    was_clean = datagit.is_clean(root, CONFIG_FILE)
    try:
        text = path.read_text(encoding="utf-8")
        new = configedit.add_dataset(text, name, clean, str(path))
        validate_config(parse_yaml(new.encode("utf-8"), str(path)))
    except (ConfigError, OSError, UnicodeError) as exc:
        lines = "".join(f"\n    {k}: {v}" for k, v in clean.items())
        reporter.warn(f"{exc}; declare it by hand under `datasets:` in {path}:\n  {name}:{lines}")
        return False
    atomic_write_text(path, new)
    if was_clean:
        datagit.stage(root, [CONFIG_FILE])
        staged.append(CONFIG_FILE)
    return True


def status(
    project: Project, remote: bool = False, *, reporter: Reporter | None = None
) -> list[DatasetStatus]:
    """Per data set: workspace vs the version DVC recorded (see `datastatus.status`)."""
    from mlops_cli.data.status import status as data_status

    return data_status(project, remote, reporter=reporter)


def check_pushed(
    project: Project,
    from_ref: str | None = None,
    to_ref: str | None = None,
    *,
    remote: str | None = None,
    reporter: Reporter | None = None,
) -> CheckPushedResult:
    """For a pre-push hook (see `datastatus.check_pushed`)."""
    from mlops_cli.data.status import check_pushed as check

    return check(project, from_ref, to_ref, remote=remote, reporter=reporter)
