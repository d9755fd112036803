"""`mlops image build|push|inspect`: model images through the Docker SDK.

build: resolve the model (refused before anything is built when unsafe), resolve wheels on
the host, assemble an explicit context, build with the network off, tag
`<registry>/<name>:<version>` and `:<git-sha>`.
push: credentials from $MLOPS_REGISTRY_USERNAME/$MLOPS_REGISTRY_PASSWORD or the Docker
config (auths, credsStore, credHelpers); the pushed digest goes into the version record.
No credential is ever printed, logged or written: errors are built from the registry's
message, which never contains the password, and scrubbed of it anyway.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from mlops_cli.common.errors import CheckFailed, InputError, UsageError
from mlops_cli.common.progress import Reporter
from mlops_cli.images import dockerd
from mlops_cli.images.auth import Credentials, resolve_credentials
from mlops_cli.images.bundle import Bundle, prepare_bundle
from mlops_cli.images.context import (
    assemble,
    is_digest_pinned,
    labels,
    render_dockerfile,
)
from mlops_cli.project.root import Project

LOG_TAIL = 20


@dataclass(frozen=True)
class ImageRefs:
    repository: str  # "localhost:5000/churn", or "churn" without a registry
    tags: list[str]  # ["v0.2.0", "3f2c1a9b0d4e"]

    @property
    def refs(self) -> list[str]:
        return [f"{self.repository}:{tag}" for tag in self.tags]


@dataclass(frozen=True)
class Plan:
    bundle: Bundle
    refs: ImageRefs
    base: str
    port: int
    labels: dict[str, str]
    dockerfile: str


@dataclass(frozen=True)
class BuildResult:
    model: str
    version: str | None
    image_id: str
    refs: list[str]
    base: str
    size: int
    steps: int
    cached_steps: int
    seconds: float
    wheels_cached: bool
    wheel_bytes: int
    context_files: list[str]


@dataclass(frozen=True)
class PushResult:
    ref: str
    digest: str
    size: int | None
    credentials: str  # where they came from: "environment", "docker config", "none"
    pushed_layers: list[str] = field(default_factory=list)
    existing_layers: list[str] = field(default_factory=list)
    recorded: bool = False


def image_refs(project: Project, bundle: Bundle, registry: str | None) -> ImageRefs:
    cfg = project.config.image
    name = (cfg.name or bundle.model).lower()
    registry = (registry if registry is not None else cfg.registry) or ""
    repository = f"{registry.rstrip('/')}/{name}" if registry else name
    tags = [bundle.version or "workspace"]
    if bundle.commit:
        tags.append(bundle.commit[:12])
    return ImageRefs(repository, tags)


def plan(
    project: Project,
    spec: str,
    *,
    registry: str | None = None,
    trust: bool = False,
    warn_unpinned: bool = True,
    reporter: Reporter,
) -> Plan:
    """Everything decided before Docker is involved: the model, refs, labels, Dockerfile."""
    bundle = prepare_bundle(project, spec, trust=trust, reporter=reporter)
    cfg = project.config.image
    if warn_unpinned and not is_digest_pinned(cfg.base):
        reporter.warn(
            f"base image {cfg.base} is not pinned by digest; pin it (image.base:"
            f" {cfg.base.split('@')[0]}@sha256:...) so every build starts from the same bytes"
        )
    image_labels = labels(project, bundle, cfg.base)
    dockerfile = render_dockerfile(
        project, bundle, base=cfg.base, port=cfg.port, image_labels=image_labels
    )
    return Plan(
        bundle, image_refs(project, bundle, registry), cfg.base, cfg.port, image_labels, dockerfile
    )


def build(
    project: Project,
    spec: str,
    *,
    registry: str | None = None,
    trust: bool = False,
    no_cache: bool = False,
    reporter: Reporter,
) -> BuildResult:
    """Build the image of `spec`; CheckFailed (exit 1) with the log's tail when it fails."""
    from mlops_cli.images.wheels import resolve_wheels

    started = time.monotonic()
    the_plan = plan(project, spec, registry=registry, trust=trust, reporter=reporter)
    client = dockerd.connect()
    base = dockerd.require_image(client, the_plan.base)
    platform = dockerd.probe_platform(client, base)
    if the_plan.bundle.python and not the_plan.bundle.python.startswith(platform.python):
        reporter.warn(
            f"the model was trained with Python {the_plan.bundle.python}, the base image has"
            f" {platform.python}; wheels are resolved for {platform.python}"
        )
    reporter.step(f"wheels for python {platform.python} on {platform.machine}")
    wheelhouse = resolve_wheels(the_plan.bundle.pins, platform)
    reporter.detail(f"wheelhouse {wheelhouse.folder} ({len(wheelhouse.wheels)} wheels)")
    code_dir = tempfile.mkdtemp(prefix="mlops-code-wheel-")
    try:
        code_wheel = _project_code_wheel(project, the_plan.bundle, wheelhouse, code_dir, reporter)
        context = assemble(the_plan.bundle, wheelhouse, the_plan.dockerfile, code_wheel)
        try:
            image_id, steps, cached = _run_build(client, context, the_plan, no_cache, reporter)
        finally:
            shutil.rmtree(context.folder, ignore_errors=True)
    finally:
        shutil.rmtree(code_dir, ignore_errors=True)
    for ref in the_plan.refs.refs:
        repository, tag = ref.rsplit(":", 1)
        client.api.tag(image_id, repository, tag)
    image = client.images.get(image_id)
    return BuildResult(
        model=the_plan.bundle.model,
        version=the_plan.bundle.version,
        image_id=image_id,
        refs=the_plan.refs.refs,
        base=the_plan.base,
        size=int(image.attrs.get("Size") or 0),
        steps=steps,
        cached_steps=cached,
        seconds=round(time.monotonic() - started, 3),
        wheels_cached=wheelhouse.cached,
        wheel_bytes=sum(w.stat().st_size for w in wheelhouse.wheels),
        context_files=context.files,
    )


def _project_code_wheel(
    project: Project, bundle: Bundle, wheelhouse: Any, dest: str, reporter: Reporter
) -> Any:
    """The project's code as a wheel (None when `code:` is not declared), after proving
    that every module the model references will be in the image (exit 3 naming it)."""
    from pathlib import Path

    from mlops_cli.project import code as projectcode

    code = projectcode.find(project)
    available = projectcode.wheel_modules(wheelhouse.wheels) | {"mlops_cli"}
    if code is not None:
        available |= set(code.packages)
    missing = projectcode.missing_modules(bundle.referenced, available)
    if missing:
        used = [t for t in bundle.referenced if t.split(".", 1)[0] in missing]
        local = [
            m for m in missing if (project.root / m).is_dir() or (project.root / "src" / m).is_dir()
        ]
        hint = (
            f"declare the project's code in mlops.yaml (code: {{path: {local[0]}}})"
            if local and code is None
            else "add the package to the model's environment record, or retrain without it"
        )
        raise InputError(
            f"the image would not contain module {', '.join(missing)}, which the model"
            f" {bundle.model} references ({', '.join(used[:4])}); nothing was built",
            hint=hint,
        )
    if code is None:
        return None
    reporter.step(f"building the project's code {code.path} into a wheel")
    return projectcode.build_wheel(project, code, Path(dest))


def _run_build(
    client: Any, context: Any, the_plan: Plan, no_cache: bool, reporter: Reporter
) -> tuple[str, int, int]:
    import docker.errors

    log: deque[str] = deque(maxlen=LOG_TAIL)
    image_id: str | None = None
    steps = cached = 0
    reporter.step(f"building {the_plan.refs.refs[0]} from {the_plan.base}")
    with tempfile.TemporaryFile() as tar:
        context.tar(tar)
        tar.seek(0)
        try:
            stream = client.api.build(
                fileobj=tar,
                custom_context=True,
                tag=the_plan.refs.refs[0],
                rm=True,
                forcerm=True,
                pull=False,
                nocache=no_cache,
                network_mode="none",  # hermetic: every input is in the context
                decode=True,
            )
            for chunk in stream:
                if "error" in chunk:
                    log.append(str(chunk["error"]).rstrip())
                    raise CheckFailed(
                        f"image build failed: {str(chunk['error']).strip()}\n"
                        "last lines of the build log:\n  " + "\n  ".join(log),
                        hint="fix the Dockerfile or the model's environment, then build again",
                    )
                if aux := chunk.get("aux"):
                    image_id = aux.get("ID", image_id)
                text = str(chunk.get("stream", "")).rstrip()
                if not text:
                    continue
                log.extend(line for line in text.splitlines() if line.strip())
                if text.startswith("Step "):
                    steps += 1
                    reporter.step(text)
                elif "Using cache" in text:
                    cached += 1
                    reporter.detail("cached")
                else:
                    for line in text.splitlines():
                        if line.strip():
                            reporter.detail(line)
        except docker.errors.APIError as exc:
            raise CheckFailed(
                f"image build failed: {dockerd.short_error(exc)}\n"
                "last lines of the build log:\n  " + "\n  ".join(log or ["(none)"])
            ) from None
    if image_id is None:
        raise CheckFailed("the build ended without an image id; last lines:\n  " + "\n  ".join(log))
    return image_id, steps, cached


def push(
    project: Project,
    spec: str,
    *,
    registry: str | None = None,
    trust: bool = False,
    record: bool = True,
    reporter: Reporter,
) -> list[PushResult]:
    """Push the image built for `spec` (every tag); record the digest in its version record."""
    the_plan = plan(
        project, spec, registry=registry, trust=trust, warn_unpinned=False, reporter=reporter
    )
    if "/" not in the_plan.refs.repository:
        raise UsageError(
            f"no registry for {the_plan.refs.repository}: set image.registry in mlops.yaml"
            " or pass --registry HOST[:PORT][/PATH]"
        )
    client = dockerd.connect()
    results = [push_ref(client, ref, reporter=reporter) for ref in the_plan.refs.refs]
    version = the_plan.bundle.version
    if record and version is not None:
        from mlops_cli.registry.records import add_images

        add_images(
            project,
            the_plan.bundle.model,
            version,
            [{"ref": r.ref, "digest": r.digest, "pushed": True} for r in results],
        )
        results = [
            PushResult(**{**r.__dict__, "recorded": True})  # frozen: rebuilt, not mutated
            for r in results
        ]
    elif version is None:
        reporter.warn("a workspace model has no version record: the digest is not recorded")
    return results


def push_ref(client: Any, ref: str, *, reporter: Reporter) -> PushResult:
    """Push one local tag; InputError (exit 3) on missing image or refused credentials."""
    import docker.errors

    dockerd.require_image(client, ref, what="image")
    repository, tag = ref.rsplit(":", 1)
    host = repository.split("/", 1)[0]
    creds = resolve_credentials(host)
    reporter.step(f"pushing {ref} (credentials: {creds.source})")
    digest: str | None = None
    size: int | None = None
    pushed: list[str] = []
    existing: list[str] = []
    progress = getattr(reporter, "layer", None)
    try:
        stream = client.api.push(
            repository, tag=tag, stream=True, decode=True, auth_config=creds.auth_config
        )
        for chunk in stream:
            if "error" in chunk:
                raise _push_error(ref, str(chunk["error"]), creds)
            if aux := chunk.get("aux"):
                digest, size = aux.get("Digest", digest), aux.get("Size", size)
                continue
            layer, status = chunk.get("id"), str(chunk.get("status", ""))
            if not layer:
                reporter.detail(creds.scrub(status))
                continue
            if status == "Pushed":
                pushed.append(layer)
            elif status == "Layer already exists":
                existing.append(layer)
            if progress is not None:
                detail = chunk.get("progressDetail") or {}
                progress(layer, status, detail.get("current"), detail.get("total"))
    except docker.errors.APIError as exc:
        raise _push_error(ref, dockerd.short_error(exc), creds) from None
    if digest is None:
        raise InputError(f"push of {ref} ended without a digest from the registry")
    return PushResult(ref, digest, size, creds.source, pushed, existing)


def _push_error(ref: str, message: str, creds: Credentials) -> InputError:
    text = creds.scrub(" ".join(message.split()))
    lowered = text.lower()
    if any(
        w in lowered for w in ("unauthorized", "authentication required", "denied", "no basic auth")
    ):
        return InputError(
            f"the registry refused the credentials for {ref} ({creds.source}): {text}",
            hint="set MLOPS_REGISTRY_USERNAME and MLOPS_REGISTRY_PASSWORD, or `docker login"
            f" {ref.split('/', 1)[0]}`",
        )
    return InputError(f"push of {ref} failed: {text}")


def inspect(ref: str) -> dict[str, Any]:
    """Lineage of a local image, read back from its labels."""
    from mlops_cli.images.context import LABEL_PREFIX, OCI

    client = dockerd.connect()
    image = dockerd.require_image(client, ref, what="image")
    found = dict(image.labels or {})
    if f"{LABEL_PREFIX}model" not in found:
        raise InputError(f"{ref} has no mlops labels: it was not built by `mlops image build`")
    data = {
        k.removeprefix(f"{LABEL_PREFIX}data.").removesuffix(".md5"): v
        for k, v in found.items()
        if k.startswith(f"{LABEL_PREFIX}data.")
    }
    return {
        "ref": ref,
        "id": image.id,
        "tags": list(image.tags),
        "repo_digests": list(image.attrs.get("RepoDigests") or []),
        "size": image.attrs.get("Size"),
        "model": found.get(f"{LABEL_PREFIX}model"),
        "version": found.get(f"{LABEL_PREFIX}version") or None,
        "revision": found.get(f"{OCI}revision"),
        "created": found.get(f"{OCI}created"),
        "source": found.get(f"{OCI}source"),
        "base": found.get(f"{OCI}base.name"),
        "artifact": {
            "sha256": found.get(f"{LABEL_PREFIX}artifact.sha256"),
            "format": found.get(f"{LABEL_PREFIX}artifact.format"),
        },
        "data": data,
        "labels": found,
    }
