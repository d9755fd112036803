"""What a served model needs, gathered once for `mlops image build` and `mlops serve`.

A bundle is the artifact (refused before anything else happens when it is not safe to
load), the versions to pin, the input schema and the lineage. `write_model_dir` lays it
out the way `mlops_cli.runtime` reads it: the artifact and `metadata.json`.
"""

from __future__ import annotations

import builtins
import dataclasses
import json
import os
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

from mlops_cli.common.errors import InputError
from mlops_cli.common.fs import sha256_file
from mlops_cli.common.progress import Reporter
from mlops_cli.gitio import refs as gitrefs
from mlops_cli.project.root import Project
from mlops_cli.runtime import METADATA_FILE, METADATA_SCHEMA_VERSION, SIGNATURE_FILE

# What the runtime itself imports, pinned to the versions installed beside mlops (the ones
# its tests ran with) unless the model's record pins them already.
RUNTIME_PACKAGES = ("uvicorn", "h11", "click", "numpy", "pandas", "prometheus_client")
# What the runtime verifies a model-signing bundle with; model-signing 1.1 imports OpenSSL
# without declaring it (as in pyproject.toml).
SIGNATURE_PACKAGES = ("model-signing", "pyopenssl")
FORMAT_PACKAGES = {"skops": ("skops", "scikit-learn"), "joblib": ("joblib",), "pickle": ()}


@dataclass(frozen=True)
class Bundle:
    model: str
    version: str | None  # None: the workspace model, not a registered version
    artifact: Path
    format: str
    sha256: str
    bytes: int
    pins: dict[str, str]
    python: str | None
    commit: str | None
    created: str
    data: dict[str, str]  # data set -> md5
    trusted_types: list[str]
    input_schema: dict[str, Any] | None
    lineage: dict[str, Any]
    task: str = "classification"
    target: str | None = None
    notes: list[str] = field(default_factory=list)
    # Dotted names of the classes and functions the artifact references beyond skops'
    # defaults (skops: its untrusted types; pickle: its globals), read without loading it.
    referenced: list[str] = field(default_factory=list)
    # The version's model-signing bundle (from its registration commit), None if unsigned:
    # the container checks it at start when MLOPS_MODEL_KEYS is set (runtime/signature.py).
    signature: builtins.bytes | None = None  # (`bytes` is a field of this class)

    @property
    def artifact_name(self) -> str:
        return f"model.{self.format if self.format != 'pickle' else 'pkl'}"

    def metadata(self) -> dict[str, Any]:
        """`metadata.json` of the model folder: what `GET /metadata` answers."""
        return {
            "schema_version": METADATA_SCHEMA_VERSION,
            "model": self.model,
            "version": self.version,
            "task": self.task,
            "target": self.target,
            "created": self.created,
            "git": {"commit": self.commit},
            "artifact": {
                "file": self.artifact_name,
                "format": self.format,
                "sha256": self.sha256,
                "bytes": self.bytes,
            },
            "trusted_types": self.trusted_types,
            "input": self.input_schema,
            "data": self.data,
            "packages": self.pins,
            "lineage": self.lineage,
            **({"signature": SIGNATURE_FILE} if self.signature is not None else {}),
        }


def prepare_bundle(
    project: Project, spec: str, *, trust: bool = False, reporter: Reporter
) -> Bundle:
    """Resolve `spec` (name, name@vX.Y.Z, name#stage) and check it is safe to serve."""
    from mlops_cli.registry.records import WORKSPACE, resolve

    # As `mlops test`: a bare name is the workspace model, not the latest version.
    bare = "@" not in spec and "#" not in spec
    resolved = resolve(project, f"{spec}@{WORKSPACE}" if bare else spec)
    name, version, record = resolved.name, resolved.version, _as_dict(resolved.record)
    model_cfg = project.config.models[name]
    artifact = Path(resolved.artifact)
    if not artifact.is_file():
        raise InputError(
            f"model file {artifact} is missing",
            hint="`dvc pull` or `dvc repro` to get it, then build again",
        )
    sha256, size = sha256_file(artifact)
    fmt = str((record or {}).get("artifact", {}).get("format") or model_cfg.format)
    trusted, referenced = _check_safe(project, artifact, fmt, list(model_cfg.trusted_types), trust)
    environment = (record or {}).get("environment") or _workspace_environment(project, name)
    notes: list[str] = []
    pins = {_norm(k): str(v) for k, v in (environment.get("packages") or {}).items()}
    for package in (*FORMAT_PACKAGES.get(fmt, ()), *RUNTIME_PACKAGES):
        if _norm(package) not in pins:
            pins[_norm(package)] = _installed(package)
            if package not in RUNTIME_PACKAGES:
                notes.append(
                    f"{package} is not in the model's environment; pinned to {pins[_norm(package)]}"
                )
    signature = _signature(project, name, version)
    if signature is not None:  # the container verifies it at start (runtime/signature.py)
        for package in SIGNATURE_PACKAGES:
            pins.setdefault(_norm(package), _installed(package))
    for note in notes:
        reporter.warn(note)
    commit = ((record or {}).get("git") or {}).get("commit") or gitrefs.head_or_none(project.root)
    created = str((record or {}).get("created") or _workspace_created(artifact))
    lineage = record or {
        "model": name,
        "version": None,
        "workspace": True,
        "git": {"commit": commit},
        "artifact": {"path": model_cfg.path, "format": fmt, "sha256": sha256, "bytes": size},
        "environment": environment,
    }
    return Bundle(
        model=name,
        version=version,
        artifact=artifact,
        format=fmt,
        sha256=sha256,
        bytes=size,
        pins=dict(sorted(pins.items())),
        python=str(environment.get("python")) if environment.get("python") else None,
        commit=commit,
        created=created,
        data=_data_hashes(project, name, record),
        trusted_types=trusted,
        input_schema=_input_schema(project, name),
        lineage=json.loads(json.dumps(lineage, default=str)),
        task=model_cfg.task,
        target=model_cfg.target,
        notes=notes,
        referenced=referenced,
        signature=signature,
    )


def _signature(project: Project, name: str, version: str | None) -> bytes | None:
    """The model-signing bundle committed with the version's registration (None: unsigned,
    or the workspace model)."""
    if version is None:
        return None
    from mlops_cli.registry.records import signature_path
    from mlops_cli.registry.tags import register_tag

    tag = register_tag(name, version)
    return gitrefs.read_blob(project.root, f"refs/tags/{tag}", signature_path(name, version))


def write_model_dir(
    bundle: Bundle, dest: Path, *, locked: dict[str, str] | None = None
) -> list[Path]:
    """The artifact and metadata.json in `dest`, as the runtime reads them.

    `locked`: every package installed beside the model (the image's wheelhouse).
    """
    dest.mkdir(parents=True, exist_ok=True)
    target = dest / bundle.artifact_name
    shutil.copyfile(bundle.artifact, target)
    if sha256_file(target)[0] != bundle.sha256:
        raise InputError(f"{bundle.artifact} changed while it was being copied; build again")
    written = [target]
    if bundle.signature is not None:
        sig = dest / SIGNATURE_FILE
        sig.write_bytes(bundle.signature)
        written.append(sig)
    meta = dest / METADATA_FILE
    # Not sorted: the input columns keep the schema's order.
    meta.write_text(json.dumps({**bundle.metadata(), "locked": locked}, indent=2) + "\n")
    return [*written, meta]


def _check_safe(
    project: Project, artifact: Path, fmt: str, trusted_types: list[str], trust: bool
) -> tuple[list[str], list[str]]:
    """Refuse (exit 4) a model that is not safe to load; the skops types the runtime may
    trust, and every type the artifact references."""
    from mlops_cli.modeltest.load import check_loadable

    check = check_loadable(artifact, fmt, project=project, trusted_types=trusted_types, trust=trust)
    if fmt in ("joblib", "pickle"):
        # The runtime's own allow-listed load, run here first: an image is never built
        # around a model its container would refuse (or be attacked by) at start.
        from mlops_cli.modeltest.load import load_model

        load_model(artifact, fmt, project=project, trusted_types=trusted_types, trust=trust)
    return (sorted(check.types) if fmt == "skops" else []), sorted(check.types)


def _workspace_environment(project: Project, name: str) -> dict[str, Any]:
    rel = project.config.models[name].environment
    if rel is None:
        return {}
    path = project.root / rel
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(
            f"{path} is missing: it records the package versions the model was trained with",
            hint="run the training stage (`dvc repro`) to write it",
        ) from None
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("packages", {}), dict):
        raise InputError(f"{path}: expected {{'python': ..., 'packages': {{name: version}}}}")
    return data


def _input_schema(project: Project, name: str) -> dict[str, Any] | None:
    """Feature columns of the first training data set's pandera schema (the target dropped)."""
    from mlops_cli.common.yamlio import load_yaml

    model = project.config.models[name]
    for dataset in model.train_data:
        rel = project.config.datasets[dataset].schema_
        if rel is None:
            continue
        doc = load_yaml(project.root / rel).data
        columns = doc.get("columns") if isinstance(doc, dict) else None
        if not isinstance(columns, dict):
            continue
        features = {
            str(col): {
                "dtype": str((spec or {}).get("dtype", "any")),
                "nullable": bool((spec or {}).get("nullable", False)),
            }
            for col, spec in columns.items()
            if col != model.target
        }
        return {"columns": features, "strict": bool(doc.get("strict", False)), "source": rel}
    return None


def _data_hashes(project: Project, name: str, record: dict[str, Any] | None) -> dict[str, str]:
    if record and isinstance(record.get("data"), dict):
        return {
            str(k): str(v.get("md5"))
            for k, v in record["data"].items()
            if isinstance(v, dict) and v.get("md5")
        }
    from mlops_cli.common.yamlio import load_yaml

    found: dict[str, str] = {}
    lock = project.root / "dvc.lock"
    outs: dict[str, str] = {}
    if lock.is_file():
        stages = (load_yaml(lock).data or {}).get("stages") or {}
        for stage in stages.values():
            for out in (stage or {}).get("outs") or []:
                if isinstance(out, dict) and out.get("md5"):
                    outs[str(out.get("path"))] = str(out["md5"])
    for dataset in project.config.models[name].train_data:
        path = project.config.datasets[dataset].path
        dvc_file = project.root / f"{path}.dvc"
        if dvc_file.is_file():
            first = ((load_yaml(dvc_file).data or {}).get("outs") or [{}])[0]
            if first.get("md5"):
                found[dataset] = str(first["md5"])
        elif path in outs:
            found[dataset] = outs[path]
    return found


def _as_dict(record: Any) -> dict[str, Any] | None:
    if record is None:
        return None
    if dataclasses.is_dataclass(record) and not isinstance(record, type):
        return dataclasses.asdict(record)
    if hasattr(record, "model_dump"):
        return dict(record.model_dump(mode="json"))
    return dict(record)


def _installed(package: str) -> str:
    try:
        return importlib_metadata.version(package)
    except importlib_metadata.PackageNotFoundError:
        raise InputError(
            f"{package} is neither in the model's environment record nor installed beside mlops",
            hint=f"pip install {package}, or record it in the model's environment file",
        ) from None


def _norm(name: str) -> str:
    from mlops_cli.images.wheels import normalize

    return normalize(name)


def _workspace_created(artifact: Path) -> str:
    """A workspace build's time: SOURCE_DATE_EPOCH, else when the model file was written.

    Never the wall clock: two renders of one workspace must give one Dockerfile, or the
    layer cache and `--print-dockerfile` comparisons break on a second boundary.
    """
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    when = int(epoch) if epoch.isdigit() else int(artifact.stat().st_mtime)
    return datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
