"""`mlops test MODEL --image REF`: the model's declared tests, run through a container.

The image is started on a free 127.0.0.1 port (images.container), and every check goes
through its `POST /predict`, so what is tested is what will be deployed: the pinned
wheels, the runtime, the model file baked into the last layer.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops_cli.common.errors import InputError
from mlops_cli.common.progress import NullReporter, Reporter
from mlops_cli.images import dockerd
from mlops_cli.images.container import HttpPredictor, running
from mlops_cli.images.context import LABEL_PREFIX
from mlops_cli.project.root import Project

if TYPE_CHECKING:
    from mlops_cli.modeltest.run import TestReport


def test_image(
    project: Project, spec: str, ref: str, *, reporter: Reporter | None = None
) -> TestReport:
    """Run the checks declared for `spec`'s model against image `ref`; always removes it."""
    from mlops_cli.modeltest.run import run_checks
    from mlops_cli.registry.records import WORKSPACE, resolve

    reporter = reporter or NullReporter()
    bare = "@" not in spec and "#" not in spec
    resolved = resolve(project, f"{spec}@{WORKSPACE}" if bare else spec)
    client = dockerd.connect()
    labels = dict(dockerd.require_image(client, ref, what="image").labels or {})
    carried = labels.get(f"{LABEL_PREFIX}model")
    if carried != resolved.name:
        raise InputError(
            f"{ref} serves model {carried or '(none: not built by mlops)'}, not {resolved.name}",
            hint=f"build it with `mlops image build {spec}`",
        )
    carried_sha = labels.get(f"{LABEL_PREFIX}artifact.sha256")
    expected = _expected_sha(resolved)
    if expected is not None and carried_sha != expected:
        # Results would be reported (and recorded) for a model that is not the one named.
        raise InputError(
            f"{ref} carries model file sha256 {str(carried_sha)[:12]}, not the"
            f" {expected[:12]} of {spec}",
            hint=f"build the image of {spec} (`mlops image build {spec}`) and test that",
        )
    artifact = {
        "path": project.config.models[resolved.name].path,
        "sha256": labels.get(f"{LABEL_PREFIX}artifact.sha256"),
        "bytes": int(labels.get(f"{LABEL_PREFIX}artifact.bytes") or 0) or None,
        "image": ref,
    }
    with running(ref, reporter=reporter, client=client) as served:
        report = run_checks(
            project,
            resolved.name,
            HttpPredictor(served.url),
            artifact=artifact,
            version=resolved.version,
            target=f"{ref} ({served.network} network)",
            reporter=reporter,
        )
    return report


def _expected_sha(resolved: Any) -> str | None:
    if resolved.record is not None:
        return str(resolved.record.artifact.get("sha256") or "") or None
    path = Path(resolved.artifact)
    if not path.is_file():
        return None
    from mlops_cli.runtime.model import sha256_file

    return sha256_file(path)
