"""Project templates: where they live, what `template.yaml` declares, answering variables."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mlops_cli.common.errors import ConfigError, InputError, dotted_key
from mlops_cli.common.yamlio import load_yaml
from mlops_cli.scaffold import history

DEFAULT_TEMPLATE = "sklearn-classifier"
SPEC_FILE = "template.yaml"
FILES_DIR = "project"


class Variable(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["str", "int", "float", "bool"] = "str"
    help: str = ""
    default: Any = None
    choices: list[Any] | None = None
    pattern: str | None = None


class Export(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    sklearn: str = Field(description="Name of a scikit-learn data set (rendered).")
    path: str


class TemplateSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    version: str = Field(pattern=r"^\d+\.\d+\.\d+([.+-][0-9A-Za-z.-]+)?$")
    description: str = ""
    variables: dict[str, Variable] = Field(default_factory=dict)
    exports: list[Export] = Field(default_factory=list)
    dvc_add: list[str] = Field(default_factory=list)


@dataclass(frozen=True)
class Template:
    spec: TemplateSpec
    root: Path
    builtin: bool

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def version(self) -> str:
        return self.spec.version

    @property
    def ref(self) -> str:
        """What `mlops.yaml` records so a later update finds the template again."""
        return self.spec.name if self.builtin else str(self.root)


def builtin_root() -> Path:
    """The built-in templates: inside the wheel, or `templates/` in a source checkout."""
    packaged = resources.files("mlops_cli") / "_templates"
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[2] / "templates"


def list_templates() -> list[Template]:
    root = builtin_root()
    found = [load_template_dir(d, builtin=True) for d in sorted(root.iterdir()) if _is_tpl(d)]
    return found


def _is_tpl(folder: Path) -> bool:
    try:
        return folder.is_dir() and (folder / SPEC_FILE).is_file()
    except OSError:  # a name too long for the filesystem, a loop: not a template
        return False


def resolve_template(ref: str, *, cwd: Path) -> Template:
    """A built-in template by name, or a folder holding `template.yaml`."""
    looks_like_path = "/" in ref or ref.startswith(".") or ref.startswith("~")
    if not looks_like_path:
        candidate = builtin_root() / ref
        if _is_tpl(candidate):
            return load_template_dir(candidate, builtin=True)
    try:
        path = (cwd / Path(ref).expanduser()).resolve()
    except (OSError, RuntimeError):  # RuntimeError: a symlink loop, or `~user` unknown
        path = cwd / ref
    if _is_tpl(path):
        return load_template_dir(path, builtin=False)
    names = ", ".join(t.name for t in list_templates())
    raise InputError(
        f"no template {ref!r}: not a built-in template and not a folder with {SPEC_FILE}",
        hint=f"built-in templates: {names}",
    )


def load_template_dir(folder: Path, *, builtin: bool) -> Template:
    """The template in `folder`; an older version kept as a patch (`history`) is rebuilt
    in a temporary folder that lasts as long as this process."""
    if history.is_entry(folder):
        folder = history.materialize(folder, history.scratch())
    doc = load_yaml(folder / SPEC_FILE)
    try:
        spec = TemplateSpec.model_validate(doc.data or {})
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        loc = tuple(err["loc"])
        dotted = dotted_key(loc)
        raise ConfigError(f"{doc.where(loc)}: {dotted}: {err['msg']}") from None
    if not (folder / FILES_DIR).is_dir():
        raise ConfigError(f"{folder}: a template needs a {FILES_DIR}/ folder with its files")
    return Template(spec=spec, root=folder, builtin=builtin)


Ask = Callable[[str, Variable, Any], Any]


def resolve_answers(
    template: Template,
    given: dict[str, str],
    *,
    dest_name: str,
    ask: Ask | None = None,
    previous: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Answer every variable: `--set` values, then the prompt (TTY only), then defaults."""
    unknown = sorted(set(given) - set(template.spec.variables))
    if unknown:
        known = ", ".join(template.spec.variables) or "none"
        raise InputError(
            f"template {template.name!r} has no variable {unknown[0]!r}",
            hint=f"its variables: {known}",
        )
    answers: dict[str, Any] = {}
    for name, var in template.spec.variables.items():
        default = (previous or {}).get(name, var.default)
        if name == "project_name" and name not in (previous or {}):
            default = dest_name
        if name in given:
            value: Any = _coerce(name, var, given[name])
        elif ask is not None:
            value = _coerce(name, var, ask(name, var, default))
        elif default is None:
            raise InputError(
                f"template variable {name!r} has no default",
                hint=f"pass --set {name}=VALUE",
            )
        else:
            value = _coerce(name, var, default)
        answers[name] = value
    return answers


def _coerce(name: str, var: Variable, raw: Any) -> Any:
    value: Any
    try:
        if var.type == "bool":
            value = raw if isinstance(raw, bool) else _parse_bool(str(raw))
        elif var.type == "int":
            value = int(raw)
        elif var.type == "float":
            value = float(raw)
        else:
            value = str(raw)
    except ValueError:
        raise InputError(f"template variable {name!r}: {raw!r} is not a valid {var.type}") from None
    if var.choices is not None and value not in var.choices:
        choices = ", ".join(str(c) for c in var.choices)
        raise InputError(f"template variable {name!r}: {value!r} is not one of {choices}")
    if var.pattern is not None and not re.fullmatch(var.pattern, str(value)):
        raise InputError(
            f"template variable {name!r}: {value!r} does not match {var.pattern}",
            hint=var.help or None,
        )
    return value


def _parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "y", "on"):
        return True
    if lowered in ("0", "false", "no", "n", "off"):
        return False
    raise ValueError(text)
