"""The Dockerfile and the build context of a model image.

The context is assembled in a temporary folder from an explicit list (Dockerfile, the lock
file, wheels, the project's own code as a wheel built on the host, the serving runtime, the
model folder) and sent as a tar of exactly those
files: never the repository, so a `.env`, `.dvc/config.local` or a key lying around in it
cannot reach a layer, whatever `.dockerignore` says. The tar is deterministic (sorted,
fixed owners and times), so an unchanged file never invalidates the builder's cache.
"""

from __future__ import annotations

import re
import shutil
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit, urlunsplit

from mlops_cli import __version__
from mlops_cli.common.errors import InputError
from mlops_cli.gitio import refs as gitrefs
from mlops_cli.images.bundle import Bundle, write_model_dir
from mlops_cli.images.wheels import LOCK_FILE, Wheelhouse
from mlops_cli.project.root import Project

IMAGE_UID = 10001
LABEL_PREFIX = "mlops."
OCI = "org.opencontainers.image."
_RUNTIME_FILES = (
    "__init__.py",
    "__main__.py",
    "app.py",
    "formats.py",
    "metrics.py",
    "model.py",
    "pickleguard.py",
    "predlog.py",
    "signature.py",
)
_DIGEST_PINNED = re.compile(r"@sha256:[0-9a-f]{64}$")


@dataclass(frozen=True)
class BuildContext:
    folder: Path
    files: list[str]  # relative paths, sorted: everything the daemon receives

    def tar(self, fh: IO[bytes]) -> None:
        """Write the context as an uncompressed, reproducible tar to `fh`."""
        with tarfile.open(fileobj=fh, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for rel in self.files:
                path = self.folder / rel
                info = tar.gettarinfo(str(path), arcname=rel)
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                info.mtime = 0
                info.mode = 0o644
                with path.open("rb") as data:
                    tar.addfile(info, data)


def labels(project: Project, bundle: Bundle, base: str) -> dict[str, str]:
    """OCI annotations plus the model's lineage, as image labels."""
    found = {
        f"{OCI}title": bundle.model,
        f"{OCI}version": bundle.version or "workspace",
        f"{OCI}created": bundle.created,
        f"{OCI}base.name": base,
        f"{OCI}description": f"{bundle.model} model served by mlops {__version__}",
        f"{LABEL_PREFIX}project": project.config.project,
        f"{LABEL_PREFIX}model": bundle.model,
        f"{LABEL_PREFIX}version": bundle.version or "",
        f"{LABEL_PREFIX}artifact.sha256": bundle.sha256,
        f"{LABEL_PREFIX}artifact.format": bundle.format,
        f"{LABEL_PREFIX}artifact.bytes": str(bundle.bytes),
    }
    if bundle.commit:
        found[f"{OCI}revision"] = bundle.commit
    if source := git_source(project.root):
        found[f"{OCI}source"] = source
    for dataset, md5 in sorted(bundle.data.items()):
        found[f"{LABEL_PREFIX}data.{dataset}.md5"] = md5
    from mlops_cli.project.code import find

    if code := find(project):
        found[f"{LABEL_PREFIX}code.sha256"] = code.sha256
        found[f"{LABEL_PREFIX}code.packages"] = ",".join(code.packages)
    return found


def git_source(root: Path) -> str | None:
    """The origin remote's URL without any user or token in it (a label is public)."""
    url = gitrefs.remote_url(root, "origin")
    if url is None:
        return None
    parts = urlsplit(url)
    if parts.scheme and parts.netloc:
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    if "@" in url.split(":", 1)[0]:  # scp-like git@host:org/repo: the user is not secret
        return url
    return url if "://" not in url else None


def is_digest_pinned(base: str) -> bool:
    return bool(_DIGEST_PINNED.search(base))


def quote(value: str) -> str:
    """A double-quoted Dockerfile word: no variable expansion, no line break."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")
    return '"' + " ".join(escaped.splitlines()) + '"'


def render_dockerfile(
    project: Project, bundle: Bundle, *, base: str, port: int, image_labels: dict[str, str]
) -> str:
    """The Dockerfile text: the project's template (image.dockerfile) or the built-in one."""
    from mlops_cli.scaffold.render import render_string

    custom = project.config.image.dockerfile
    if custom:
        from mlops_cli.common.fs import ensure_inside

        ensure_inside(project.root, Path(custom))  # as model and data paths: exit 4 if out
        path = project.root / custom
        root = path.parent
    else:
        from mlops_cli.scaffold.templates import builtin_root

        root = builtin_root()
        path = root / "Dockerfile.jinja"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(
            f"cannot read the Dockerfile template {path}: {exc.strerror or exc}",
            hint="fix image.dockerfile in mlops.yaml" if custom else None,
        ) from None
    context: dict[str, Any] = {
        "base": base,
        "port": port,
        "uid": IMAGE_UID,
        "model": bundle.model,
        "version": bundle.version,
        "mlops_version": __version__,
        "labels": [f"{quote(k)}={quote(v)}" for k, v in image_labels.items()],
        "label_map": dict(image_labels),
        "python": bundle.python,
        "project_code": project.config.code is not None,
    }
    return render_string(text, context, root=root)


def assemble(
    bundle: Bundle, wheelhouse: Wheelhouse, dockerfile: str, code_wheel: Path | None = None
) -> BuildContext:
    """A fresh temporary folder holding exactly the files the image is built from
    (`code_wheel`: the project's own code, built on the host, in `code/`).

    The caller removes it (`shutil.rmtree(ctx.folder)`).
    """
    try:
        folder = Path(tempfile.mkdtemp(prefix="mlops-image-"))
    except OSError as exc:
        raise _no_room(tempfile.gettempdir(), exc) from exc
    try:
        (folder / "Dockerfile").write_text(dockerfile, encoding="utf-8")
        (folder / LOCK_FILE).write_text(wheelhouse.lock_text)
        wheels = folder / "wheels"
        wheels.mkdir()
        for wheel in wheelhouse.wheels:
            _link_or_copy(wheel, wheels / wheel.name)
        if code_wheel is not None:
            (folder / "code").mkdir()
            shutil.copyfile(code_wheel, folder / "code" / code_wheel.name)
        runtime_src = Path(__file__).resolve().parents[1] / "runtime"
        runtime = folder / "runtime" / "mlops_cli"
        (runtime / "runtime").mkdir(parents=True)
        # Only the version of the package: the rest of mlops never enters the image.
        (runtime / "__init__.py").write_text(f'__version__ = "{__version__}"\n')
        for name in _RUNTIME_FILES:
            shutil.copyfile(runtime_src / name, runtime / "runtime" / name)
        write_model_dir(bundle, folder / "model", locked=wheelhouse.locked)
        files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
        return BuildContext(folder, files)
    except BaseException as exc:
        shutil.rmtree(folder, ignore_errors=True)
        if isinstance(exc, OSError):  # disk full, read-only, quota: not a bug
            raise _no_room(folder.parent, exc) from exc
        raise


def _no_room(where: Path | str, exc: OSError) -> InputError:
    return InputError(
        f"cannot assemble the build context in {where}: {exc.strerror or exc}",
        hint="free some space there, or point TMPDIR to a folder with room",
    )


def _link_or_copy(src: Path, dest: Path) -> None:
    try:
        dest.hardlink_to(src)
    except OSError:
        shutil.copyfile(src, dest)
