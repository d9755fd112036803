"""`mlops validate --hook` on unchanged files, answered before Typer, rich or pydantic load.

pre-commit runs the hook on every commit that touches a data set; when nothing it names has
changed since it was last validated, the answer is in the cache and the whole process costs
a few `stat`s and one small YAML parse. Anything unusual (no cache entry, a data file not in
the workspace, an option this path does not know) falls through to the full command, which
gives the same output. Also the plain-text rendering of reports, shared with `validate.py`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlops_cli.validation.report import Failure, ValidationReport


def plain_lines(reports: list[ValidationReport], *, quiet: bool = False) -> list[str]:
    """One line per report and one per failed check: for logs, hooks and pipes. `quiet`:
    the failures only."""
    lines: list[str] = []
    for report in reports:
        label = f"{report.dataset}: {report.path}" if report.dataset else report.path
        rows = f", {report.rows:,} rows" if report.rows is not None else ""
        cached = " (cached)" if report.cached else ""
        if report.passed:
            if not quiet:
                lines.append(f"PASS {label}{rows}{cached}")
            continue
        checks = len(report.failures)
        lines.append(f"FAIL {label}{rows}, {checks} failed check(s) of {report.schema}{cached}")
        lines += [f"  - {failure_text(f)}" for f in report.failures]
    return lines


def failure_text(failure: Failure) -> str:
    from mlops_cli.validation.junit import describe

    return describe(failure)


def fast_hook(args: list[str]) -> int | None:
    """The exit code when every data set the files touch has a cached result, else None."""
    files = [a for a in args if a != "--hook"]
    if any(a.startswith("-") for a in files):
        return None
    try:
        reports = _cached_reports(Path.cwd(), files)
    except (OSError, ValueError):
        return None
    if reports is None:
        return None
    if reports:
        sys.stdout.write("\n".join(plain_lines(reports)) + "\n")
        sys.stdout.flush()
    return 0 if all(r.passed for r in reports) else 1


def _cached_reports(cwd: Path, files: list[str]) -> list[ValidationReport] | None:
    from mlops_cli.project.root import CONFIG_FILE, locate
    from mlops_cli.validation import cache as valcache
    from mlops_cli.validation import hookmap
    from mlops_cli.validation.validate import cached_report

    root = locate(cwd) or (locate((cwd / files[0]).parent) if files else None)
    if root is None:
        return None
    config = (root / CONFIG_FILE).read_bytes()
    # Only mlops.yaml bytes that the full command validated (pydantic) are trusted here.
    if not valcache.config_marker(root, config).exists():
        return None
    parsed = _dataset_refs(config)
    if parsed is None:
        return None
    refs, dialects = parsed
    reports: list[ValidationReport] = []
    resolved_root = root.resolve()
    for name in hookmap.datasets_for_files(root, cwd, files, refs):
        ref = refs[name]
        data, schema = root / ref.path, root / (ref.schema or "")
        if not data.resolve().is_relative_to(resolved_root) or not data.is_file():
            return None
        dialect = dialects.get(name)
        report = cached_report(root, data, schema, dataset=name, dialect=dialect)
        if report is None:
            # After a checkout or a `touch` the stat entry is stale although the bytes may
            # be those validated before: hash them (no heavy import), record the new stat,
            # and look again. Changed bytes miss and fall through to the full command.
            utf8 = data.suffix.lower() not in (".parquet", ".pq") and (
                dialect is None or dialect.utf8
            )
            rel = data.absolute().relative_to(root.absolute()).as_posix()
            if not valcache.refresh_hash(root, rel, data, check_utf8=utf8):
                return None
            report = cached_report(root, data, schema, dataset=name, dialect=dialect)
        if report is None:
            return None
        reports.append(report)
    return reports


def _dataset_refs(config: bytes) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The data sets' paths and schemas, and how their CSVs are written."""
    from mlops_cli.common.errors import ConfigError
    from mlops_cli.common.yamlio import parse_yaml
    from mlops_cli.project.root import CONFIG_FILE
    from mlops_cli.validation.csvdialect import CsvDialect
    from mlops_cli.validation.hookmap import DatasetRef

    try:
        doc = parse_yaml(
            config, CONFIG_FILE, max_bytes=1024 * 1024, max_nodes=50_000, fast=True
        ).data
    except ConfigError:
        return None
    datasets = doc.get("datasets") if isinstance(doc, dict) else None
    if datasets is None:
        return {}, {}
    refs: dict[str, Any] = {}
    dialects: dict[str, Any] = {}
    for name, ds in datasets.items() if isinstance(datasets, dict) else []:
        if not isinstance(ds, dict) or not isinstance(ds.get("path"), str):
            return None
        schema = ds.get("schema")
        if schema is not None and not isinstance(schema, str):
            return None
        refs[str(name)] = DatasetRef(ds["path"].strip(), schema.strip() if schema else None)
        marks = {k: ds[k] for k in ("delimiter", "decimal", "encoding", "quotechar") if k in ds}
        if not all(isinstance(v, str) for v in marks.values()):
            return None
        dialects[str(name)] = CsvDialect.of(SimpleNamespace(**marks))
    return refs, dialects


def fast_config_check(args: list[str]) -> int | None:
    """`mlops config check [FILE...]` without typer or rich: the same `load_config` (the
    pydantic model) as the full command, and its success lines written as rich writes them
    to a stream that is not a terminal. None (the full command runs, and says what is
    wrong) for an option, an invalid or unreadable file, a terminal or forced colour, or a
    path rich would read as markup.

    Bytes that this mlops and pydantic found valid before (the validation cache's config
    marker, in the user's cache folder where a clone cannot plant one) are not parsed again:
    the pre-commit hook on an unchanged mlops.yaml loads no pydantic at all."""
    import os

    from mlops_cli.common.errors import MlopsError
    from mlops_cli.common.yamlio import parse_yaml
    from mlops_cli.project.root import CONFIG_FILE, find_root, validate_config
    from mlops_cli.validation import cache as valcache

    if any(a.startswith("-") for a in args):
        return None
    if sys.stderr.isatty() or "FORCE_COLOR" in os.environ or "TTY_COMPATIBLE" in os.environ:
        return None
    try:
        cwd = Path.cwd()
        paths = [cwd / Path(f) for f in args] if args else [find_root(cwd) / CONFIG_FILE]
        for path in paths:
            if not path.is_file():
                return None
            raw = path.read_bytes()
            if valcache.config_marker(path.parent, raw).exists():
                continue
            # load_config's limits, on the bytes the marker is keyed by.
            validate_config(parse_yaml(raw, str(path), max_bytes=1 << 20, max_nodes=50_000))
            valcache.mark_config_valid(path.parent, raw)
    except (MlopsError, OSError, ValueError):
        return None
    lines = [f"{path}: valid" for path in paths]
    if any("[" in line for line in lines):
        return None
    sys.stderr.write("".join(f"\u2713 {line}\n" for line in lines))
    sys.stderr.flush()
    return 0
