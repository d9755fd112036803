"""What drift compares: the reference data a version was trained on (found through its
lineage record by DVC md5, never the workspace's current file unless its md5 is the
recorded one), and the current data (files, folders, or a prediction-log folder)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops_cli.common.errors import InputError
from mlops_cli.project.root import Project
from mlops_cli.registry.lineage import locate
from mlops_cli.registry.records import VersionRecord

FORMATS = {".csv": "csv", ".tsv": "csv", ".parquet": "parquet", ".pq": "parquet"}
LOG_SUFFIX = ".jsonl"  # the prediction log (runtime/predlog.py, docs/monitoring.md)


@dataclass(frozen=True)
class Reference:
    dataset: str
    path: str  # as the record names it
    md5: str
    source: Path  # the file read: a DVC cache object or the work tree's file


def reference_of(project: Project, record: VersionRecord, dataset: str | None) -> Reference:
    """The record's training data set (or `dataset`), located by its recorded md5."""
    data = record.data
    if dataset is not None:
        if dataset not in data:
            known = ", ".join(sorted(data)) or "none"
            raise InputError(
                f"{record.model}@{record.version} records no data set {dataset!r} (it has: {known})"
            )
        name = dataset
    else:
        train = [n for n, d in data.items() if d.get("role") == "train"]
        if not train:
            raise InputError(
                f"the record of {record.model}@{record.version} names no training data",
                hint="pass --reference DATASET (one of the record's data sets)",
            )
        name = train[0]
    entry = data[name]
    rel, md5 = str(entry.get("path") or ""), str(entry.get("md5") or "")
    if Path(rel).suffix.lower() not in FORMATS:
        raise InputError(f"{rel}: drift reads CSV or Parquet data sets, not {Path(rel).suffix!r}")
    if not md5 or md5.endswith(".dir"):
        raise InputError(f"{rel} is a folder or has no md5 in the record: no single reference file")
    found = locate(project.root, rel, md5)
    if found is not None:
        return Reference(name, rel, md5, found)
    raise InputError(
        f"the reference data of {record.model}@{record.version} ({rel}, md5 {md5[:12]}) is"
        " neither in the DVC cache nor the work tree",
        hint="fetch it: `dvc fetch --all-tags` (or `mlops data pull` on the version's commit)",
    )


def read_reference(ref: Reference) -> Any:
    return _read(ref.source, FORMATS[Path(ref.path).suffix.lower()], ref.path)


def read_current(paths: list[Path]) -> tuple[Any, list[str]]:
    """Every current file (a folder: each CSV, Parquet and prediction-log file in it,
    sorted) as one polars frame, and the files read."""
    import polars as pl

    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(
                p
                for p in path.rglob("*")
                if p.is_file() and (p.suffix.lower() in FORMATS or p.suffix == LOG_SUFFIX)
            )
            if not found:
                raise InputError(f"{path}: no CSV, Parquet or prediction-log (.jsonl) file in it")
            files += found
        elif path.is_file():
            files.append(path)
        else:
            raise InputError(f"{path}: no such file or folder")
    frames = []
    for path in files:
        suffix = path.suffix.lower()
        if suffix == LOG_SUFFIX:
            frames.append(_read_log(path))
        elif suffix in FORMATS:
            frames.append(_read(path, FORMATS[suffix], str(path)))
        else:
            raise InputError(f"{path}: drift reads CSV, Parquet or .jsonl prediction logs")
    frame = frames[0] if len(frames) == 1 else pl.concat(frames, how="diagonal_relaxed")
    return frame, [str(p) for p in files]


def _read(path: Path, fmt: str, source: str) -> Any:
    import polars as pl

    try:
        if fmt == "parquet":
            return pl.read_parquet(path)
        return pl.read_csv(path, infer_schema_length=10_000)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise InputError(f"{source}: cannot be read as {fmt}: {str(exc).splitlines()[0]}") from exc


def _read_log(path: Path) -> Any:
    """A prediction log's rows: each line's `inputs` (the columns the model saw)."""
    import polars as pl

    rows: list[dict[str, Any]] = []
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                doc = json.loads(line)
            except ValueError as exc:
                raise InputError(f"{path}:{number}: not a JSON line: {exc}") from exc
            inputs = doc.get("inputs") if isinstance(doc, dict) else None
            if not isinstance(inputs, dict):
                raise InputError(f"{path}:{number}: no `inputs` object (a prediction log line?)")
            rows.append(inputs)
    if not rows:
        return pl.DataFrame()
    return pl.from_dicts(rows, infer_schema_length=None)
