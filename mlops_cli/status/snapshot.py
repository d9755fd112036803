"""The validated `mlops.yaml` of `mlops status`, remembered so an unchanged one costs no
pydantic.

Validating `mlops.yaml` means importing pydantic and building the config model's validator:
about half of a clean `mlops status`. What the validation produced is plain data (strings,
numbers, lists, mappings of them, nested models without methods or properties), so once a
file's bytes have been validated, the result is kept in `config.json` in this user's cache
folder for the project (`common.fs.user_cache_dir`: outside the repository, so a clone
cannot plant a forged one), keyed by the sha256 of those bytes, of this mlops version and of
the model's own source file. A file with any other bytes is validated again, with the usual
errors; the kept copy is rebuilt as read-only attribute objects that answer every field
the model has (tests/status/test_snapshot.py compares the two, field by field).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from mlops_cli.common.fs import atomic_write_bytes, user_cache_dir
from mlops_cli.project.root import CONFIG_FILE, Project, find_root

SNAPSHOT = "config.json"  # in common.fs.user_cache_dir(root), outside the repository
FORMAT = 1  # of the snapshot: part of the key, so an older layout is never read
_MAX_CONFIG = 1024 * 1024  # as project/root.py's load_config


class _Frozen(SimpleNamespace):
    """A model's fields, read-only like the frozen pydantic model it stands for."""

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen")


def open_project(start: Path) -> Project:
    """project/root.py's `open_project`, with the config from the snapshot when the bytes of
    `mlops.yaml` are the ones it was made from."""
    from mlops_cli.common.tempsweep import sweep_project

    root = find_root(start)
    path = root / CONFIG_FILE
    raw = path.read_bytes() if path.is_file() else None
    config = _load(root, raw) if raw is not None else None
    if config is None:
        config = _validate(root, path, raw)
    project = Project(root=root, config=config)
    sweep_project(project)
    return project


def _key(raw: bytes) -> str:
    from mlops_cli import __version__
    from mlops_cli.project import root as project_root

    model_source = Path(project_root.__file__).with_name("config.py")
    st = model_source.stat()
    digest = hashlib.sha256(raw)
    digest.update(f"\0{FORMAT}\0{__version__}\0{st.st_size}\0{st.st_mtime_ns}".encode())
    return digest.hexdigest()


def _load(root: Path, raw: bytes) -> Any | None:
    try:
        doc = json.loads((user_cache_dir(root) / SNAPSHOT).read_bytes())
        if not isinstance(doc, dict) or doc.get("key") != _key(raw):
            return None
        return decode(doc["config"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _validate(root: Path, path: Path, raw: bytes | None) -> Any:
    """Validate exactly the bytes the key is made of, then remember the result."""
    from mlops_cli.common.errors import InputError
    from mlops_cli.common.yamlio import parse_yaml
    from mlops_cli.project.root import validate_config

    if raw is None:
        raise InputError(f"{path}: no such file")
    source = str(path)
    config = validate_config(parse_yaml(raw, source, max_bytes=_MAX_CONFIG, max_nodes=50_000))
    try:
        encoded = encode(config)
        text = json.dumps({"key": _key(raw), "config": encoded})
        if json.loads(text)["config"] != encoded:  # a value JSON would not give back as is
            return config
        folder = user_cache_dir(root)
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(folder / SNAPSHOT, text.encode())
    except (OSError, TypeError, ValueError):
        pass  # an optimisation only: a read-only project is validated every time
    return config


def encode(value: Any) -> Any:
    """A validated config as tagged JSON: ["M", fields] a model, ["D", {...}] a mapping,
    ["L", [...]] a list, ["S", value] a scalar (TypeError for anything else)."""
    from pydantic import BaseModel

    if isinstance(value, BaseModel):
        return ["M", {name: encode(getattr(value, name)) for name in type(value).model_fields}]
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise TypeError("a mapping with keys that are not strings")
        return ["D", {k: encode(v) for k, v in value.items()}]
    if isinstance(value, list):
        return ["L", [encode(v) for v in value]]
    if value is None or isinstance(value, bool | int | float | str):
        return ["S", value]
    raise TypeError(f"cannot keep a {type(value).__name__}")


def decode(node: Any) -> Any:
    kind, value = node
    if kind == "M":
        return _Frozen(**{name: decode(v) for name, v in value.items()})
    if kind == "D":
        return {k: decode(v) for k, v in value.items()}
    if kind == "L":
        return [decode(v) for v in value]
    if kind == "S":
        return value
    raise ValueError(f"unknown node {kind!r}")
