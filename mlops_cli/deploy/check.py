"""`mlops deploy check`, its offline half: the rendered manifests, what `kubectl kustomize`
makes of the committed overlay, and both against the Kubernetes OpenAPI schema.

The schema check uses the `kubernetes-validate` package (the `deploy` extra): JSON schemas
of every Kubernetes minor version since 1.25, shipped inside the wheel, so nothing is
fetched. Its strict schemas are used, so a misspelt or unknown field fails, as the API
server's strict field validation (the kubectl default since 1.27) would refuse it.

The overlay is rendered from the committed tree (HEAD), not the work tree: what a GitOps
controller syncs is what is committed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from mlops_cli.common.errors import InputError
from mlops_cli.deploy.gitops import DEPLOY, overlay_stages
from mlops_cli.deploy.manifests import render
from mlops_cli.deploy.release import record_for
from mlops_cli.gitio import refs as gitrefs
from mlops_cli.registry import tags as regtags
from mlops_cli.registry.records import parse_spec

if TYPE_CHECKING:
    from mlops_cli.project.root import Project

DEFAULT_KUBERNETES = "1.32"
KUSTOMIZE_TIMEOUT = 120


@dataclass(frozen=True)
class Problem:
    check: str  # "schema" or "kustomize"
    object: str  # Kind/name, or the overlay folder
    path: str  # the field, e.g. spec.template.spec.containers[0].ports[0].containerPort
    message: str

    def __str__(self) -> str:
        where = f" at {self.path}" if self.path else ""
        return f"{self.check}: {self.object}{where}: {self.message}"


@dataclass
class StaticCheck:
    model: str
    version: str
    digest: str | None
    kubernetes_version: str  # the schema version validated against, e.g. "1.32"
    objects: list[dict[str, Any]]
    overlays: list[str] = field(default_factory=list)  # stages whose overlay was kustomized
    validated: int = 0  # objects validated against the schema
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # where the overlay differs by the base's edit

    @property
    def passed(self) -> bool:
        return not self.problems


def kind_name(obj: dict[str, Any]) -> str:
    return f"{obj.get('kind', '?')}/{(obj.get('metadata') or {}).get('name', '?')}"


def field_path(parts: Any) -> str:
    """['spec', 'ports', 0, 'port'] -> 'spec.ports[0].port'."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def schema_version(requested: str) -> str:
    """The schema version kubernetes-validate has for `requested` (`1.32`, `v1.32.1`)."""
    utils = _kubernetes_validate().utils
    match = re.fullmatch(r"v?(\d+)\.(\d+)(?:\.\d+)?", requested.strip())
    have = sorted({tuple(int(x) for x in v.split(".")[:2]) for v in utils.all_versions()})
    if match is None or (int(match[1]), int(match[2])) not in have:
        known = ", ".join(f"{a}.{b}" for a, b in have)
        raise InputError(
            f"no Kubernetes schema for version {requested!r}",
            hint=f"pass --kubernetes-version with one of {known}",
        )
    return f"{match[1]}.{match[2]}"


def _kubernetes_validate() -> Any:
    try:
        import kubernetes_validate  # type: ignore[import-untyped]
        import kubernetes_validate.utils  # type: ignore[import-untyped]
    except ImportError:
        raise InputError(
            "the Kubernetes schema check needs the kubernetes-validate package",
            hint="pip install 'mlops-cli[deploy]'",
        ) from None
    return kubernetes_validate


def validate_objects(objects: list[dict[str, Any]], version: str) -> list[Problem]:
    """Each object against the strict OpenAPI schema of Kubernetes `version` (offline)."""
    kv = _kubernetes_validate()
    problems = []
    for obj in objects:
        try:
            kv.validate(obj, version, strict=True)
        except kv.ValidationError as exc:
            problems.append(
                Problem("schema", kind_name(obj), field_path(exc.absolute_path), exc.message)
            )
        except kv.SchemaNotFoundError as exc:
            problems.append(Problem("schema", kind_name(obj), "apiVersion", exc.message))
    return problems


def _export_deploy(root: Path, dest: Path) -> None:
    """HEAD's deploy/ tree into `dest` (the committed overlay and bases, nothing else)."""
    for rel in gitrefs.ls_tree(root, "HEAD", f"{DEPLOY}/"):
        data = gitrefs.read_blob(root, "HEAD", rel)
        if data is None:
            continue
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def kustomize(root: Path, stage: str) -> tuple[list[dict[str, Any]] | None, str]:
    """The objects `kubectl kustomize deploy/overlays/<stage>` renders at HEAD, or None and
    kubectl's error."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        raise InputError(
            "kubectl is not installed: it renders the overlay (kubectl kustomize)",
            hint="install it (Debian: `apt-get install kubectl`), or check a spec whose stage"
            " has no deploy/overlays/ folder",
        )
    with tempfile.TemporaryDirectory(prefix="mlops-kustomize-") as tmp:
        _export_deploy(root, Path(tmp))
        try:
            proc = subprocess.run(
                [kubectl, "kustomize", str(Path(tmp) / DEPLOY / "overlays" / stage)],
                capture_output=True,
                text=True,
                timeout=KUSTOMIZE_TIMEOUT,
            )
        except subprocess.TimeoutExpired:
            return None, f"kubectl kustomize did not finish within {KUSTOMIZE_TIMEOUT} s"
    if proc.returncode != 0:
        return None, " ".join(proc.stderr.split())[:500] or f"exit {proc.returncode}"
    try:
        return [o for o in yaml.safe_load_all(proc.stdout) if o], ""
    except yaml.YAMLError as exc:
        return None, f"kubectl kustomize printed no YAML: {exc}"


def differences(want: Any, got: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every field path (a tuple) where `got` differs from `want`: missing, extra, other."""
    if isinstance(want, dict) and isinstance(got, dict):
        found: list[tuple[Any, ...]] = []
        for key in sorted(set(want) | set(got), key=str):
            if key not in want or key not in got:
                found.append((*path, key))
            else:
                found.extend(differences(want[key], got[key], (*path, key)))
        return found
    if isinstance(want, list) and isinstance(got, list) and len(want) == len(got):
        return [
            d
            for i, (a, b) in enumerate(zip(want, got, strict=True))
            for d in differences(a, b, (*path, i))
        ]
    return [] if want == got else [path]


def first_difference(want: Any, got: Any) -> str | None:
    found = differences(want, got)
    return field_path(found[0]) if found else None


# What the version record decides, so what the overlay must render exactly as `deploy
# render` does: the pinned image, the lineage, and every constraint the run check starts
# the container with. Anything else (replicas, resources, a namespace, more volumes) is
# the base's, which is the user's to edit (docs/deploy.md): reported, not failed.
_CONTAINER = ("spec", "template", "spec", "containers")
_OWNED_PARTS = ("image", "env", "ports", "securityContext", "readinessProbe", "startupProbe")
OWNED: tuple[tuple[Any, ...], ...] = (
    ("metadata", "name"),
    ("metadata", "annotations"),
    ("metadata", "labels", "app.kubernetes.io/version"),
    ("spec", "template", "metadata", "annotations"),
    ("spec", "template", "metadata", "labels", "app.kubernetes.io/version"),
    ("spec", "template", "spec", "securityContext"),
    ("spec", "template", "spec", "volumes"),
    *((*_CONTAINER, 0, part) for part in (*_OWNED_PARTS, "volumeMounts")),
)


def owned(path: tuple[Any, ...]) -> bool:
    return any(path[: len(p)] == p or p[: len(path)] == path for p in OWNED)


def compare_overlay(
    stage: str, rendered: list[dict[str, Any]], found: list[dict[str, Any]]
) -> tuple[list[Problem], list[str]]:
    """Problems where the overlay's objects differ from the rendered ones (by kind and
    name) in what the record decides, and notes for the base's own edits."""
    where = f"{DEPLOY}/overlays/{stage}"
    by_key = {kind_name(o): o for o in found}
    problems, notes = [], []
    for obj in rendered:
        key = kind_name(obj)
        got = by_key.get(key)
        if got is None:
            problems.append(Problem("kustomize", where, "", f"renders no {key}"))
            continue
        for diff in differences(obj, got):
            if owned(diff):
                problems.append(
                    Problem(
                        "kustomize",
                        f"{where} {key}",
                        field_path(diff),
                        "differs from `mlops deploy render` (the record's part: was the"
                        " overlay or deploy/base edited there?)",
                    )
                )
            else:
                notes.append(f"{where} {key} at {field_path(diff)}: the base's own edit")
    return problems, notes


def _stages(project: Project, spec: str, model: str, version: str) -> list[str]:
    committed = set(overlay_stages(project.root))
    _, _, stage = parse_spec(spec)
    if stage is not None:
        return [stage] if stage in committed else []
    tags = gitrefs.list_tags(project.root, [f"{model}@*", f"{model}#*"])
    state = regtags.build_state(tags).get(model)
    held = state.stages_of(version) if state is not None else []
    return [s for s in held if s in committed]


def check_static(project: Project, spec: str, *, uid: int, kubernetes: str) -> StaticCheck:
    """Render `spec`'s manifests, kustomize the committed overlay of each stage the version
    holds, and validate every object against Kubernetes `kubernetes`'s schema."""
    from mlops_cli.deploy.manifests import release_from_record

    version = schema_version(kubernetes)
    record = record_for(project, spec)
    rel = release_from_record(record, uid=uid)
    objects = render(rel)
    result = StaticCheck(rel.model, rel.version, rel.digest, version, objects)
    result.problems.extend(validate_objects(objects, version))
    result.validated = len(objects)
    for stage in _stages(project, spec, rel.model, rel.version):
        found, error = kustomize(project.root, stage)
        result.overlays.append(stage)
        if found is None:
            result.problems.append(Problem("kustomize", f"{DEPLOY}/overlays/{stage}", "", error))
            continue
        problems, notes = compare_overlay(stage, objects, found)
        result.problems.extend(problems)
        result.notes.extend(notes)
        # What the controller applies: the overlay's other objects (the other models of
        # the stage, what the user added to a base) are validated too.
        extra = [o for o in found if o not in objects]
        result.problems.extend(validate_objects(extra, version))
        result.validated += len(extra)
    return result
