"""The model registry: one committed lineage record per version, plus GTO tags.

Contract (other modules, e.g. `images/*.py`, code against exactly this):

    VersionRecord      mirrors `.mlops/models/<name>/<version>.yaml` (DESIGN.md §3)
    ResolvedModel      name, version (None = the workspace model), record, artifact: a
                       readable file holding exactly the artifact's bytes
    resolve(project, spec) -> ResolvedModel
        "churn"            the latest active version, or the workspace model if none
        "churn@v1.2.0"     that version ("churn@1.2.0" too)
        "churn@latest"     the latest active version (an error if there is none)
        "churn#prod"       the version currently in stage prod
        "churn@workspace"  the model file in the work tree, registered or not
    load_record(project, name, version) -> VersionRecord
        the committed record: at HEAD, else at the version's tag
    add_images(project, name, version, images) -> VersionRecord
        under the repo lock, replace the entries with the same `ref` (else add them), keep
        the list sorted by ref, rewrite the record atomically and commit only that file, in
        one commit; no commit when nothing changed (`add_image` for one entry)
    record_tests(project, name, version, tests) -> VersionRecord   (the same, for `tests`)

Records are read from git, never from the work tree alone: a record edited by hand but
not committed does not count (promotion and pickle trust rely on that).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from mlops_cli.common.errors import ConfigError, InputError, MlopsError, UnsafeError
from mlops_cli.common.fs import atomic_write_bytes, repo_lock, sha256_file
from mlops_cli.common.yamlio import dump_yaml, parse_yaml
from mlops_cli.gitio import objects as gitobjects
from mlops_cli.gitio import refs as gitrefs
from mlops_cli.gitio.state import refuse_unsafe_state
from mlops_cli.project.root import Project
from mlops_cli.registry import tags as regtags
from mlops_cli.registry.layout import ARTIFACT_CACHE, RECORDS_DIR, record_path, signature_path
from mlops_cli.registry.lineage import inside
from mlops_cli.registry.recordcache import RecordStore, blob_id

__all__ = ["ARTIFACT_CACHE", "RECORDS_DIR", "record_path", "signature_path"]  # re-exported

WORKSPACE = "workspace"
K = TypeVar("K", bound=Hashable)
_REQUIRED = ("model", "version", "created", "git", "artifact")


@dataclass(frozen=True)
class VersionRecord:
    """One model version's lineage, as `.mlops/models/<name>/<version>.yaml` holds it."""

    model: str
    version: str
    created: str
    git: dict[str, str]  # {commit, tag}
    artifact: dict[str, Any]  # {path, format, sha256, bytes, dvc_md5}
    data: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> {path, md5, rows,..}
    params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    environment: dict[str, Any] = field(default_factory=dict)  # {python, packages: {n: v}}
    tests: dict[str, Any] | None = None
    images: list[dict[str, Any]] = field(default_factory=list)  # [{ref, digest, pushed}]
    message: str | None = None
    # {drift: {...}}: what `mlops monitor drift --record` found last (docs/monitoring.md).
    monitoring: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "version": self.version,
            "created": self.created,
            "message": self.message,
            "git": dict(self.git),
            "artifact": dict(self.artifact),
            "data": {k: dict(v) for k, v in self.data.items()},
            "params": self.params,
            "metrics": self.metrics,
            "environment": self.environment,
            "tests": self.tests,
            "images": [dict(i) for i in self.images],
            # Only once recorded: a record without it keeps the bytes it always had.
            **({"monitoring": self.monitoring} if self.monitoring is not None else {}),
        }

    def to_yaml(self) -> str:
        header = (
            f"# Lineage record of {self.model}@{self.version}, written by mlops (docs/models.md).\n"
            "# Commit changes to it only through `mlops`: promotion trusts what is committed.\n"
        )
        return header + dump_yaml(self.to_dict())

    @classmethod
    def from_dict(cls, data: Any, source: str) -> VersionRecord:
        if not isinstance(data, dict) or any(k not in data for k in _REQUIRED):
            raise ConfigError(
                f"{source}: not a version record (needs {', '.join(_REQUIRED)})",
                hint="restore it from git history; records are written by `mlops model register`",
            )
        _check_shapes(data, source)
        return cls(
            model=str(data["model"]),
            version=str(data["version"]),
            created=str(data["created"]),
            git={str(k): str(v) for k, v in (data.get("git") or {}).items()},
            artifact=dict(data.get("artifact") or {}),
            data=dict(data.get("data") or {}),
            params=dict(data.get("params") or {}),
            metrics=dict(data.get("metrics") or {}),
            environment=dict(data.get("environment") or {}),
            tests=data.get("tests") or None,
            images=list(data.get("images") or []),
            message=data.get("message"),
            monitoring=data.get("monitoring") or None,
        )


_MAPPINGS = (
    "git",
    "artifact",
    "data",
    "params",
    "metrics",
    "environment",
    "tests",
    "monitoring",
)


def _check_shapes(data: dict[str, Any], source: str) -> None:
    """ConfigError (not a crash later) for a hand-edited record whose sections have the
    wrong type: `git: true`, `images: {}`, `data: {train: 3}`."""

    def bad(key: str, want: str) -> ConfigError:
        return ConfigError(
            f"{source}: `{key}` must be {want}, found {type(data[key]).__name__}",
            hint="restore it from git history; records are written by `mlops model register`",
        )

    for key in _MAPPINGS:
        if data.get(key) is not None and not isinstance(data[key], dict):
            raise bad(key, "a mapping")
    if data.get("images") is not None and not (
        isinstance(data["images"], list) and all(isinstance(i, dict) for i in data["images"])
    ):
        raise bad("images", "a list of mappings")
    if not all(isinstance(v, dict) for v in (data.get("data") or {}).values()):
        raise bad("data", "a mapping of data set names to mappings")
    if data.get("message") is not None and not isinstance(data["message"], str):
        raise bad("message", "text")


@dataclass(frozen=True)
class ResolvedModel:
    name: str
    version: str | None  # None: the workspace model
    record: VersionRecord | None
    artifact: Path


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def model_config(project: Project, name: str) -> Any:
    if name not in project.config.models:
        known = ", ".join(sorted(project.config.models)) or "none declared"
        raise InputError(
            f"no model {name!r} in {project.config_path.name} (models: {known})",
            hint="declare it under `models:` in mlops.yaml",
        )
    return project.config.models[name]


def state(project: Project) -> dict[str, regtags.ModelState]:
    """Every model's versions and stages, from the repository's tags."""
    return regtags.build_state(gitrefs.list_tags(project.root))


def parse_spec(spec: str) -> tuple[str, str | None, str | None]:
    """`name`, `name@version|latest|workspace`, `name#stage` -> (name, version, stage)."""
    if "#" in spec:
        name, _, stage = spec.partition("#")
        return name, None, stage
    name, _, version = spec.partition("@")
    if version in ("", "latest", WORKSPACE):
        return name, version or None, None
    return name, regtags.parse_version(version), None


def parse_record(raw: bytes, source: str) -> VersionRecord:
    """A record from its bytes. libyaml composes it where PyYAML has it (`fast`: the same
    guards and, for anything refused, the pure-Python path's messages; tests/registry/
    test_scale.py checks both paths give the same records)."""
    return VersionRecord.from_dict(parse_yaml(raw, source, fast=True).data, source)


def tests_failed(record: VersionRecord) -> bool:
    """Whether the record's tests cannot allow a promotion whatever else holds: none
    recorded, or recorded as not passed, or with a check that failed (the gate,
    `gate.gate_problem`, refuses these; `status` need not read their registered record)."""
    tests = record.tests
    if not tests:
        return True
    checks = [c for c in tests.get("checks") or [] if isinstance(c, dict)]
    return tests.get("passed") is not True or any(c.get("passed") is False for c in checks)


def summary(record: VersionRecord) -> dict[str, Any]:
    """What `mlops model list` shows of a record, and `tests_failed` for `status`
    (stored beside it in the record cache)."""
    tests = record.tests
    return {
        "model": record.model,
        "version": record.version,
        "created": record.created,
        "commit": record.git.get("commit"),
        "sha256": str(record.artifact.get("sha256")),
        "tests_passed": bool(tests.get("passed")) if tests else None,
        "images": len(record.images),
        "tests_failed": tests_failed(record),
    }


class RecordReader:
    """Parses records through the record cache (`recordcache.py`): a record seen before,
    by its git blob id, costs a look-up, not a YAML parse. Use as a context manager: what
    was parsed is remembered when it closes."""

    def __init__(self, root: Path) -> None:
        self.store = RecordStore(root)

    def __enter__(self) -> RecordReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Remember what was parsed (one transaction) and close the cache."""
        self.store.close()

    def parse(self, raw: bytes, source: str) -> VersionRecord:
        """`parse_record(raw, source)`, remembered by the blob id of `raw`."""
        return self.parse_many({source: (raw, source)})[source]

    def parse_many(self, raws: dict[str, tuple[bytes, str]]) -> dict[str, VersionRecord]:
        """key -> record, for `raws` key -> (bytes, source); a record that does not parse
        raises its ConfigError (callers wanting one error per record call `parse`)."""
        oids = {key: blob_id(raw) for key, (raw, _) in raws.items()}
        known = self.store.data(oids.values())
        out: dict[str, VersionRecord] = {}
        for key, (raw, source) in raws.items():
            data = known.get(oids[key])
            if data is not None:
                out[key] = VersionRecord.from_dict(data, source)
                continue
            data = parse_yaml(raw, source, fast=True).data
            record = VersionRecord.from_dict(data, source)
            self.store.put(oids[key], data, summary(record))
            out[key] = record
        return out

    def parse_each(
        self, raws: Mapping[K, tuple[bytes, str]]
    ) -> dict[K, VersionRecord | MlopsError]:
        """key -> its record, or the error that record raised (one per record, not one for
        all), for `raws` key -> (bytes, source): one cache look-up for all of them."""
        oids = {key: blob_id(raw) for key, (raw, _) in raws.items()}
        known = self.store.data(oids.values())
        out: dict[K, VersionRecord | MlopsError] = {}
        for key, (raw, source) in raws.items():
            try:
                data = known.get(oids[key])
                if data is not None:
                    out[key] = VersionRecord.from_dict(data, source)
                    continue
                data = parse_yaml(raw, source, fast=True).data
                record = VersionRecord.from_dict(data, source)
            except MlopsError as exc:
                out[key] = exc
                continue
            self.store.put(oids[key], data, summary(record))
            out[key] = record
        return out

    def summaries(self, root: Path, oids: dict[str, str]) -> dict[str, dict[str, Any]]:
        """path -> summary, for `oids` path -> blob id: from the cache, the others read in
        one `git cat-file --batch` and parsed; a record that does not parse raises its
        ConfigError, as `committed_records` does."""
        known = self.store.summaries(oids.values())
        out = {path: known[oid] for path, oid in oids.items() if oid in known}
        missing = {path: oid for path, oid in oids.items() if oid not in known}
        blobs = gitobjects.read_objects(root, list(missing.values()))
        for path, oid in missing.items():
            raw = blobs.get(oid)
            if raw is None:
                continue
            out[path] = summary(self.parse_many({path: (raw, path)})[path])
        return out


def registered_version(
    project: Project, name: str, version: str | None, stage: str | None
) -> tuple[str, regtags.ModelState]:
    """The registered version `name#stage`, `name@latest` (or `name` alone: version None)
    or `name@version` names, from the committed tags only, and the model's tag state;
    InputError when it names nothing registered. `deploy`, `monitor`, `data diff` and
    `model diff` resolve their specs through it."""
    tags = gitrefs.list_tags(project.root, [f"{name}@*", f"{name}#*"])
    current = regtags.build_state(tags).get(name) or regtags.ModelState(name)
    if stage is not None:
        held = current.in_stage(stage)
        if held is None:
            raise InputError(
                f"no version of {name} is in stage {stage!r}",
                hint=f"promote one: `mlops model promote {name} vX.Y.Z {stage}`",
            )
        version = held.version
    elif version in (None, "latest"):
        latest = current.latest()
        if latest is None:
            raise InputError(
                f"{name} has no registered version",
                hint=f"register one: `mlops model register {name}`",
            )
        version = latest.version
    assert version is not None
    if version not in current.versions:
        known = ", ".join(v.version for v in current.active_versions()) or "none"
        raise InputError(
            f"{name}@{version} is not registered (versions: {known})",
            hint=f"`mlops model list {name}` shows what is registered",
        )
    return version, current


def record_of(project: Project, spec: str) -> VersionRecord:
    """The committed record `spec` (NAME@VERSION, NAME#STAGE, NAME or NAME@latest) names,
    without materializing its artifact; InputError when it names nothing registered."""
    name, version, stage = parse_spec(spec)
    model_config(project, name)  # an unknown name: InputError listing the declared ones
    if version == WORKSPACE:
        raise InputError(
            f"{spec} is the workspace model, which has no record",
            hint=f"register it: `mlops model register {name}`",
        )
    found, _ = registered_version(project, name, version, stage)
    return load_record(project, name, found)


def load_record(project: Project, name: str, version: str) -> VersionRecord:
    """The committed record of `name@version`: at HEAD, else at the version's own tag."""
    rel = record_path(name, version)
    root = project.root
    raw = gitrefs.read_blob(root, "HEAD", rel)
    where = "HEAD"
    if raw is None:
        where = regtags.register_tag(name, version)
        raw = gitrefs.read_blob(root, f"refs/tags/{where}", rel)
    if raw is None:
        raise InputError(
            f"no committed record of {name}@{version} ({rel})",
            hint=f"`mlops model list {name}` shows the registered versions",
        )
    return parse_record(raw, f"{rel} at {where}")


def committed_records(project: Project) -> list[VersionRecord]:
    """Every record committed at HEAD, read in one git call."""
    paths = [p for p in gitrefs.ls_tree(project.root, "HEAD", RECORDS_DIR) if p.endswith(".yaml")]
    blobs = gitobjects.read_blobs(project.root, "HEAD", paths)
    return [parse_record(raw, path) for path, raw in blobs.items()]


def resolve(project: Project, spec: str) -> ResolvedModel:
    """What `spec` names, with its record and a file holding exactly its artifact."""
    name, version, stage = parse_spec(spec)
    model = model_config(project, name)
    if version == WORKSPACE:
        return ResolvedModel(name, None, None, inside(project.root, model.path))
    models = state(project)
    current = models.get(name) or regtags.ModelState(name)
    if stage is not None:
        held = current.in_stage(stage)
        if held is None:
            raise InputError(
                f"no version of {name} is in stage {stage!r}",
                hint=f"promote one: `mlops model promote {name} vX.Y.Z {stage}`",
            )
        _check_stage_policy(project, name, held, stage)
        version = held.version
    elif version in (None, "latest"):
        latest = current.latest()
        if latest is None:
            if version is None:
                return ResolvedModel(name, None, None, inside(project.root, model.path))
            raise InputError(
                f"{name} has no registered version",
                hint=f"register one: `mlops model register {name}`",
            )
        version = latest.version
    assert version is not None
    if version not in current.versions:
        known = ", ".join(v.version for v in current.active_versions()) or "none"
        raise InputError(
            f"{name}@{version} is not registered (versions: {known})",
            hint=f"`mlops model list {name}` shows what is registered",
        )
    record = load_record(project, name, version)
    return ResolvedModel(name, version, record, materialize(project, record))


def _check_stage_policy(
    project: Project, name: str, held: regtags.VersionState, stage: str
) -> None:
    """`name#stage` names what its policy accepts, or nothing: a stage tag whose signatures
    do not verify (hand-made, pushed from a clone) is never used to test, serve or build."""
    if stage not in project.config.policy.stages:
        return
    from mlops_cli.registry.policy import check_policy

    tag = held.stages[stage].tag
    if refused := check_policy(project, name, held.version, stage, promotion_tag=tag):
        raise UnsafeError(
            f"{name}#{stage} is held by {held.version} ({tag}), but the policy of stage"
            f" {stage} is not met: {'; '.join(refused)}",
            hint="`mlops status --check` says the same; see docs/security.md#stage-policies",
        )


def _dvc_cache_dirs(root: Path) -> list[Path]:
    from mlops_cli.dvc.config import cache_dir

    return list(dict.fromkeys([cache_dir(root), root / ".dvc" / "cache"]))


def materialize(project: Project, record: VersionRecord) -> Path:
    """A file with exactly the record's artifact bytes (sha256 checked), without copying when
    the work tree or the DVC cache already holds it."""
    root, art = project.root, record.artifact
    sha, rel = str(art.get("sha256", "")), str(art.get("path", ""))
    size = art.get("bytes")
    if not re.fullmatch(r"[0-9a-f]{64}", sha):
        raise InputError(
            f"the record of {record.model}@{record.version} has no valid artifact sha256: {sha!r}"
        )
    candidates = [inside(root, rel)]
    md5 = str(art.get("dvc_md5") or "")
    if md5 and not md5.endswith(".dir"):
        candidates += [c / "files" / "md5" / md5[:2] / md5[2:] for c in _dvc_cache_dirs(root)]
    candidates.append(root / ARTIFACT_CACHE / f"{sha}{Path(rel).suffix}")
    for path in candidates:
        fits = path.is_file() and (size is None or path.stat().st_size == size)
        if fits and sha256_file(path)[0] == sha:
            return path
    blob = gitrefs.read_blob(root, record.git.get("commit", "HEAD"), rel)
    if blob is not None and hashlib.sha256(blob).hexdigest() == sha:
        dest = root / ARTIFACT_CACHE / f"{sha}{Path(rel).suffix}"
        atomic_write_bytes(dest, blob)
        return dest
    raise InputError(
        f"the artifact of {record.model}@{record.version} ({rel}, sha256 {sha[:12]}) is neither"
        " in the work tree nor in the DVC cache",
        hint="fetch it with `dvc fetch --all-tags` (or check the version out and `dvc pull`)",
    )


def write_record(
    project: Project, record: VersionRecord, message: str, *, sign: bool = False
) -> VersionRecord:
    """Commit a rewritten record (the lock must be held), signed by git with `sign`.
    Refuses to overwrite a record whose work-tree copy has changes that are not committed."""
    root = project.root
    rel = record_path(record.model, record.version)
    head = gitrefs.head(root)
    committed = gitrefs.read_blob(root, head, rel)
    workspace = root / rel
    if workspace.is_file() and committed is not None and workspace.read_bytes() != committed:
        raise InputError(
            f"{rel} has changes that are not committed; mlops will not overwrite them",
            hint=f"commit or discard them (`git checkout -- {rel}`), then run the command again",
        )
    gitrefs.commit_file(root, rel, record.to_yaml().encode(), message, expect_head=head, sign=sign)
    return record


def add_image(project: Project, name: str, version: str, image: dict[str, Any]) -> VersionRecord:
    """Record a built or pushed image of `name@version` (see `add_images`)."""
    return add_images(project, name, version, [image])


def add_images(
    project: Project, name: str, version: str, images: list[dict[str, Any]]
) -> VersionRecord:
    """Record images of `name@version`: one entry per `ref`, the list kept sorted by ref,
    in one commit; nothing is committed when the record already says exactly this (a
    re-push of the same digests)."""
    if not images or any(not image.get("ref") for image in images):
        raise InputError("an image entry needs a `ref`")
    refs = [str(image["ref"]) for image in images]
    with repo_lock(project.root, f"model image {name}@{version}"):
        record = load_record(project, name, version)
        by_ref = {str(i.get("ref")): dict(i) for i in record.images}
        by_ref.update({str(image["ref"]): dict(image) for image in images})
        merged = [by_ref[ref] for ref in sorted(by_ref)]
        if _canonical(merged) == _canonical(record.images):
            return record  # the same entries (in any order): not a change worth a commit
        updated = replace(record, images=merged)
        what = f"image {refs[0]}" if len(refs) == 1 else f"images {', '.join(refs)}"
        return write_record(project, updated, f"mlops: record {what} of {name}@{version}")


def _canonical(images: list[dict[str, Any]]) -> list[str]:
    return sorted(json.dumps(i, sort_keys=True, default=str) for i in images)


def check_recordable(project: Project, *, sign: bool = False) -> None:
    """Results are recorded only from committed test settings, which anyone can re-run, and
    only where the record commit can land, and can be signed with `sign` (checked before the
    tests run, not after)."""
    refuse_unsafe_state(project.root, "commit the test results")
    if sign:
        from mlops_cli.gitio.signing import require_signing

        require_signing(project.root)
    if gitrefs.dirty_paths(project.root, [project.config_path.name]):
        raise InputError(
            f"{project.config_path.name} has changes that are not committed, so results from"
            " its test settings cannot be recorded",
            hint="commit it, then run `mlops test ... --record` again",
        )


def record_tests(
    project: Project, name: str, version: str, tests: dict[str, Any], *, sign: bool = False
) -> VersionRecord:
    """Store test results in the version's record, committed (signed by git with `sign`)."""
    check_recordable(project, sign=sign)
    with repo_lock(project.root, f"test {name}@{version} --record"):
        record = load_record(project, name, version)
        updated = replace(record, tests=tests)
        verdict = "passed" if tests.get("passed") else "failed"
        return write_record(
            project, updated, f"mlops: record tests of {name}@{version} ({verdict})", sign=sign
        )


def record_drift(
    project: Project, name: str, version: str, drift: dict[str, Any], *, sign: bool = False
) -> VersionRecord:
    """Store a drift result as the version's latest (`monitoring.drift`), committed."""
    check_recordable(project, sign=sign)
    with repo_lock(project.root, f"monitor drift {name}@{version} --record"):
        record = load_record(project, name, version)
        monitoring = {**(record.monitoring or {}), "drift": drift}
        updated = replace(record, monitoring=monitoring)
        verdict = "data set drift" if drift.get("dataset_drift") else "no drift"
        return write_record(
            project, updated, f"mlops: record drift of {name}@{version} ({verdict})", sign=sign
        )


def recorded_drift(record: VersionRecord) -> dict[str, Any] | None:
    """The latest recorded drift of a version, when there is one."""
    drift = (record.monitoring or {}).get("drift")
    return drift if isinstance(drift, dict) else None


@dataclass(frozen=True)
class VersionRow:
    """One line of `mlops model list`."""

    model: str
    version: str
    active: bool
    stages: list[str]
    created: str | None
    commit: str
    tag: str
    sha256: str | None
    tests_passed: bool | None
    images: int

    def to_dict(self) -> dict[str, Any]:
        """What `dataclasses.asdict` gives, without its deep copy (10,000 rows: 0.6 s)."""
        return {**self.__dict__, "stages": list(self.stages)}


def registry_tags(project: Project, name: str | None = None) -> list[gitrefs.TagInfo]:
    """The registry's tags (only `name`'s when given), in one `for-each-ref`: what
    `list_versions` and `tag_warnings` read, so a caller of both reads them once."""
    patterns = [f"{name}@*", f"{name}#*"] if name is not None else []
    return gitrefs.list_tags(project.root, patterns)


def list_versions(
    project: Project, name: str | None = None, tags: list[gitrefs.TagInfo] | None = None
) -> list[VersionRow]:
    """Registered versions, newest first per model; deregistered ones flagged inactive.

    Reads the tags (one `for-each-ref`) and the records committed at HEAD (one `ls-tree`
    for their blob ids; the cache for those parsed before; one `cat-file --batch` for the
    others), whatever the number of versions."""
    if name is not None:
        model_config(project, name)
    models = regtags.build_state(registry_tags(project, name) if tags is None else tags)
    folder = f"{RECORDS_DIR}/{name}" if name is not None else RECORDS_DIR
    ids = {p: o for p, o in gitrefs.ls_tree_ids(project.root, "HEAD", folder).items()}
    ids = {p: o for p, o in ids.items() if p.endswith(".yaml")}
    with RecordReader(project.root) as reader:
        found = reader.summaries(project.root, ids)
    records = {(str(r["model"]), str(r["version"])): r for r in found.values()}
    rows = []
    for model_name, model in sorted(models.items()):
        if name is not None and model_name != name:
            continue
        ordered = sorted(
            model.versions.values(), key=lambda v: regtags.semver_key(v.version), reverse=True
        )
        holders = model.stage_holders()
        for v in ordered:
            rec = records.get((model_name, v.version))
            active = v.active and not model.deprecated
            rows.append(
                VersionRow(
                    model=model_name,
                    version=v.version,
                    active=active,
                    stages=sorted(s for s, h in holders.items() if h is v) if v.active else [],
                    created=rec["created"] if rec else None,
                    commit=str(rec.get("commit") or v.commit) if rec else v.commit,
                    tag=v.tag,
                    sha256=rec["sha256"] if rec else None,
                    tests_passed=rec["tests_passed"] if rec else None,
                    images=int(rec["images"]) if rec else 0,
                )
            )
    return rows


@dataclass(frozen=True)
class Shown:
    """`mlops model show`: the record and where the version stands."""

    record: VersionRecord
    active: bool
    stages: list[str]
    tag: str
    tag_commit: str
    artifact_present: bool
    warnings: list[str] = field(default_factory=list)  # odd registry tags of the model


def show(project: Project, spec: str) -> Shown:
    name, version, stage = parse_spec(spec)
    model_config(project, name)
    if version == WORKSPACE:
        raise InputError("the workspace model has no record; `mlops model register` makes one")
    # Only this model's tags: the cost does not grow with the other models' versions.
    tags = gitrefs.list_tags(project.root, [f"{name}@*", f"{name}#*"])
    current = regtags.build_state(tags).get(name) or regtags.ModelState(name)
    if stage is not None:
        held = current.in_stage(stage)
        if held is None:
            raise InputError(f"no version of {name} is in stage {stage!r}")
        version = held.version
    elif version in (None, "latest"):
        latest = current.latest()
        if latest is None:
            raise InputError(
                f"{name} has no registered version",
                hint=f"register one: `mlops model register {name}`",
            )
        version = latest.version
    assert version is not None
    vstate = current.versions.get(version)
    if vstate is None:
        raise InputError(f"{name}@{version} is not registered")
    record = load_record(project, name, version)
    try:
        materialize(project, record)
        present = True
    except InputError:
        present = False
    return Shown(
        record,
        vstate.active,
        current.stages_of(version),
        vstate.tag,
        vstate.commit,
        present,
        _warning_lines(regtags.tag_warnings(tags, name)),
    )


def tag_warnings(
    project: Project, name: str | None = None, tags: list[gitrefs.TagInfo] | None = None
) -> list[str]:
    """What is odd about the registry tags (of `name`; `tags`: `registry_tags`, read
    here when not given): lightweight tags and tags that mlops did not make
    (`tags.tag_warnings`), one line each."""
    found = registry_tags(project, name) if tags is None else tags
    return _warning_lines(regtags.tag_warnings(found, name))


def _warning_lines(found: dict[str, list[str]]) -> list[str]:
    return [line for model in sorted(found) for line in found[model]]
