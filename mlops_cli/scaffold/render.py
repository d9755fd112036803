"""Jinja2 rendering for templates: sandboxed, strict, and contained in its folder.

Only files ending in `.jinja` are rendered (the suffix is dropped); every other file is
copied byte for byte, so GitHub Actions' `${{ }}` and DVC's `${}` need no escaping. Path
segments are rendered too; a segment that renders empty drops the file (conditional files).
Rendering is bounded in steps, time and output size (`scaffold.limits`), and a rendered
file's mode never carries setuid, setgid, sticky or group/world-write bits.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from mlops_cli.common.errors import InputError, UnsafeError

SUFFIX = ".jinja"
FILES_DIR = "project"
_SKIP = {"__pycache__", ".DS_Store"}
# What a rendered file may keep of its template's mode: read and execute bits, and the
# owner's write bit. Never setuid, setgid or sticky, never writable by group or others.
MODE_MASK = 0o755
_MAX_SEGMENT = 255  # bytes in one rendered path segment: what file systems allow


@dataclass(frozen=True)
class RenderedFile:
    rel: str
    content: bytes
    mode: int


def safe_mode(st_mode: int) -> int:
    """The mode of a file rendered from a template file with `st_mode`."""
    return (stat.S_IMODE(st_mode) & MODE_MASK) | 0o600


def _environment(root: Path) -> Any:
    import jinja2

    from mlops_cli.scaffold.limits import BoundedSandbox, Budget

    class ContainedLoader(jinja2.FileSystemLoader):
        """FileSystemLoader follows symlinks; an include must not read outside the template."""

        def get_source(
            self, environment: jinja2.Environment, template: str
        ) -> tuple[str, str, Callable[[], bool]]:
            source, filename, uptodate = super().get_source(environment, template)
            _contained(root, Path(filename), template)
            return source, filename, uptodate

    return BoundedSandbox(
        Budget(),
        loader=ContainedLoader(str(root)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )


def _contained(root: Path, path: Path, shown: str) -> None:
    resolved = path.resolve()
    if resolved != root.resolve() and root.resolve() not in resolved.parents:
        raise UnsafeError(f"template file {shown!r} points outside the template folder")


def render_string(text: str, context: dict[str, Any], *, root: Path | None = None) -> str:
    from mlops_cli.scaffold.limits import render_bounded

    env = _environment(root or Path.cwd())
    shown = repr(text) if len(text) <= 80 else f"{text[:77]!r}..."
    return _guard(lambda: render_bounded(env.from_string(text), context, env.budget), shown)


def render_files(root: Path, context: dict[str, Any]) -> list[RenderedFile]:
    """Render every file under `root/project` in memory, in a stable order."""
    env = _environment(root)
    files_root = root / FILES_DIR
    out: dict[str, RenderedFile] = {}
    for dirpath, dirnames, filenames in os.walk(files_root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP)
        for d in list(dirnames):
            link = Path(dirpath) / d
            if link.is_symlink():
                _contained(root, link, str(link.relative_to(root)))
        for name in sorted(filenames):
            if name in _SKIP:
                continue
            src = Path(dirpath) / name
            rel_src = src.relative_to(files_root).as_posix()
            _contained(root, src, rel_src)
            rel = _render_path(env, rel_src, context)
            if rel is None:
                continue
            if rel in out:
                raise InputError(f"template renders two files to the same path {rel!r}")
            out[rel] = _render_file(env, root, src, rel, context)
    return [out[k] for k in sorted(out)]


def _render_path(env: Any, rel_src: str, context: dict[str, Any]) -> str | None:
    parts = []
    for segment in PurePosixPath(rel_src).parts:

        def render_segment(text: str = segment) -> str:
            from mlops_cli.scaffold.limits import render_bounded

            return render_bounded(env.from_string(text), context, env.budget)

        rendered = _guard(render_segment, rel_src)
        if rendered.endswith(SUFFIX) and segment.endswith(SUFFIX):
            rendered = rendered[: -len(SUFFIX)]
        if not rendered.strip():
            return None
        if "/" in rendered or "\\" in rendered or "\0" in rendered or rendered in (".", ".."):
            raise UnsafeError(
                f"template path {rel_src!r} renders to {rendered!r}, which escapes its folder"
            )
        if rendered == ".git":
            raise UnsafeError(f"template path {rel_src!r} would write into .git")
        if len(rendered.encode("utf-8", errors="surrogatepass")) > _MAX_SEGMENT:
            raise InputError(
                f"template path {rel_src!r} renders a name over {_MAX_SEGMENT} bytes long"
            )
        parts.append(rendered)
    return "/".join(parts)


def _render_file(
    env: Any, root: Path, src: Path, rel: str, context: dict[str, Any]
) -> RenderedFile:
    from mlops_cli.scaffold.limits import render_bounded

    mode = safe_mode(src.stat().st_mode)
    raw = src.read_bytes()
    if not src.name.endswith(SUFFIX):
        return RenderedFile(rel, raw, mode)
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{src}: a .jinja file must be UTF-8 (byte {exc.start})") from None
    name = f"{src.relative_to(root).as_posix()}"
    rendered = _guard(lambda: render_bounded(env.get_template(name), context, env.budget), name)
    return RenderedFile(rel, rendered.encode("utf-8"), mode)


def _guard(render: Callable[[], str], shown: str) -> str:
    """Turn Jinja's errors into ours: sandbox violations are exit 4, the rest exit 3."""
    import jinja2
    from jinja2.exceptions import SecurityError

    from mlops_cli.scaffold.limits import LimitExceeded

    try:
        return render()
    except LimitExceeded as exc:
        raise InputError(
            f"template {shown}: {exc}", hint="see docs/templates.md, 'Limits'"
        ) from None
    except RecursionError:
        raise InputError(
            f"template {shown}: recursion too deep (a macro or include that calls itself?)"
        ) from None
    except MemoryError:
        raise InputError(f"template {shown}: out of memory while rendering") from None
    except SecurityError as exc:
        raise UnsafeError(f"template {shown} tried to reach Python internals: {exc}") from None
    except jinja2.TemplateSyntaxError as exc:
        raise InputError(
            f"{exc.filename or shown}:{exc.lineno}: template syntax error: {exc.message}"
        ) from None
    except jinja2.UndefinedError as exc:
        line = _template_line(exc)
        where = f"{shown}:{line}" if line else shown
        raise InputError(f"{where}: {exc.message}", hint="pass it with --set NAME=VALUE") from None
    except jinja2.TemplateError as exc:
        raise InputError(f"{shown}: template error: {exc}") from None
    except (ArithmeticError, LookupError, TypeError, ValueError) as exc:
        # `{{ 1 / 0 }}`, `{{ "a" + 1 }}`, `{{ 2.0 ** 9999 }}`: the template's bug, not ours.
        line = _template_line(exc)
        where = f"{shown}:{line}" if line else shown
        raise InputError(f"{where}: {type(exc).__name__}: {exc}") from None


def _template_line(exc: BaseException) -> int | None:
    tb = exc.__traceback__
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename.endswith(SUFFIX):
            line = tb.tb_lineno
        tb = tb.tb_next
    return line
