"""Deterministic Kubernetes manifests for one model version.

Input is a `Release` built from the version record (never the workspace); output is a list of
plain dicts and a YAML text that is byte-identical for identical input (sorted keys).
The runtime (mlops_cli/runtime) serves /health and /predict on $MLOPS_PORT (8080).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import yaml

from mlops_cli.common.errors import EXIT_INPUT, MlopsError
from mlops_cli.registry.records import VersionRecord

PORT = 8080
HEALTH_PATH = "/health"
# Used when the record has no measured load time: 30 probes x 2 s = 60 s to become ready.
DEFAULT_STARTUP_SECONDS = 60
WRITABLE_PATHS = ("/tmp",)


class NoDigestError(MlopsError):
    """The stage's version was never pushed, so there is no digest to pin (exit 3)."""

    exit_code = EXIT_INPUT


@dataclass(frozen=True)
class Release:
    model: str
    version: str
    image: str  # repository, without tag
    digest: str | None  # sha256:... recorded at push
    artifact_sha256: str
    uid: int = 10001
    data_hashes: tuple[str, ...] = ()
    record_commit: str = ""
    load_seconds: float | None = None
    replicas: int = 1
    resources: dict[str, dict[str, str]] = field(default_factory=dict)
    env: tuple[tuple[str, str], ...] = ()


def startup_failure_threshold(load_seconds: float | None, period: int = 2) -> int:
    seconds = DEFAULT_STARTUP_SECONDS if load_seconds is None else max(10.0, 3 * load_seconds)
    return max(1, math.ceil(seconds / period))


def render(rel: Release) -> list[dict[str, Any]]:
    if not rel.digest:
        raise NoDigestError(
            f"{rel.model}@{rel.version} has no pushed image digest; run mlops image push first"
        )
    name = rel.model
    labels = {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/version": rel.version,
        "app.kubernetes.io/managed-by": "mlops",
    }
    select = {"app.kubernetes.io/name": name}
    annotations = {
        "mlops.dev/model": rel.model,
        "mlops.dev/version": rel.version,
        "mlops.dev/artifact-sha256": rel.artifact_sha256,
        "mlops.dev/data-hashes": json.dumps(sorted(rel.data_hashes)),
        "mlops.dev/record-commit": rel.record_commit,
    }
    probe = {"httpGet": {"path": HEALTH_PATH, "port": "http"}, "periodSeconds": 2}
    volumes = [{"name": f"w{i}", "emptyDir": {}} for i, _ in enumerate(WRITABLE_PATHS)]
    mounts = [{"name": f"w{i}", "mountPath": p} for i, p in enumerate(WRITABLE_PATHS)]
    container = {
        "name": "model",
        "image": f"{rel.image}@{rel.digest}",
        "ports": [{"name": "http", "containerPort": PORT}],
        "env": [{"name": k, "value": v} for k, v in sorted(rel.env)],
        "readinessProbe": {**probe, "failureThreshold": 3},
        "livenessProbe": {**probe, "failureThreshold": 5},
        "startupProbe": {**probe, "failureThreshold": startup_failure_threshold(rel.load_seconds)},
        "resources": rel.resources,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": rel.uid,
            "readOnlyRootFilesystem": True,
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "volumeMounts": mounts,
    }
    meta = {"name": name, "labels": labels, "annotations": annotations}
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta,
        "spec": {
            "replicas": rel.replicas,
            "selector": {"matchLabels": select},
            "template": {
                "metadata": {"labels": labels, "annotations": annotations},
                "spec": {"containers": [container], "volumes": volumes},
            },
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta,
        "spec": {"selector": select, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]},
    }
    return [deployment, service]


def to_yaml(objects: list[dict[str, Any]]) -> str:
    return "---\n".join(
        yaml.safe_dump(o, sort_keys=True, default_flow_style=False) for o in objects
    )


def release_from_record(record: VersionRecord, **overrides: Any) -> Release:
    """A Release from a committed version record: the last pushed image's digest, lineage."""
    pushed = [i for i in record.images if i.get("digest")]
    ref = str(pushed[-1]["ref"]) if pushed else ""
    repo = ref.split("@", 1)[0]
    if ":" in repo.rsplit("/", 1)[-1]:
        repo = repo.rsplit(":", 1)[0]
    hashes = tuple(str(d.get("md5", "")) for d in record.data.values())
    return Release(
        model=record.model,
        version=record.version,
        image=repo,
        digest=str(pushed[-1]["digest"]) if pushed else None,
        artifact_sha256=str(record.artifact.get("sha256", "")),
        data_hashes=hashes,
        record_commit=str(record.git.get("commit", "")),
        **overrides,
    )
