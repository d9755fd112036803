"""Which stages of the project's pipeline `dvc repro` would run again, without DVC.

`dvc status` compares each stage of `dvc.yaml` with what `dvc.lock` recorded of its last
run: the command, the deps' and outs' md5 and the params' values. This does the same from
the files alone (hashes through the stat cache of `dvc/files.Hasher`, so an unchanged
pipeline costs a few `stat`s), for the pipeline at the project's root. Data sets are
reported by the data layer; a stage is named here for what that layer cannot see: code and
params it ran with, outputs that are not data sets. tests/status/test_pipeline.py holds the
verdict against `dvc status`'s own on real repositories.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops_cli.common.errors import ConfigError
from mlops_cli.dvc import files as dvcfiles

_MISSING = object()


@dataclass(frozen=True)
class StageChange:
    stage: str
    changes: list[str]  # "changed command", "modified src/train.py", "changed params: train"


def changed_stages(root: Path, skip: set[str]) -> list[StageChange]:
    """The root pipeline's stages that differ from `dvc.lock`; paths in `skip` (data sets
    already reported as changed) are not compared again."""
    try:
        spec = dvcfiles.load_yaml((root / "dvc.yaml").read_bytes(), "dvc.yaml")
    except (OSError, ConfigError):
        return []  # no pipeline, or one DVC itself would refuse: `dvc status` says why
    stages = spec.get("stages") if isinstance(spec, dict) else None
    if not isinstance(stages, dict):
        return []
    try:
        lock = dvcfiles.Lock(dvcfiles.load_yaml((root / "dvc.lock").read_bytes(), "dvc.lock"))
    except OSError:
        lock = dvcfiles.Lock({})
    except ConfigError:
        return []
    out: list[StageChange] = []
    with dvcfiles.Hasher(root) as hasher:
        params: dict[str, Any] = {}
        for name, stage in stages.items():
            if not isinstance(stage, dict) or stage.get("frozen") is True or "foreach" in stage:
                continue
            changes = _stage_changes(root, str(name), stage, lock, hasher, params, skip)
            if changes:
                out.append(StageChange(str(name), changes))
    return out


def _stage_changes(
    root: Path,
    name: str,
    stage: dict[str, Any],
    lock: dvcfiles.Lock,
    hasher: dvcfiles.Hasher,
    params: dict[str, Any],
    skip: set[str],
) -> list[str]:
    recorded = lock.stages.get(name)
    if recorded is None:
        return ["never run (not in dvc.lock)"]
    changes = []
    if stage.get("always_changed") is True:
        changes.append("always changed")
    if _cmd(stage.get("cmd")) != _cmd(recorded.get("cmd")):
        changes.append("changed command")
    declared = {dvcfiles.join_posix(".", d) for d in _names(stage.get("deps"))}
    deps = lock.deps(name)
    if declared != set(deps):
        changes.append("changed deps list")
    outs = {o.path: o for o in lock.outs(name)}
    kinds = ("outs", "metrics", "plots")
    written = {dvcfiles.join_posix(".", o) for k in kinds for o in _names(stage.get(k))}
    if written != set(outs):
        changes.append("changed outs list")
    legacy = {
        dvcfiles.join_posix(".", str(d.get("path")))
        for d in recorded.get("deps") or []
        if isinstance(d, dict) and d.get("hash") != "md5"
    }
    for path, md5 in deps.items():
        if path not in skip and path not in legacy and "://" not in path:
            changes += _compare(root / path, path, md5, hasher)
    for path, o in outs.items():
        if path not in skip and not o.legacy:
            changes += _compare(root / path, path, o.md5, hasher)
    changes += _params_changes(root, recorded.get("params"), params)
    return changes


def _compare(target: Path, rel: str, md5: str | None, hasher: dvcfiles.Hasher) -> list[str]:
    try:
        digest = hasher.digest(target)
    except FileNotFoundError:
        return [f"deleted {rel}"]
    except dvcfiles.NeedsDvc:
        return []  # `.dvcignore` rules: only DVC hashes that folder exactly
    except OSError:
        return [f"unreadable {rel}"]
    return [] if digest.md5 == md5 else [f"modified {rel}"]


def _params_changes(root: Path, recorded: Any, cache: dict[str, Any]) -> list[str]:
    changed: list[str] = []
    for file, values in (recorded if isinstance(recorded, dict) else {}).items():
        if file not in cache:
            try:
                cache[file] = dvcfiles.load_yaml((root / str(file)).read_bytes(), str(file))
            except (OSError, ConfigError):
                cache[file] = None
        current = cache[file]
        for key, value in (values if isinstance(values, dict) else {}).items():
            if _lookup(current, str(key)) != value:
                changed.append(f"changed params: {file}:{key}")
    return changed


def _lookup(doc: Any, key: str) -> Any:
    """`a.b` in a params file, as DVC reads it (`_MISSING` when absent)."""
    node = doc
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return _MISSING
        node = node[part]
    return node


def _cmd(value: Any) -> Any:
    return value if not isinstance(value, list) else [str(v) for v in value]


def _names(items: Any) -> list[str]:
    """The paths of a `deps`/`outs` list of `dvc.yaml` (a path, or a path with options)."""
    out = []
    for item in items if isinstance(items, list) else []:
        path = next(iter(item), None) if isinstance(item, dict) else item
        if isinstance(path, str):
            out.append(path)
    return out
