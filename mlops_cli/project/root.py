"""Find the project root and load `mlops.yaml` into the typed config model.

`locate` and `read_config_bytes` import nothing heavy (no pydantic): the hook's fast path
(`cli/hookfast.py`) uses them before anything else loads. The typed model is imported when
a config is validated.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops_cli.common.errors import ConfigError, InputError, NotAProject, dotted_key
from mlops_cli.common.yamlio import YamlDoc, load_yaml

if TYPE_CHECKING:
    from mlops_cli.project.config import ProjectConfig

CONFIG_FILE = "mlops.yaml"


@dataclass(frozen=True)
class Project:
    root: Path
    config: ProjectConfig

    @property
    def config_path(self) -> Path:
        return self.root / CONFIG_FILE


def locate(start: Path) -> Path | None:
    """The nearest folder at or above `start` (made absolute, symlinks kept) that holds
    `mlops.yaml`, else None."""
    start = start.absolute()
    for folder in (start, *start.parents):
        if (folder / CONFIG_FILE).is_file():
            return folder
    return None


def find_root(start: Path) -> Path:
    """The nearest folder at or above `start` that holds `mlops.yaml`."""
    start = start.resolve()
    root = locate(start)
    if root is not None:
        return root
    raise NotAProject(
        f"not an mlops project (no {CONFIG_FILE} in {start} or any parent)",
        hint="run `mlops init` to create one, or pass -C DIR",
    )


def open_project(start: Path) -> Project:
    from mlops_cli.common.tempsweep import sweep_project

    root = find_root(start)
    project = Project(root=root, config=load_config(root / CONFIG_FILE))
    sweep_project(project)  # a killed writer's temp files: gone with the next command
    return project


def load_config(path: Path) -> ProjectConfig:
    """Parse and validate a config file; every problem names the key path and the line."""
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    doc = load_yaml(path, max_bytes=1024 * 1024, max_nodes=50_000)
    return validate_config(doc)


def validate_config(doc: YamlDoc) -> ProjectConfig:
    from pydantic import ValidationError

    from mlops_cli.project.config import ProjectConfig

    if not isinstance(doc.data, dict):
        found = "an empty file" if doc.data is None else type(doc.data).__name__
        raise ConfigError(f"{doc.source}: expected a mapping of settings, found {found}")
    try:
        return ProjectConfig.model_validate(doc.data)
    except ValidationError as exc:
        # A typo shows up twice (unknown key + missing key): lead with the typo, the cause.
        errors = sorted(exc.errors(include_url=False), key=lambda e: e["type"] != "extra_forbidden")
        problems = [_describe(doc, err) for err in errors]
        more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        error = ConfigError(problems[0] + more)
        error.problems = problems  # type: ignore[attr-defined]
        raise error from None


def _describe(doc: YamlDoc, err: Any) -> str:
    loc = tuple(part for part in err["loc"] if part not in ("function-after",))
    dotted = dotted_key(loc) or "(top level)"
    where = doc.where(loc)
    if err["type"] == "extra_forbidden":
        import difflib  # lazily: three modules the hook's fast path does not need

        key = str(loc[-1])
        valid = _keys_at(loc[:-1])
        close = difflib.get_close_matches(key, valid, n=1, cutoff=0.6)
        tip = f"; did you mean {close[0]!r}?" if close else f"; valid keys: {', '.join(valid)}"
        return f"{where}: {dotted}: unknown key{tip}"
    if err["type"] == "missing":
        return f"{where}: {dotted}: required key is missing"
    message = str(err["msg"]).removeprefix("Value error, ")
    return f"{where}: {dotted}: {message}"


def _keys_at(loc: tuple[Any, ...]) -> list[str]:
    """The valid keys of the mapping at `loc`, by walking the model's type hints."""
    from pydantic import BaseModel

    from mlops_cli.project.config import ProjectConfig

    current: Any = ProjectConfig
    for part in loc:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = next(
                (f for n, f in current.model_fields.items() if (f.alias or n) == part), None
            )
            if field is None:
                return []
            current = field.annotation
        else:
            origin = typing.get_origin(current)
            args = typing.get_args(current)
            if origin in (dict, list) and args:
                current = args[-1]
            else:
                return []
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [f.alias or n for n, f in current.model_fields.items()]
    return []


def _unwrap(tp: Any) -> Any:
    """`X | None` and `Annotated[X, ...]` -> X."""
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(args) != 1:
                return tp
            tp = args[0]
        else:
            return tp
