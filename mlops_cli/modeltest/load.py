"""The one module every model loader goes through (`mlops test`, image builds, the card).

Contract:

    check_loadable(path, fmt, *, project, trusted_types=[], trust=False) -> LoadCheck
        validates WITHOUT unpickling anything: exit 3 (InputError) for a missing file, a DVC
        or git-lfs pointer, a truncated or corrupt file; exit 4 (UnsafeError) for a file
        that would not be loaded safely.
    load_model(path, fmt, *, project, trusted_types=[], trust=False) -> the estimator
        check_loadable, then the load itself.

Policy:

* skops (the default): skops refuses every type it does not trust by default; mlops lists
  those types and loads the file only when each is in the model's `trusted_types` in
  mlops.yaml. `--trust` does not widen that: name the types. A `trusted_types` entry from
  the repository counts only when it names a class of an allow-listed package (scikit-learn,
  numpy, scipy) or lies inside the project's declared code package; builtins, stdlib
  callables and other functions listed there are refused (a clone writes mlops.yaml).
  More trust is the local user's: `MLOPS_TRUSTED_TYPES` (comma or space separated) or
  `~/.config/mlops/trusted-types` (one name a line), never the repository.
* xgboost / lightgbm / onnx: data formats that hold no code (XGBoost's JSON or UBJSON
  model, LightGBM's text model, an ONNX graph run by onnxruntime with no custom-op library),
  read by the framework's own parser (`runtime.formats`). The first bytes must look like the
  declared format, else exit 3 saying what the file looks like (a pickle named model.json is
  never unpickled). A framework that is not installed is exit 3 naming the extra to install.
* joblib / pickle: unpickled only when the file's sha256 is the artifact of a version
  record committed in git (at HEAD or at a version tag), or with `--trust`. A file that
  passes is still unpickled through `picklesafe`'s guard (the second layer), which
  admits only the allow-list of `runtime.pickleguard` (model classes and reconstructors,
  never a function), so a `__reduce__` that would create a file or run a command never
  gets the callable, whether or not the file was trusted.
"""

from __future__ import annotations

import os
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlops_cli.common.errors import InputError, UnsafeError
from mlops_cli.common.fs import sha256_file
from mlops_cli.project.root import Project
from mlops_cli.runtime import formats
from mlops_cli.runtime import pickleguard as picklesafe

LFS_POINTER = b"version https://git-lfs.github.com/spec/v1"
_DVC_POINTER = re.compile(rb"^\s*(outs:|-?\s*md5:\s*[0-9a-f]{32})", re.MULTILINE)
_COMPRESSED = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ", b"\x5d\x00\x00", b'\x04"M\x18', b"ZF")
MAX_SCAN_BYTES = 512 * 1024 * 1024


@dataclass(frozen=True)
class LoadCheck:
    """What `check_loadable` established about a model file."""

    path: Path
    format: str
    sha256: str
    bytes: int
    trusted_by: str  # why it may be loaded
    types: list[str] = field(default_factory=list)  # skops: non-default types; pickle: globals
    warnings: list[str] = field(default_factory=list)


TRUSTED_TYPES_ENV = "MLOPS_TRUSTED_TYPES"


def local_trusted_types() -> frozenset[str]:
    """Types the local user trusts beyond the allow-list: `MLOPS_TRUSTED_TYPES` and
    `$XDG_CONFIG_HOME/mlops/trusted-types` (default ~/.config). Never read from a repository."""
    names = set(re.split(r"[\s,]+", os.environ.get(TRUSTED_TYPES_ENV, "")))
    config = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    try:
        text = (config / "mlops" / "trusted-types").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        text = ""
    names.update(line.split("#")[0].strip() for line in text.splitlines())
    return frozenset(n for n in names if n)


def _pointer(path: Path, head: bytes, size: int) -> None:
    shown = path.name
    if head.startswith(LFS_POINTER):
        raise InputError(
            f"{path} is a git-lfs pointer ({size} bytes), not the model",
            hint=f"fetch the real file with `git lfs pull --include {shown}`",
        )
    if size < 2048 and _DVC_POINTER.search(head):
        raise InputError(
            f"{path} is a DVC pointer file ({size} bytes), not the model",
            hint="fetch the real file with `dvc pull` (or `dvc checkout` if it is in the cache)",
        )


def _truncated(path: Path, why: str) -> InputError:
    return InputError(
        f"{path} is truncated or corrupt: {why}",
        hint="restore it (`dvc checkout`, `dvc pull`) or train it again (`dvc repro`)",
    )


def check_loadable(
    path: Path,
    fmt: str,
    *,
    project: Project | None,
    trusted_types: list[str] | tuple[str, ...] = (),
    trust: bool = False,
) -> LoadCheck:
    """Validate a model file without executing any of it (see the module docstring)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(
            f"{path}: no such model file",
            hint="train it (`dvc repro`) or fetch it (`dvc pull`)",
        )
    sha, size = sha256_file(path)
    with path.open("rb") as fh:
        head = fh.read(4096)
    if size == 0:
        raise _truncated(path, "the file is empty")
    _pointer(path, head, size)
    if fmt == "skops":
        from mlops_cli.project.code import trusted_prefixes

        try:
            return _check_skops(
                path, head, sha, size, list(trusted_types), trusted_prefixes(project)
            )
        except UnsafeError as exc:
            _hint_project_code(exc, project)
            raise
    if fmt in formats.NATIVE:
        return _check_native(path, head, fmt, sha, size)
    if fmt not in ("joblib", "pickle"):
        raise InputError(
            f"{path}: unknown model format {fmt!r} (skops, xgboost, lightgbm, onnx, joblib or"
            " pickle)"
        )
    looks = formats.sniff(head)
    native = next((f for f in formats.NATIVE if formats.matches(f, head)), None)
    if native is not None:
        raise InputError(
            f"{path} is declared {fmt} but looks like {looks}",
            hint=f"set `format: {native}` for this model in mlops.yaml",
        )
    if head.startswith(b"PK\x03\x04"):
        raise InputError(
            f"{path} is a zip archive (a skops file?), not a {fmt} file",
            hint="set `format: skops` for this model in mlops.yaml",
        )
    globals_ = _scan_pickle(path, head, fmt)
    trusted_by = "--trust" if trust else _trusting_record(project, sha)
    if trusted_by is None:
        raise UnsafeError(
            f"refusing to unpickle {path}: its sha256 {sha[:12]}… is in no committed version"
            " record, and loading a pickle can run any code",
            hint="save the model with skops (skops.io.dump), or register it "
            "(`mlops model register`), or pass --trust if you know where it came from",
        )
    extra = local_trusted_types()
    refused = [r for m, n in globals_ if (r := picklesafe.precheck(m, n, extra))]
    if refused:
        raise _unsafe(path, refused)
    types = sorted({f"{m}.{n}" for m, n in globals_})
    return LoadCheck(path, fmt, sha, size, trusted_by, types)


def _check_native(path: Path, head: bytes, fmt: str, sha: str, size: int) -> LoadCheck:
    """A data format: the first bytes must look like it; nothing in the file is code."""
    if not formats.matches(fmt, head):
        looks = formats.sniff(head)
        other = next((f for f in formats.NATIVE if formats.matches(f, head)), None)
        if other is None and head.startswith(b"PK\x03\x04"):
            other = "skops"
        hint = (
            f"set `format: {other}` for this model in mlops.yaml"
            if other
            else f"save the model in {fmt}'s own format ({_SAVE_HINT[fmt]})"
        )
        raise InputError(f"{path} is declared {fmt} but looks like {looks}", hint=hint)
    return LoadCheck(path, fmt, sha, size, f"{fmt} model file (data, no code)")


_SAVE_HINT = {
    "xgboost": "model.save_model('model.json') or 'model.ubj'",
    "lightgbm": "booster.save_model('model.txt')",
    "onnx": "skl2onnx.to_onnx, torch.onnx.export, onnxmltools",
}


def _hint_project_code(exc: UnsafeError, project: Project | None) -> None:
    """A refused type from a folder of the project: say how to declare the project's code."""
    if project is None:
        return
    declared = project.config.code
    for word in re.findall(r"\b([A-Za-z_]\w*)\.[\w.]+", exc.message.partition("trust")[2]):
        for folder in (project.root / word, project.root / "src" / word):
            if folder.is_dir():
                rel = folder.relative_to(project.root).as_posix()
                if declared is None:
                    exc.hint = (
                        f"{word} is the project's own code: declare it in mlops.yaml"
                        f" (code: {{path: {rel}}}) and mlops imports and trusts it"
                    )
                else:
                    exc.hint = (
                        f"{rel} is a folder of the project but not its declared code"
                        f" (code.path: {declared.path}): move it there, or list the types"
                        " under the model's `trusted_types`"
                    )
                return


def _unsafe(path: Path, reasons: list[str]) -> UnsafeError:
    shown = "; ".join(dict.fromkeys(reasons))
    return UnsafeError(
        f"refusing to load {path}: {shown[:600]}",
        hint="a model pickle needs none of these; rebuild it, preferably with skops",
    )


def _check_skops(
    path: Path, head: bytes, sha: str, size: int, trusted: list[str], code: tuple[str, ...] = ()
) -> LoadCheck:
    if not head.startswith(b"PK\x03\x04"):
        if head[:1] == b"\x80" or head.startswith(_COMPRESSED):
            raise UnsafeError(
                f"{path} is declared skops but holds a pickle; refusing to load it as either",
                hint="set the model's real format in mlops.yaml (and trust it explicitly)",
            )
        raise _truncated(
            path,
            "not a zip archive, which every skops file is: it looks like " + formats.sniff(head),
        )
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
            if "schema.json" not in archive.namelist():
                raise _truncated(path, "no schema.json inside, so not a skops file")
    except zipfile.BadZipFile as exc:
        raise _truncated(path, str(exc)) from None
    except (OSError, EOFError) as exc:
        raise _truncated(path, str(exc)) from None
    if bad is not None:
        raise _truncated(path, f"member {bad} fails its checksum")
    import skops.io as sio

    try:
        untrusted = sorted(sio.get_untrusted_types(file=path))
    except Exception as exc:  # skops raises many kinds for a damaged schema
        raise _truncated(path, f"skops cannot read its schema ({exc})") from None
    # DESIGN.md §8: the project's declared code is the one exception to naming every type.
    from mlops_cli.project.code import is_under

    local = local_trusted_types()
    honoured = {t for t in trusted if t in local or picklesafe.allowed_type(t) is None}
    ignored = [t for t in trusted if t not in honoured]
    refused = [
        t for t in untrusted if t not in honoured and t not in local and not is_under(t, code)
    ]
    if refused and ignored and set(refused) & set(ignored):
        shown = ", ".join(t for t in refused if t in ignored)
        raise UnsafeError(
            f"refusing to load {path}: {shown} is listed in mlops.yaml's trusted_types, but a"
            " repository may only trust classes of scikit-learn, numpy and scipy (or of its"
            " declared code package), never functions or other packages",
            hint=f"if you trust it, say so outside the repository: {TRUSTED_TYPES_ENV}={shown}"
            " or a line in ~/.config/mlops/trusted-types",
        )
    if refused:
        raise UnsafeError(
            f"refusing to load {path}: skops does not trust {', '.join(refused)}",
            hint="if you trust these types, list them under the model's `trusted_types` in "
            "mlops.yaml",
        )
    by = "skops defaults" + (" + trusted_types in mlops.yaml" if untrusted else "")
    return LoadCheck(path, "skops", sha, size, by, untrusted)


def _scan_pickle(path: Path, head: bytes, fmt: str) -> list[tuple[str, str]]:
    """The globals of a pickle or joblib file, read statically; exit 3 when truncated."""
    if path.stat().st_size > MAX_SCAN_BYTES:
        return []  # the guarded unpickler still checks every global while loading
    compressed = head.startswith(_COMPRESSED) or head[:1] == b"x"
    if compressed:
        if fmt != "joblib":
            raise InputError(f"{path} is compressed; only joblib files may be (format: joblib)")
        data = _decompress_joblib(path)
    else:
        data = path.read_bytes()
    found = picklesafe.scan(data)
    if not found.complete:
        seen_array = any(n == "NumpyArrayWrapper" for _, n in found.globals)
        # joblib writes array bytes inside the stream, which opcode parsers cannot walk.
        if not (fmt == "joblib" and seen_array):
            raise _truncated(path, found.error or "the pickle stream ends before its STOP")
    wrapper = ("joblib.numpy_pickle", "NumpyArrayWrapper")
    if fmt == "joblib" and wrapper in found.globals:
        # Past the first array the opcodes read are array bytes: only the globals before it
        # are known here; the guarded unpickler checks every one of them while loading.
        return found.globals[: found.globals.index(wrapper)]
    return found.globals


def _decompress_joblib(path: Path) -> bytes:
    from joblib.numpy_pickle_utils import _validate_fileobject_and_memmap

    try:
        with path.open("rb") as fh, _validate_fileobject_and_memmap(fh, str(path)) as (fobj, _):
            if isinstance(fobj, str):
                raise InputError(f"{path} uses joblib's pre-0.10 format, which mlops cannot load")
            return bytes(fobj.read())
    except InputError:
        raise
    except Exception as exc:  # zlib.error, EOFError, lzma.LZMAError, OSError...
        raise _truncated(path, f"cannot decompress it ({exc})") from None


def _trusting_record(project: Project | None, sha: str) -> str | None:
    """`record <name>@<version>` when a committed record names this artifact sha256."""
    if project is None:
        return None
    from mlops_cli.gitio import objects as gitobjects
    from mlops_cli.registry import records as registry

    for rec in registry.committed_records(project):
        if rec.artifact.get("sha256") == sha:
            return f"record {rec.model}@{rec.version}"
    # Records of versions tagged on other branches are committed too.
    specs = [
        f"refs/tags/{v.tag}:{registry.record_path(model.name, v.version)}"
        for model in registry.state(project).values()
        for v in model.versions.values()
    ]
    for spec, raw in gitobjects.read_objects(project.root, specs).items():
        if sha.encode() in raw:
            rec = registry.parse_record(raw, spec)
            if rec.artifact.get("sha256") == sha:
                return f"record {rec.model}@{rec.version}"
    return None


def load_model(
    path: Path,
    fmt: str,
    *,
    project: Project | None,
    trusted_types: list[str] | tuple[str, ...] = (),
    trust: bool = False,
) -> Any:
    """Check, then load, a model file (see the module docstring for what is refused)."""
    check = check_loadable(path, fmt, project=project, trusted_types=trusted_types, trust=trust)
    if fmt in formats.NATIVE:
        try:
            return formats.load_native(Path(path), fmt)
        except formats.MissingExtra as exc:
            raise missing_extra(exc) from None
        except formats.FormatError as exc:
            raise _truncated(Path(path), str(exc)) from None
    if fmt == "skops":
        import skops.io as sio

        try:
            return sio.load(path, trusted=check.types)
        except Exception as exc:
            raise InputError(
                f"cannot load {path} with skops: {exc}", hint=_missing_hint(project, exc)
            ) from None
    try:
        return picklesafe.load_pickle(Path(path), fmt, local_trusted_types())
    except picklesafe.Refused as exc:
        raise _unsafe(Path(path), [str(exc)]) from None
    except picklesafe.Missing as exc:
        raise InputError(
            f"cannot load {path}: {exc}",
            hint=_missing_hint(project, exc)
            or "install the package versions in the version's record (`mlops model show`)",
        ) from None
    except (EOFError, ValueError, IndexError, KeyError, TypeError) as exc:
        raise _truncated(Path(path), f"unpickling failed ({type(exc).__name__}: {exc})") from None
    except Exception as exc:
        if type(exc).__name__ == "UnpicklingError":
            raise _truncated(Path(path), str(exc)) from None
        raise


def missing_extra(exc: formats.MissingExtra) -> InputError:
    """Exit 3 naming the extra that brings the framework of a format."""
    return InputError(
        f"{exc.fmt} models need {exc.module}, which is not installed",
        hint=f"install the extra: pip install 'mlops-cli[{exc.extra}]'",
    )


def _missing_hint(project: Project | None, exc: BaseException) -> str | None:
    from mlops_cli.project.code import missing_module_hint

    return missing_module_hint(project, str(exc))
