"""Which data sets a list of changed files concerns (what `mlops validate --hook` checks).

pre-commit passes the staged files that match the hook's pattern, relative to the git root:
data files, their `.dvc` files, schema files, `dvc.lock` (pipeline outputs) and mlops.yaml.
Standard library only (plus the guarded YAML reader, on libyaml, for `.dvc` files): the
hook's fast path runs this before anything heavy is imported.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath
from typing import Any, NamedTuple

from mlops_cli.common.errors import ConfigError
from mlops_cli.common.yamlio import parse_yaml
from mlops_cli.project.root import CONFIG_FILE


class DatasetRef(NamedTuple):
    path: str
    schema: str | None


def datasets_for_files(
    root: Path, cwd: Path, files: Iterable[str], datasets: Mapping[str, DatasetRef]
) -> list[str]:
    """Names of the data sets (with a schema) that `files` touch, in mlops.yaml order."""
    with_schema = {n: r for n, r in datasets.items() if r.schema}
    hit: set[str] = set()
    for name in files:
        rel = _relative(root, cwd, name)
        if rel is None:
            continue
        hit.update(_touched(root, rel, with_schema))
    return [n for n in with_schema if n in hit]


def _relative(root: Path, cwd: Path, name: str) -> str | None:
    absolute = Path(os.path.normpath(cwd / name))
    try:
        return absolute.relative_to(Path(os.path.normpath(root))).as_posix()
    except ValueError:
        return None


def _norm(path: str) -> str:
    return PurePosixPath(os.path.normpath(path)).as_posix()


def _touched(root: Path, rel: str, datasets: Mapping[str, DatasetRef]) -> set[str]:
    if rel == CONFIG_FILE:
        return set(datasets)
    outs: list[str] = [rel]
    if rel.endswith(".dvc"):
        outs = _dvc_outs(root, rel) or [rel[: -len(".dvc")]]
    elif PurePosixPath(rel).name == "dvc.lock":
        outs = _lock_outs(root, rel)
    found: set[str] = set()
    for name, ref in datasets.items():
        data, schema = _norm(ref.path), _norm(ref.schema or "")
        if rel == schema or any(_overlaps(out, data) for out in outs):
            found.add(name)
    return found


def _overlaps(a: str, b: str) -> bool:
    """One path is the other or inside it (a data set may be a folder, or inside one)."""
    return a == b or a.startswith(b + "/") or b.startswith(a + "/")


def _load(root: Path, rel: str) -> Any:
    try:
        return parse_yaml((root / rel).read_bytes(), rel, fast=True).data
    except (OSError, ConfigError):
        return None


def _out_paths(base: str, entries: Any) -> list[str]:
    paths: list[str] = []
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and isinstance(entry.get("path"), str):
            paths.append(_norm(str(PurePosixPath(base) / entry["path"])))
    return paths


def _dvc_outs(root: Path, rel: str) -> list[str]:
    doc = _load(root, rel)
    base = str(PurePosixPath(rel).parent)
    return _out_paths(base, doc.get("outs")) if isinstance(doc, dict) else []


def _lock_outs(root: Path, rel: str) -> list[str]:
    doc = _load(root, rel)
    base = str(PurePosixPath(rel).parent)
    stages = doc.get("stages") if isinstance(doc, dict) else None
    paths: list[str] = []
    for stage in stages.values() if isinstance(stages, dict) else []:
        if isinstance(stage, dict):
            paths += _out_paths(base, stage.get("outs"))
    return paths
