"""`mlops model add`: declare a model in mlops.yaml, as `data add` declares a data set.

The entry is inserted as a block of text (comments and layout kept, `configedit`), the
result is validated against the config model before it is written atomically, under the
repo lock. A name that is declared already is refused (exit 3), never replaced.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from mlops_cli.common.errors import ConfigError, InputError, UsageError
from mlops_cli.common.fs import atomic_write_text, ensure_inside, repo_lock
from mlops_cli.common.progress import NullReporter, Reporter
from mlops_cli.common.yamlio import parse_yaml
from mlops_cli.gitio import data as datagit
from mlops_cli.project import configedit
from mlops_cli.project.root import CONFIG_FILE, Project, load_config, validate_config

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
_FORMATS = {
    ".skops": "skops",
    ".joblib": "joblib",
    ".pkl": "pickle",
    ".pickle": "pickle",
    ".ubj": "xgboost",
    ".onnx": "onnx",
}
# Every `format:` mlops.yaml accepts (project/config.py's Literal; a test keeps them equal).
FORMATS = ("skops", "xgboost", "lightgbm", "onnx", "joblib", "pickle")


def _guess_format(file: Path, rel: str) -> str | None:
    """The format from the suffix, else from the first bytes of a native model file
    (XGBoost's `.json`, LightGBM's `.txt`), read without loading anything."""
    fmt = _FORMATS.get(PurePosixPath(rel).suffix.lower())
    if fmt is not None:
        return fmt
    from mlops_cli.runtime.formats import NATIVE, matches

    try:
        with file.open("rb") as fh:
            head = fh.read(256)
    except OSError:
        return None
    return next((f for f in NATIVE if matches(f, head)), None)


@dataclass(frozen=True)
class ModelAdded:
    model: str
    entry: dict[str, Any]
    staged: list[str]


def add(
    project: Project,
    name: str,
    *,
    path: str,
    data: str | None,
    task: str = "classification",
    fmt: str | None = None,
    target: str | None = None,
    reporter: Reporter | None = None,
) -> ModelAdded:
    """Declare model `name` (see the module docstring)."""
    reporter = reporter or NullReporter()
    root = project.root
    if not _NAME.match(name):
        raise UsageError(
            f"model name {name!r} is not valid",
            hint="use letters, digits, - and _, starting with a letter (at most 64)",
        )
    rel = ensure_inside(root, root / path).relative_to(root.resolve()).as_posix()
    if rel == "." or PurePosixPath(rel).parts[0] in (".git", ".dvc", ".mlops"):
        raise InputError(f"{rel} cannot be a model file")
    fmt = fmt or _guess_format(root / rel, rel)
    if fmt is None:
        raise UsageError(
            f"cannot tell the format of {rel} from its suffix or its first bytes",
            hint="pass --format " + "|".join(FORMATS),
        )
    with repo_lock(root, "model add", on_warning=reporter.warn):
        config = load_config(root / CONFIG_FILE)
        if name in config.models:
            raise InputError(
                f"model {name!r} is already declared in {CONFIG_FILE}",
                hint="choose another name, or edit its entry in mlops.yaml",
            )
        if data is not None and data not in config.datasets:
            known = ", ".join(sorted(config.datasets)) or "none declared"
            raise InputError(
                f"data set {data!r} is not declared in {CONFIG_FILE} (declared: {known})",
                hint=f"declare it first: mlops data add PATH --dataset {data}",
            )
        if target is None:
            target = _guess_target(project, config.datasets[data].schema_ if data else None)
        if target is None:
            raise UsageError(
                "name the label column with --target COL",
                hint="it is the column of the data set the model predicts",
            )
        entry: dict[str, Any] = {"path": rel, "format": fmt, "task": task, "target": target}
        if data is not None:
            entry["train_data"] = [data]
            entry["test_data"] = data
        file = root / CONFIG_FILE
        was_clean = datagit.is_clean(root, CONFIG_FILE)
        text = file.read_text(encoding="utf-8")
        try:
            new = configedit.add_entry(text, "models", name, entry, str(file), what="model")
        except ConfigError as exc:
            raise ConfigError(
                str(exc), hint=f"declare it by hand under `models:` in {CONFIG_FILE}"
            ) from None
        validate_config(parse_yaml(new.encode("utf-8"), str(file)))
        atomic_write_text(file, new)
        staged: list[str] = []
        if was_clean:
            datagit.stage(root, [CONFIG_FILE])
            staged.append(CONFIG_FILE)
    if not (root / rel).exists():
        reporter.warn(f"{rel} does not exist yet: train the model to write it there")
    return ModelAdded(name, entry, staged)


def _guess_target(project: Project, schema: str | None) -> str | None:
    """The schema's one column named like a label (target, label, y, class), if any."""
    if schema is None:
        return None
    from mlops_cli.common.yamlio import load_yaml

    try:
        doc = load_yaml(Path(project.root / schema)).data
    except Exception:
        return None
    columns = doc.get("columns") if isinstance(doc, dict) else None
    if not isinstance(columns, dict):
        return None
    likely = [c for c in columns if str(c).lower() in ("target", "label", "y", "class")]
    return str(likely[0]) if len(likely) == 1 else None
