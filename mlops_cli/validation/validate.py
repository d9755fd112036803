"""Data validation: a data file against its pandera schema, cached by content.

Public API (called by `mlops validate`, `mlops data add` and the model commands):

    validate_file(path, schema_path, *, root, use_cache=True, reporter=None) -> ValidationReport
    validate_dataset(project, name, **kw) -> ValidationReport
    select_datasets(project, targets, *, cwd) / hook_datasets(project, files, *, cwd)

A data set that breaks its schema is not an exception: the report says `passed=False` and
lists every failure (lazy validation). Exceptions are for input that cannot be judged: a
missing or unreadable file (InputError, exit 3), a schema that is not one (ConfigError).

Importing this module is cheap (standard library only); pandas, polars, pyarrow and pandera
load only on a cache miss, inside `validation.engine`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops_cli.common.errors import InputError
from mlops_cli.common.progress import NullReporter, Reporter
from mlops_cli.validation import cache as valcache
from mlops_cli.validation.report import Failure, ValidationReport

if TYPE_CHECKING:
    from mlops_cli.project.root import Project
    from mlops_cli.validation.csvdialect import CsvDialect

MAX_EXAMPLES = 5
CHUNK_ENV = "MLOPS_VALIDATE_CHUNK_MB"


def validate_file(
    path: Path,
    schema_path: Path,
    *,
    root: Path,
    use_cache: bool = True,
    reporter: Reporter | None = None,
    dataset: str | None = None,
    engine: str = "auto",
    chunk_bytes: int | None = None,
    max_examples: int = MAX_EXAMPLES,
    dialect: CsvDialect | None = None,
) -> ValidationReport:
    """Validate one CSV, Parquet or JSON file against a pandera YAML schema; `dialect` says
    how a CSV is written (delimiter, decimal mark, encoding, quote character).

    `root` keys the cache (kept in the user's cache folder for the project:
    validation/cache.py); with `use_cache=False` the cache is neither read nor written.
    `engine` is `auto` (polars unless the schema needs pandas), `polars` or `pandas`. A
    file larger than `chunk_bytes` (default: $MLOPS_VALIDATE_CHUNK_MB, else 1/16 of the
    available memory, so the working set stays near a third of it) is validated in chunks,
    uniqueness across chunks included.
    """
    start = time.perf_counter()
    reporter = reporter or NullReporter()
    root = Path(root)
    rel, schema_rel = _display(path, root), _display(schema_path, root)
    _require_data_file(path, rel)
    from mlops_cli.validation.csvdialect import CsvDialect
    from mlops_cli.validation.readers import file_format

    fmt = file_format(path)
    dialect = dialect or CsvDialect()
    tag = dialect.cache_tag(fmt)
    schema_hash = _schema_hash(schema_path, rel, schema_rel)
    stat = valcache.FileStat.of(path)
    content = _content_hash(
        root,
        path,
        rel,
        stat,
        use_cache=use_cache,
        check_utf8=fmt != "parquet" and dialect.utf8,
        reporter=reporter,
    )
    if use_cache and content is not None:
        hit = valcache.load_result(root, valcache.result_key(content, schema_hash, tag))
        if hit is not None:
            return _from_cache(hit, dataset, rel, schema_rel, start)
    report = _run_engine(
        path,
        fmt,
        schema_path,
        rel=rel,
        schema_rel=schema_rel,
        dataset=dataset,
        engine=engine,
        chunk_bytes=chunk_bytes,
        max_examples=max_examples,
        dialect=dialect,
        reporter=reporter,
        start=start,
    )
    if use_cache and content is not None and valcache.FileStat.of(path) == stat:
        key = valcache.result_key(content, schema_hash, tag)
        valcache.store_result(root, key, _to_cache(report))
    return report


def _require_data_file(path: Path, rel: str) -> None:
    if not path.exists():
        raise InputError(
            f"{rel}: no such file",
            hint="run `mlops data pull` to fetch versioned data, or check the path",
        )
    if not path.is_file():
        raise InputError(f"{rel}: is a folder; mlops validate checks CSV, Parquet and JSON files")


def _schema_hash(schema_path: Path, rel: str, schema_rel: str) -> str:
    try:
        return valcache.bytes_hash(schema_path.read_bytes())
    except OSError as exc:
        raise InputError(
            f"cannot read the schema {schema_rel}: {exc.strerror or exc}",
            hint=f"write one with `mlops schema infer {rel} -o {schema_rel}`",
        ) from None


def _content_hash(
    root: Path,
    path: Path,
    rel: str,
    stat: valcache.FileStat,
    *,
    use_cache: bool,
    check_utf8: bool,
    reporter: Reporter,
) -> str | None:
    """The file's content hash: from the stat cache, else from one read that also finds the
    first byte that is not UTF-8 (`check_utf8`: InputError, exit 3). None when neither the
    cache nor the UTF-8 check needs it."""
    content = valcache.cached_hash(root, rel, stat) if use_cache else None
    if content is None and (use_cache or check_utf8):
        # One read hashes the file and finds its first byte that is not UTF-8 (CSV). Hashing
        # before validating also finds the result for a file that was only touched or
        # checked out again, whose stat changed and content did not.
        from mlops_cli.validation.readers import locate_not_utf8

        reporter.detail(f"hashing {rel}")
        scan = valcache.scan_file(path, check_utf8=check_utf8)
        if scan.bad_utf8_offset is not None:
            raise locate_not_utf8(path, scan.bad_utf8_offset, rel)
        content = scan.sha256
        if use_cache:
            valcache.remember_hash(root, rel, stat, content, path)
    return content


def _run_engine(
    path: Path,
    fmt: str,
    schema_path: Path,
    *,
    rel: str,
    schema_rel: str,
    dataset: str | None,
    engine: str,
    chunk_bytes: int | None,
    max_examples: int,
    dialect: CsvDialect,
    reporter: Reporter,
    start: float,
) -> ValidationReport:
    """Validate the data itself (pandas, polars and pandera load here)."""
    from mlops_cli.validation import engine as valengine

    spec = valengine.load_schema(schema_path, source=schema_rel)
    reporter.step(f"validating {dataset or rel} against {schema_rel}")
    try:
        outcome = valengine.run(
            path,
            fmt,
            spec,
            engine=engine,
            chunk_bytes=chunk_bytes or default_chunk_bytes(),
            max_examples=max_examples,
            reporter=reporter,
            source=rel,
            dialect=dialect,
        )
    except valengine.NotUtf8:  # the file changed since it was scanned
        raise InputError(f"{rel}: not UTF-8 text", hint="re-export the file as UTF-8") from None
    return ValidationReport(
        dataset=dataset,
        path=rel,
        schema=schema_rel,
        passed=not outcome.failures,
        rows=outcome.rows,
        failures=outcome.failures,
        cached=False,
        seconds=time.perf_counter() - start,
        engine=outcome.engine,
    )


def validate_dataset(project: Project, name: str, **kw: Any) -> ValidationReport:
    """Validate the data set `name` of `project` against its schema (see `validate_file`)."""
    from mlops_cli.common.fs import ensure_inside

    datasets = project.config.datasets
    if name not in datasets:
        known = ", ".join(sorted(datasets)) or "none declared"
        raise InputError(
            f"no data set {name!r} in {project.config_path} (data sets: {known})",
            hint="declare it under `datasets:` or add it with `mlops data add`",
        )
    ds = datasets[name]
    if not ds.schema_:
        raise InputError(
            f"data set {name!r} has no schema",
            hint=f"write one with `mlops schema infer {ds.path} -o schemas/{name}.yaml` and set"
            f" datasets.{name}.schema in mlops.yaml",
        )
    data = ensure_inside(project.root, Path(ds.path))
    if not data.exists():
        raise InputError(
            f"data set {name!r}: {ds.path} is not in the workspace",
            hint="run `mlops data pull` to fetch it (or `dvc repro` if a pipeline stage writes it)",
        )
    schema = ensure_inside(project.root, Path(ds.schema_))
    from mlops_cli.validation.csvdialect import CsvDialect

    kw.setdefault("dialect", CsvDialect.of(ds))
    return validate_file(data, schema, root=project.root, dataset=name, **kw)


@dataclass
class ValidationRun:
    """What `mlops validate` did: a report per data set (or file), and what it skipped."""

    reports: list[ValidationReport]
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (data set, why)

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.reports)

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "reports": [r.to_dict() for r in self.reports],
            "skipped": [{"dataset": n, "reason": why} for n, why in self.skipped],
        }


def run_validation(
    cwd: Path,
    targets: list[str],
    *,
    hook: bool = False,
    schema: Path | None = None,
    reporter: Reporter | None = None,
    **kw: Any,
) -> ValidationRun:
    """`mlops validate`: the named data sets (or paths of them), every data set with a schema
    when none is named, or with `hook` the data sets the given files touch (a data set whose
    data is not in the workspace is then skipped: its bytes are not what is being committed).
    With `schema`, each target is a file validated against that schema instead.
    """
    from mlops_cli.project.root import find_root, open_project

    reporter = reporter or NullReporter()
    if schema is not None:
        if not targets:
            raise InputError("--schema needs the data files to validate against it")
        try:
            root = find_root(cwd)
        except InputError:
            root, kw["use_cache"] = cwd, False  # no project: no cache to keep
        return ValidationRun(
            [
                validate_file(cwd / t, cwd / schema, root=root, reporter=reporter, **kw)
                for t in targets
            ]
        )
    start = cwd
    if hook and targets:
        try:
            find_root(cwd)
        except InputError:  # run from a git root above the project: find it from the files
            start = (cwd / targets[0]).parent
    project = open_project(start)
    valcache.mark_config_valid(project.root, project.config_path.read_bytes())
    names = (
        hook_datasets(project, targets, cwd=cwd)
        if hook
        else select_datasets(project, targets, cwd=cwd)
    )
    if not hook:
        _require_in_workspace(project, names)
    run = ValidationRun([])
    if not hook and not targets:
        for name, ds in project.config.datasets.items():
            if not ds.schema_:
                why = (
                    f"no schema: write one with `mlops schema infer {ds.path} -o"
                    f" schemas/{name}.yaml` and set datasets.{name}.schema in mlops.yaml"
                )
                reporter.warn(f"{name}: not validated, {why}")
                run.skipped.append((name, why))
    for name in names:
        ds = project.config.datasets[name]
        if hook and not (project.root / ds.path).exists():
            why = f"{ds.path} is not in the workspace (run `mlops data pull` to check it)"
            reporter.warn(f"{name}: skipped, {why}")
            run.skipped.append((name, why))
            continue
        run.reports.append(validate_dataset(project, name, reporter=reporter, **kw))
    return run


def _require_in_workspace(project: Project, names: list[str]) -> None:
    """Fail before validating anything when some data is missing: all of it, in one message."""
    datasets = project.config.datasets
    missing = [n for n in names if not (project.root / datasets[n].path).exists()]
    if missing:
        listed = ", ".join(f"{n} ({datasets[n].path})" for n in missing)
        raise InputError(
            f"not in the workspace: {listed}",
            hint="run `mlops data pull` to fetch versioned data (or `dvc repro` for data a"
            " pipeline stage writes)",
        )


def select_datasets(project: Project, targets: list[str], *, cwd: Path) -> list[str]:
    """Data set names for command-line targets: names, or paths of data files, schemas or
    `.dvc` files. No targets: every data set that has a schema."""
    from mlops_cli.validation import hookmap

    refs = dataset_refs(project)
    if not targets:
        return [name for name, ref in refs.items() if ref.schema]
    names: list[str] = []
    for target in targets:
        if target in refs:
            found = [target]
        else:
            found = hookmap.datasets_for_files(project.root, cwd, [target], refs)
            if not found:
                known = ", ".join(refs) or "none declared"
                raise InputError(
                    f"{target!r} is neither a data set nor the path of one (data sets: {known})",
                    hint="declare it under `datasets:` in mlops.yaml, or pass --schema FILE",
                )
        names += [n for n in found if n not in names]
    return names


def hook_datasets(project: Project, files: list[str], *, cwd: Path) -> list[str]:
    """The data sets touched by the files pre-commit passes (data, `.dvc`, schema files,
    `dvc.lock`, mlops.yaml); files that concern no data set are ignored."""
    from mlops_cli.validation import hookmap

    return hookmap.datasets_for_files(project.root, cwd, files, dataset_refs(project))


def dataset_refs(project: Project) -> dict[str, Any]:
    from mlops_cli.validation.hookmap import DatasetRef

    return {name: DatasetRef(ds.path, ds.schema_) for name, ds in project.config.datasets.items()}


def default_chunk_bytes() -> int:
    import os

    raw = os.environ.get(CHUNK_ENV, "").strip()
    if raw:
        try:
            return max(1, int(float(raw) * 1024 * 1024))
        except ValueError:
            raise InputError(f"{CHUNK_ENV}={raw!r} is not a number of megabytes") from None
    # Validating a chunk takes ~100 MB plus ~5x the chunk's size (arrow's read-ahead, the
    # polars frame, pandera's masks): 1/16 of the available memory keeps that near a third.
    available = _available_memory() or 4 << 30
    return int(min(2 << 30, max(64 << 20, available // 16)))


def _available_memory() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _display(path: Path, root: Path) -> str:
    try:
        return Path(path).absolute().relative_to(root.absolute()).as_posix()
    except ValueError:
        return str(path)


def _to_cache(report: ValidationReport) -> dict[str, Any]:
    return {
        "passed": report.passed,
        "rows": report.rows,
        "engine": report.engine,
        "failures": [f.to_dict() for f in report.failures],
    }


def _from_cache(
    hit: dict[str, Any], dataset: str | None, rel: str, schema_rel: str, start: float
) -> ValidationReport:
    return ValidationReport(
        dataset=dataset,
        path=rel,
        schema=schema_rel,
        passed=bool(hit.get("passed")),
        rows=hit.get("rows"),
        failures=[Failure.from_dict(f) for f in hit.get("failures", [])],
        cached=True,
        seconds=time.perf_counter() - start,
        engine=hit.get("engine"),
    )


def cached_report(
    root: Path,
    path: Path,
    schema_path: Path,
    *,
    dataset: str | None = None,
    dialect: CsvDialect | None = None,
) -> ValidationReport | None:
    """The cached report for this exact file and schema, or None: reads no data, imports
    nothing heavy (the hook's fast path)."""
    from mlops_cli.validation.csvdialect import CsvDialect

    start = time.perf_counter()
    rel = _display(path, root)
    suffix = path.suffix.lower()
    fmt = {
        ".csv": "csv",
        ".tsv": "tsv",
        ".parquet": "parquet",
        ".pq": "parquet",
        ".json": "json",
        ".jsonl": "jsonl",
        ".ndjson": "jsonl",
    }.get(suffix)
    if fmt is None:
        return None
    tag = (dialect or CsvDialect()).cache_tag(fmt)
    try:
        stat = valcache.FileStat.of(path)
        schema_hash = valcache.bytes_hash(schema_path.read_bytes())
    except OSError:
        return None
    content = valcache.cached_hash(root, rel, stat)
    if content is None:
        return None
    hit = valcache.load_result(root, valcache.result_key(content, schema_hash, tag))
    if hit is None:
        return None
    return _from_cache(hit, dataset, rel, _display(schema_path, root), start)
