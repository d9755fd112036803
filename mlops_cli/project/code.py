"""The project's own importable code (`code:` in mlops.yaml): one way to import it everywhere.

A model may reference the project's functions and classes (a `FunctionTransformer` over
`src.features.clean`, a custom transformer). `code.path` names where they live:

* a package folder (`src`, `mypkg`): the folder's parent goes on `sys.path`, and the
  package is imported by the folder's name (`src.features`), as the project's own scripts
  import it from the project root;
* `.`, the project itself, when it has a `pyproject.toml`: its packages are the folders
  with an `__init__.py` at the top level, or under `src/` (the src layout).

`mlops test` and `mlops serve` put exactly those folders on `sys.path` (never through
PYTHONPATH); `mlops image build` builds the same code into a wheel on the host and installs
it with the other wheels, so the import names are the same in the image. `sha256` is a
hash of the source files (paths and bytes), the same on every machine, which the version
record and the image labels carry.

Per DESIGN.md §8 this declared code is the one trust exception: a skops model may
reference its functions and classes without listing them under `trusted_types`.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from mlops_cli.common.errors import ConfigError, ExternalToolError, InputError
from mlops_cli.project.root import Project

_SKIP_DIRS = {"__pycache__", ".git", ".mlops", ".dvc", "tests", "test", "build", "dist"}
_SOURCE_SUFFIXES = {".py", ".pyi", ".json", ".yaml", ".yml", ".txt", ".toml", ".cfg"}


@dataclass(frozen=True)
class ProjectCode:
    path: str  # as declared in mlops.yaml
    kind: str  # "package" (a package folder) or "project" (the pyproject.toml project)
    sys_path: list[Path]  # folders that go on sys.path
    packages: list[str]  # top-level import names
    files: list[Path]  # the source files the hash covers
    sha256: str

    def describe(self) -> dict[str, object]:
        return {"path": self.path, "packages": self.packages, "sha256": self.sha256}


def find(project: Project) -> ProjectCode | None:
    """The declared project code, checked; None when `code:` is not set."""
    spec = project.config.code
    if spec is None:
        return None
    root = project.root.resolve()
    folder = (root / spec.path).resolve()
    if folder != root and root not in folder.parents:
        raise ConfigError(f"code.path {spec.path!r} in mlops.yaml is outside the project")
    if not folder.is_dir():
        raise ConfigError(
            f"code.path {spec.path!r} in mlops.yaml is not a folder",
            hint="name the package folder (e.g. src) or . for a pyproject.toml project",
        )
    if folder == root:
        if not (root / "pyproject.toml").is_file():
            raise ConfigError(
                "code.path is . but the project has no pyproject.toml",
                hint="name the package folder instead (code: {path: src})",
            )
        sys_path, packages = _project_packages(root)
        kind = "project"
    else:
        if not folder.name.isidentifier():
            raise ConfigError(
                f"code.path {spec.path!r}: {folder.name!r} is not an importable package name"
            )
        sys_path, packages, kind = [folder.parent], [folder.name], "package"
    if not packages:
        raise ConfigError(
            f"code.path {spec.path!r}: no package found (a folder with an __init__.py)",
        )
    files = sorted(
        {
            f
            for base in sys_path
            for p in packages
            if (base / p).is_dir()
            for f in _sources(base / p)
        }
    )
    if kind == "project":
        files = sorted({*files, root / "pyproject.toml"})
    return ProjectCode(spec.path, kind, sys_path, packages, files, _hash(root, files))


def _project_packages(root: Path) -> tuple[list[Path], list[str]]:
    src = root / "src"
    if src.is_dir() and not (src / "__init__.py").exists():
        found = [p.name for p in sorted(src.iterdir()) if (p / "__init__.py").is_file()]
        if found:
            return [src], found
    found = [
        p.name
        for p in sorted(root.iterdir())
        if p.is_dir()
        and p.name not in _SKIP_DIRS
        and p.name.isidentifier()
        and (p / "__init__.py").is_file()
    ]
    return [root], found


def _sources(folder: Path) -> list[Path]:
    out = []
    for path in folder.rglob("*"):
        rel = path.relative_to(folder).parts
        if any(part in _SKIP_DIRS or part.startswith(".") for part in rel):
            continue
        if path.is_file() and path.suffix in _SOURCE_SUFFIXES:
            out.append(path)
    return out


def _hash(root: Path, files: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def activate(project: Project) -> ProjectCode | None:
    """Put the declared code's folders first on `sys.path` (idempotent)."""
    code = find(project)
    if code is None:
        return None
    for folder in reversed(code.sys_path):
        entry = str(folder)
        if entry not in sys.path:
            sys.path.insert(0, entry)
    return code


def trusted_prefixes(project: Project | None) -> tuple[str, ...]:
    """Import names whose objects a skops model may reference (the DESIGN.md §8 exception)."""
    if project is None or project.config.code is None:
        return ()
    code = find(project)
    return tuple(code.packages) if code else ()


def is_under(type_name: str, packages: tuple[str, ...] | list[str]) -> bool:
    return any(type_name == p or type_name.startswith(p + ".") for p in packages)


def missing_module_hint(project: Project | None, message: str) -> str | None:
    """A hint for "No module named 'x'" when x is a folder of the project."""
    import re

    match = re.search(r"No module named '([^'.]+)", message)
    if not match or project is None:
        return None
    name = match[1]
    if (project.root / name).is_dir() or (project.root / "src" / name).is_dir():
        if project.config.code is None:
            where = name if (project.root / name).is_dir() else f"src/{name}"
            return (
                "the model uses the project's own code: declare it in mlops.yaml"
                f" (code: {{path: {where}}})"
            )
        return f"{name} is a folder of the project but not the declared code.path"
    return None


def build_wheel(project: Project, code: ProjectCode, dest: Path) -> Path:
    """Build the declared code into a wheel in `dest` on the host (no dependencies).

    A package folder becomes a pure-Python wheel written here, byte for byte the same for
    the same sources (sorted members, fixed times): no build backend, no network. The
    project itself (`.`) is built by its own backend: `pip wheel --no-deps`.
    """
    dest.mkdir(parents=True, exist_ok=True)
    if code.kind == "package":
        return _package_wheel(project, code, dest)
    with tempfile.TemporaryDirectory(prefix="mlops-code-") as tmp:
        out = Path(tmp) / "wheel"
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--disable-pip-version-check",
            "--no-input",
            "-w",
            str(out),
            str(project.root),
        ]
        env = {**os.environ, "SOURCE_DATE_EPOCH": "315532800"}
        try:
            proc = subprocess.run(
                cmd, capture_output=True, text=True, timeout=900, check=False, env=env
            )
        except subprocess.TimeoutExpired as exc:
            raise ExternalToolError("building the project's code took over 15 minutes") from exc
        wheels = sorted(out.glob("*.whl")) if out.is_dir() else []
        if proc.returncode != 0 or len(wheels) != 1:
            tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-8:])
            raise InputError(
                f"cannot build the project ({code.path}, pyproject.toml) into a wheel:\n{tail}",
                hint="fix its build, or name its package folder as code.path",
            )
        target = dest / wheels[0].name
        target.write_bytes(wheels[0].read_bytes())
        return target


def _package_wheel(project: Project, code: ProjectCode, dest: Path) -> Path:
    import base64
    import re
    import zipfile

    dist = re.sub(r"[^A-Za-z0-9]+", "_", f"{project.config.project}_code").lower()
    version = f"0.0.0+{code.sha256[:12]}"
    info = f"{dist}-{version}.dist-info"
    base = code.sys_path[0]
    members: list[tuple[str, bytes]] = [
        (f.relative_to(base).as_posix(), f.read_bytes()) for f in code.files if f.suffix != ".pyc"
    ]
    members += [
        (f"{info}/METADATA", f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n".encode()),
        (
            f"{info}/WHEEL",
            b"Wheel-Version: 1.0\nGenerator: mlops\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        ),
        (f"{info}/top_level.txt", "".join(p + "\n" for p in code.packages).encode()),
    ]
    record = []
    for name, data in members:
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(data)}")
    record.append(f"{info}/RECORD,,")
    members.append((f"{info}/RECORD", ("\n".join(record) + "\n").encode()))
    target = dest / f"{dist}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in sorted(members):
            entry = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            entry.external_attr = 0o644 << 16
            entry.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(entry, data)
    return target


def wheel_modules(wheels: list[Path]) -> set[str]:
    """Top-level import names the wheels install (read from their file lists)."""
    import zipfile

    names: set[str] = set()
    for wheel in wheels:
        try:
            with zipfile.ZipFile(wheel) as archive:
                for member in archive.namelist():
                    first = member.split("/", 1)[0]
                    if first.endswith((".dist-info", ".data")):
                        continue
                    stem = first.split(".", 1)[0] if "/" not in member else first
                    if stem.isidentifier():
                        names.add(stem)
        except (OSError, zipfile.BadZipFile):
            continue
    return names


def missing_modules(referenced: list[str], available: set[str]) -> list[str]:
    """Top-level modules of `referenced` dotted names that neither the image nor the
    standard library provides."""
    stdlib = set(sys.stdlib_module_names) | {"builtins"}
    out = []
    for name in referenced:
        top = name.split(".", 1)[0]
        if top and top not in available and top not in stdlib and top not in out:
            out.append(top)
    return out
