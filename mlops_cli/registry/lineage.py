"""What a model version is made of, checked against what git and DVC have committed.

`capture` hashes the artifact and the data it was trained on and compares each with the
hash committed for it: `dvc.lock` at HEAD where a pipeline stage produced the file, else
`<file>.dvc` at HEAD, else git itself. Anything that differs, or any lineage file
(dvc.lock, params, metrics, environment, mlops.yaml, the stage's code) that is modified and
not committed, is named in one refusal: a version that cannot be reproduced from its
commit is worse than none.
"""

from __future__ import annotations

import hashlib
import json
import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlops_cli.common.errors import ConfigError, InputError
from mlops_cli.common.fs import ensure_inside
from mlops_cli.common.yamlio import parse_yaml
from mlops_cli.dvc.files import Lock
from mlops_cli.gitio import refs as gitrefs
from mlops_cli.project.root import Project

LOCK = "dvc.lock"
_CHUNK = 1 << 20
# What a scikit-learn model needs at prediction time, per format, when the training stage
# did not write its environment file.
FORMAT_PACKAGES = {
    "skops": ("scikit-learn", "numpy", "scipy", "skops"),
    "joblib": ("scikit-learn", "numpy", "scipy", "joblib"),
    "pickle": ("scikit-learn", "numpy", "scipy"),
}


@dataclass(frozen=True)
class Digests:
    sha256: str
    md5: str
    md5_unix: str  # md5 with CRLF -> LF, as DVC 2 hashed text files
    bytes: int


def digests(path: Path) -> Digests:
    """sha256, md5 and DVC 2's dos2unix md5 of a file, in one read."""
    sha, md5, unix = hashlib.sha256(), hashlib.md5(), hashlib.md5()
    size, text, pending = 0, True, b""
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            size += len(chunk)
            sha.update(chunk)
            md5.update(chunk)
            text = text and b"\0" not in chunk
            if text:
                # A CR at a chunk's end may pair with the next chunk's LF.
                buf = pending + chunk
                buf, pending = (buf[:-1], b"\r") if buf.endswith(b"\r") else (buf, b"")
                unix.update(buf.replace(b"\r\n", b"\n"))
    unix.update(pending)
    plain = md5.hexdigest()
    return Digests(sha.hexdigest(), plain, unix.hexdigest() if text else plain, size)


def dvc_hash(path: Path) -> str | None:
    """DVC's hash of a file (md5) or folder (md5 of its sorted listing, `.dir`)."""
    if path.is_file():
        return digests(path).md5
    if not path.is_dir():
        return None
    entries = sorted(
        (
            {"md5": digests(p).md5, "relpath": p.relative_to(path).as_posix()}
            for p in path.rglob("*")
            if p.is_file() and ".git" not in p.relative_to(path).parts
        ),
        key=lambda e: e["relpath"],
    )
    blob = json.dumps(entries, sort_keys=True).encode()
    return hashlib.md5(blob).hexdigest() + ".dir"


def _matches(path: Path, expected: str) -> bool:
    if path.is_file():
        d = digests(path)
        return expected in (d.md5, d.md5_unix)
    return dvc_hash(path) == expected


def locate(root: Path, rel: str, md5: str) -> Path | None:
    """A file with exactly the content DVC recorded as `md5` for `rel`: the DVC cache's
    object, else the work tree's file while it still has that md5; None when neither."""
    from mlops_cli.dvc.files import cache_dir, object_path

    if not md5 or md5.endswith(".dir"):
        return None
    cached = object_path(cache_dir(root), md5)
    if cached.is_file() and _matches(cached, md5):
        return cached
    work = inside(root, rel)
    if work.is_file() and _matches(work, md5):
        return work
    return None


def count_rows(path: Path) -> int | None:
    """Data rows of a CSV/TSV (lines minus the header) or a Parquet file; None otherwise."""
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv", ".txt") and path.is_file():
        lines, last = 0, b"\n"
        with path.open("rb") as fh:
            while chunk := fh.read(_CHUNK):
                lines += chunk.count(b"\n")
                last = chunk[-1:]
        lines += last != b"\n"
        return max(lines - 1, 0)
    if suffix == ".parquet" and path.is_file():
        import pyarrow.parquet as pq  # type: ignore[import-untyped]

        return int(pq.ParquetFile(path).metadata.num_rows)
    return None


@dataclass(frozen=True)
class Committed:
    """Where the committed hash of a path comes from."""

    source: str  # "dvc.lock", "<path>.dvc" or "git"
    md5: str | None
    stage: str | None = None


@dataclass
class Lineage:
    commit: str
    artifact: dict[str, Any]
    data: dict[str, dict[str, Any]]
    params: dict[str, Any]
    metrics: dict[str, Any]
    environment: dict[str, Any]
    stage: str | None
    warnings: list[str] = field(default_factory=list)
    differs: dict[str, str] = field(default_factory=dict)  # strict=False: path -> what differs


def _yaml_at(root: Path, rev: str, path: str) -> dict[str, Any] | None:
    raw = gitrefs.read_blob(root, rev, path)
    if raw is None:
        return None
    data = parse_yaml(raw, f"{path} at {rev}").data
    return data if isinstance(data, dict) else None


def _committed(root: Path, rel: str, lock: Lock) -> Committed | None:
    if found := lock.producer(rel):
        return Committed(LOCK, found[1].md5, found[0])
    pointer = _yaml_at(root, "HEAD", f"{rel}.dvc")
    if pointer is not None:
        outs = pointer.get("outs") or [{}]
        return Committed(f"{rel}.dvc", str(outs[0].get("md5") or "") or None)
    if gitrefs.is_tracked(root, rel):
        return Committed("git", None)
    return None


def inside(root: Path, rel: str) -> Path:
    """`root / rel`, refused (exit 4) when `rel`, a path from a possibly cloned mlops.yaml or
    version record, is absolute or leads out of the project through `..` or a symlink, the
    check data paths get (`fs.ensure_inside`). The path itself is returned, not where its
    symlinks lead, so a file keeps its name and suffix."""
    ensure_inside(root, Path(rel))
    return root / rel


def capture(project: Project, name: str, *, strict: bool = True) -> Lineage:
    """The lineage of the workspace model `name`; InputError naming every file that differs.

    With `strict=False` (`mlops model diff` of the workspace) what differs from the commit
    is a warning each instead: the lineage as the work tree has it, to look at, not record."""
    root, cfg = project.root, project.config
    model = cfg.models[name]
    commit = gitrefs.head(root)
    lock = Lock(_yaml_at(root, "HEAD", LOCK))
    problems: dict[str, str] = {}
    warnings: list[str] = []

    art, source = _artifact(root, name, model.path, lock, problems)
    stage = source.stage
    data = _datasets(project, name, lock, stage, problems, warnings)
    for path, why in gitrefs.dirty_paths(root, _lineage_files(project, name, data, source)).items():
        problems.setdefault(path, why)
    if problems and strict:
        raise _refusal(name, problems)
    warnings += [f"{path}: {why}" for path, why in sorted(problems.items())]

    return Lineage(
        commit=commit,
        artifact={
            "path": model.path,
            "format": model.format,
            "sha256": art.sha256,
            "bytes": art.bytes,
            "dvc_md5": source.md5,
        },
        data=data,
        params=lock.params(stage)
        if stage and lock.params(stage)
        else _read_doc(root, model.params, warnings),
        metrics=_read_doc(root, model.metrics, warnings),
        environment=_with_code(project, environment(project, name, warnings)),
        stage=stage,
        warnings=warnings,
        differs=problems,
    )


def _artifact(
    root: Path, name: str, rel: str, lock: Lock, problems: dict[str, str]
) -> tuple[Digests, Committed]:
    """The model file's digests and where its committed hash comes from; refuses a missing
    or unversioned file, and records a hash that differs from the committed one."""
    artifact = inside(root, rel)
    if not artifact.is_file():
        raise InputError(
            f"{rel}: no such file, so there is no model to register",
            hint="train it (`dvc repro`) or fetch it (`dvc pull`)",
        )
    art = digests(artifact)
    source = _committed(root, rel, lock)
    if source is None:
        for meta in (LOCK, f"{rel}.dvc"):
            if (root / meta).is_file() and not gitrefs.is_tracked(root, meta):
                # The usual slip: `dvc repro` (or `dvc add`) ran, the commit did not.
                raise _refusal(name, {meta: f"not committed; it records how {rel} was made"})
        raise InputError(
            f"{rel} is not versioned: neither dvc.lock, {rel}.dvc nor git tracks it at HEAD",
            hint="run `dvc repro` and commit dvc.lock (or `dvc add` it and commit the .dvc file)",
        )
    if source.md5 and source.md5 not in (art.md5, art.md5_unix):
        problems[rel] = f"md5 {art.md5} in the work tree, {source.md5} in {source.source}"
    return art, source


def _datasets(
    project: Project,
    name: str,
    lock: Lock,
    stage: str | None,
    problems: dict[str, str],
    warnings: list[str],
) -> dict[str, dict[str, Any]]:
    """The model's data sets by role: its declared train data, what the producing stage and
    the stages upstream of it ran on (with the md5 they ran on), and its test data."""
    root, cfg = project.root, project.config
    model = cfg.models[name]
    by_path = {ds.path: ds_name for ds_name, ds in cfg.datasets.items()}
    roles = {ds: "train" for ds in model.train_data}
    trained_on: dict[str, str | None] = {}
    if stage:
        for upstream in lock.upstream(stage):
            for dep, md5 in lock.deps(upstream).items():
                if dep in by_path:
                    roles.setdefault(by_path[dep], "train")
                    trained_on.setdefault(dep, md5)  # the producing stage's own deps first
        _check_stage_code(root, lock, stage, by_path, problems)
    if model.test_data:
        roles.setdefault(model.test_data, "test")
    data: dict[str, dict[str, Any]] = {}
    for ds_name, role in roles.items():
        ds = cfg.datasets[ds_name]
        data[ds_name] = _dataset(
            root, ds.path, ds.schema_, role, lock, trained_on, problems, warnings
        )
    return data


def _lineage_files(
    project: Project, name: str, data: dict[str, dict[str, Any]], source: Committed
) -> list[str]:
    """The files the version's lineage is read from, which must be committed as they are."""
    root, cfg = project.root, project.config
    model = cfg.models[name]
    return [
        p
        for p in [
            "mlops.yaml",
            LOCK,
            "dvc.yaml",
            model.params,
            model.metrics,
            model.environment,
            f"{model.path}.dvc",
            *(f"{cfg.datasets[d].path}.dvc" for d in data),
            *([model.path] if source.source == "git" else []),
        ]
        if p and ((root / p).exists() or gitrefs.is_tracked(root, p))
    ]


def _dataset(
    root: Path,
    rel: str,
    schema: str | None,
    role: str,
    lock: Lock,
    trained_on: dict[str, str | None],
    problems: dict[str, str],
    warnings: list[str],
) -> dict[str, Any]:
    path = root / rel
    committed = _committed(root, rel, lock)
    md5 = trained_on.get(rel) or (committed.md5 if committed else None)
    if rel in trained_on:
        where = "dvc.lock (what the model was trained on)"
    else:
        where = committed.source if committed else "nothing"
    if rel in trained_on and committed and committed.md5 and committed.md5 != trained_on[rel]:
        problems[rel] = (
            f"the model was trained on md5 {trained_on[rel]}, but {committed.source} (stage "
            f"{committed.stage}) now produces md5 {committed.md5}: the pipeline is stale, run"
            " `dvc repro`"
        )
    if not path.exists():
        warnings.append(f"{rel} is not in the work tree, so its rows are not counted (`dvc pull`)")
        rows = None
    else:
        if md5 and not _matches(path, md5):
            problems.setdefault(rel, f"md5 {dvc_hash(path)} in the work tree, {md5} in {where}")
        elif committed is None:
            problems.setdefault(
                rel, "not versioned: neither dvc.lock, a .dvc file nor git track it"
            )
        md5 = md5 or dvc_hash(path)
        rows = count_rows(path)
    return {"path": rel, "md5": md5, "rows": rows, "schema": schema, "role": role}


def _check_stage_code(
    root: Path, lock: Lock, stage: str, data_paths: dict[str, str], problems: dict[str, str]
) -> None:
    """The producing stage's other deps (code) must be what dvc.lock says it ran with."""
    for dep, md5 in lock.deps(stage).items():
        if dep in data_paths or not md5:
            continue
        path = root / dep
        if not path.exists():
            problems[dep] = f"missing; dvc.lock (stage {stage}) ran with md5 {md5}"
        elif not _matches(path, md5):
            problems[dep] = f"changed since dvc.lock's stage {stage} ran: run `dvc repro`"


def _with_code(project: Project, env: dict[str, Any]) -> dict[str, Any]:
    """The environment plus the hash of the project's own code, when `code:` declares it."""
    from mlops_cli.project.code import find

    code = find(project)
    return {**env, "project_code": code.describe()} if code else env


def _refusal(name: str, problems: dict[str, str]) -> InputError:
    files = ", ".join(sorted(problems))
    error = InputError(
        f"cannot register {name}: these files differ from what is committed: {files}",
        hint="commit them (or restore them with `dvc checkout` / `git checkout -- FILE`), "
        "then register again",
    )
    error.problems = [error.message, *(f"{p}: {why}" for p, why in sorted(problems.items()))]  # type: ignore[attr-defined]
    return error


def _read_doc(root: Path, rel: str | None, warnings: list[str]) -> dict[str, Any]:
    if not rel:
        return {}
    path = inside(root, rel)
    if not path.is_file():
        warnings.append(f"{rel} does not exist; nothing recorded from it")
        return {}
    try:
        if path.suffix == ".json":
            data = json.loads(path.read_text(encoding="utf-8"))
        else:
            data = parse_yaml(path.read_bytes(), rel).data
    except (OSError, ValueError, ConfigError) as exc:
        raise InputError(f"cannot read {rel}: {exc}") from None
    return data if isinstance(data, dict) else {"value": data}


def environment(project: Project, name: str, warnings: list[str]) -> dict[str, Any]:
    """The Python and package versions the model was trained with.

    From the file the training stage wrote (`environment:` in mlops.yaml, else
    `environment.json` beside the artifact); else the current interpreter's, with a warning.
    """
    model = project.config.models[name]
    rel = model.environment or str(Path(model.path).parent / "environment.json")
    path = inside(project.root, rel)
    if path.is_file():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read {rel}: {exc}") from None
        packages = data.get("packages") if isinstance(data, dict) else None
        if not isinstance(packages, dict):
            raise InputError(
                f'{rel}: expected {{"python": "3.11.7", "packages": {{name: version}}}}'
            )
        return {
            "python": str(data.get("python") or ""),
            "packages": {str(k): str(v) for k, v in packages.items()},
            "source": rel,
        }
    from importlib.metadata import PackageNotFoundError, version

    packages = {}
    for package in FORMAT_PACKAGES.get(model.format, ()):
        try:
            packages[package] = version(package)
        except PackageNotFoundError:
            continue
    warnings.append(
        f"{rel} not found: recorded the current environment instead of the one the model was"
        " trained with; make the training stage write it"
    )
    return {"python": platform.python_version(), "packages": packages, "source": "current"}
