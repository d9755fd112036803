"""`mlops model card`: a markdown model card rendered from a version's committed record.

The template is `templates/model-card.md.jinja` (shipped in the wheel), or a project's own
file. It renders in jinja2's sandbox: a template can format the record, not run code.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from mlops_cli import __version__
from mlops_cli.common.errors import ConfigError, InputError
from mlops_cli.common.yamlio import dump_yaml
from mlops_cli.project.root import Project

TEMPLATE = "model-card.md.jinja"


def default_template() -> Path:
    packaged = resources.files("mlops_cli") / "_templates" / TEMPLATE
    if packaged.is_file():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[2] / "templates" / TEMPLATE


def render_card(project: Project, spec: str, *, template: Path | None = None) -> str:
    """The card of the version `spec` names (`name`, `name@vX.Y.Z`, `name#stage`)."""
    import jinja2
    from jinja2.sandbox import SandboxedEnvironment

    from mlops_cli.registry.records import record_path, show

    shown = show(project, spec)
    record = shown.record
    path = template or default_template()
    try:
        source = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read the card template {path}: {exc.strerror or exc}") from None
    env = SandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True, autoescape=False
    )
    env.filters["to_yaml"] = dump_yaml
    context: dict[str, Any] = {
        "record": record.to_dict(),
        "tests": record.tests,
        "model": project.config.models[record.model],
        "stages": shown.stages,
        "active": shown.active,
        "record_path": record_path(record.model, record.version),
        "mlops_version": __version__,
    }
    try:
        return env.from_string(source).render(context)
    except jinja2.TemplateError as exc:
        line = getattr(exc, "lineno", None)
        where = f":{line}" if line else ""
        raise ConfigError(f"{path}{where}: {exc}") from None
