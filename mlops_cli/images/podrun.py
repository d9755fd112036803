"""`mlops deploy check`, its running half: a Deployment's container under Docker, with the
constraints the manifest declares, until its own readiness probe passes and /predict answers.

It reads the manifest as a plain dict (images/ does not import deploy/): the image by the
digest it pins, pulled from its registry; `securityContext` as `--user uid:gid`,
`--read-only`, `--cap-drop`, `--security-opt no-new-privileges`; every emptyDir mount as a
tmpfs; the declared env; host networking on loopback (MLOPS_HOST=127.0.0.1). The declared
port is used unless it is taken on this host, where a pod's own network namespace would
not collide: then a free one, passed as MLOPS_PORT (the runtime's setting). The container
is always removed.
"""

from __future__ import annotations

import contextlib
import json
import socket
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mlops_cli.common.errors import CheckFailed, InputError
from mlops_cli.common.progress import NullReporter, Reporter
from mlops_cli.images import dockerd
from mlops_cli.images.container import CONTAINER_LABEL, free_port

if TYPE_CHECKING:
    from mlops_cli.project.root import Project

SAMPLE_ROWS = 3
LOG_LINES = 20


@dataclass
class RunCheck:
    image: str  # repository@sha256:... as the manifest pins it
    user: str = ""  # uid:gid
    port: int = 0  # the host port it listened on
    declared_port: int = 0
    docker_args: list[str] = field(default_factory=list)  # the `docker run` equivalent
    ready_seconds: float | None = None
    budget_seconds: float = 0.0
    predictions: int = 0
    problems: list[str] = field(default_factory=list)
    logs: list[str] = field(default_factory=list)  # the container's last lines, on failure

    @property
    def passed(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class Plan:
    """What the manifest declares, as docker run arguments."""

    image: str
    user: str
    read_only: bool
    cap_drop: list[str]
    cap_add: list[str]
    no_new_privileges: bool
    tmpfs: dict[str, str]
    env: dict[str, str]
    port: int
    probe_path: str
    budget: float
    model: str
    version: str
    non_root: bool = False  # runAsNonRoot: the kubelet refuses to start uid 0

    def docker_args(self, port: int) -> list[str]:
        args = ["--network", "host", "--user", self.user]
        args += ["--read-only"] if self.read_only else []
        args += [f"--cap-drop={c}" for c in self.cap_drop]
        args += [f"--cap-add={c}" for c in self.cap_add]
        args += ["--security-opt", "no-new-privileges"] if self.no_new_privileges else []
        args += [f"--tmpfs={p}:{o}" for p, o in sorted(self.tmpfs.items())]
        args += [f"--env={k}={v}" for k, v in sorted(self.env_for(port).items())]
        return [*args, self.image]

    def env_for(self, port: int) -> dict[str, str]:
        env = {**self.env, "MLOPS_HOST": "127.0.0.1"}
        if port != self.port:
            env["MLOPS_PORT"] = str(port)
        return env


def _deployment(objects: list[dict[str, Any]]) -> dict[str, Any]:
    found = [o for o in objects if o.get("kind") == "Deployment"]
    if not found:
        raise InputError("the manifests hold no Deployment: nothing to run")
    return found[0]


def _port_of(container: dict[str, Any], port: Any) -> int:
    if isinstance(port, int):
        return port
    for entry in container.get("ports") or []:
        if entry.get("name") == port:
            return int(entry["containerPort"])
    raise InputError(f"the probe names port {port!r}, which the container does not declare")


def plan_of(objects: list[dict[str, Any]], image_user: str = "") -> Plan:
    """The run plan of the first container of the objects' Deployment."""
    dep = _deployment(objects)
    pod = dep["spec"]["template"]["spec"]
    container = pod["containers"][0]
    image = str(container["image"])
    if "@sha256:" not in image:
        raise InputError(f"{image} is not pinned by digest; mlops deploy check runs digests only")
    sc = {**(pod.get("securityContext") or {}), **(container.get("securityContext") or {})}
    uid = sc.get("runAsUser")
    if uid is None:
        uid = image_user.split(":", 1)[0] or "0"
    gid = sc.get("runAsGroup")
    if gid is None:  # the runtime's choice: the image's group for its own user, else root
        owner, _, group = image_user.partition(":")
        gid = group if group and owner == str(uid) else 0
    caps = sc.get("capabilities") or {}
    volumes = {v["name"]: v for v in pod.get("volumes") or []}
    tmpfs = {}
    for mount in container.get("volumeMounts") or []:
        volume = volumes.get(mount["name"]) or {}
        if "emptyDir" in volume:
            limit = (volume["emptyDir"] or {}).get("sizeLimit")
            tmpfs[mount["mountPath"]] = "rw,exec,nosuid,nodev" + (f",size={limit}" if limit else "")
    env = {}
    for entry in container.get("env") or []:
        if "value" not in entry:
            raise InputError(f"env {entry.get('name')} comes from valueFrom, which needs a cluster")
        env[str(entry["name"])] = str(entry["value"])
    ports = container.get("ports") or []
    declared = int(ports[0]["containerPort"]) if ports else 8080
    ready = container.get("readinessProbe") or {}
    get = ready.get("httpGet") or {}
    startup = container.get("startupProbe") or ready
    budget = int(startup.get("initialDelaySeconds", 0)) + int(
        startup.get("periodSeconds", 10)
    ) * int(startup.get("failureThreshold", 3))
    annotations = (dep.get("metadata") or {}).get("annotations") or {}
    return Plan(
        image=image,
        user=f"{uid}:{gid}",
        read_only=bool(sc.get("readOnlyRootFilesystem")),
        cap_drop=[str(c) for c in caps.get("drop") or []],
        cap_add=[str(c) for c in caps.get("add") or []],
        no_new_privileges=sc.get("allowPrivilegeEscalation") is False,
        tmpfs=tmpfs,
        env=env,
        port=_port_of(container, get.get("port", declared)) if get else declared,
        probe_path=str(get.get("path") or "/"),
        budget=float(budget),
        model=str(annotations.get("mlops.dev/model") or dep["metadata"]["name"]),
        version=str(annotations.get("mlops.dev/version") or ""),
        non_root=bool(sc.get("runAsNonRoot")),
    )


def sample_rows(project: Project, model: str, version: str, n: int = SAMPLE_ROWS) -> list[Any]:
    """The first rows of the version's training data (by its recorded md5), less the
    target: what /predict is asked."""
    from mlops_cli.monitor.inputs import read_reference, reference_of
    from mlops_cli.registry.records import load_record

    record = load_record(project, model, version)
    rows = read_reference(reference_of(project, record, None)).head(n).to_pandas()
    target = project.config.models[model].target if model in project.config.models else None
    if target in rows.columns:
        rows = rows.drop(columns=[target])
    # pandas' own JSON writer, as `mlops test --image` sends rows (container.HttpPredictor).
    return list(json.loads(rows.to_json(orient="records", date_format="iso")))


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def run_deployment(
    project: Project, objects: list[dict[str, Any]], *, reporter: Reporter | None = None
) -> RunCheck:
    """Pull and run the Deployment's image as declared; probe it, ask /predict."""
    import docker.errors

    reporter = reporter or NullReporter()
    client = dockerd.connect()
    plan = plan_of(objects)
    result = RunCheck(plan.image, declared_port=plan.port, budget_seconds=plan.budget)
    reporter.step(f"pulling {plan.image}")
    try:
        image = client.images.pull(plan.image)
    except docker.errors.DockerException as exc:
        result.problems.append(f"cannot pull {plan.image}: {dockerd.short_error(exc)}")
        return result
    plan = plan_of(objects, str((image.attrs.get("Config") or {}).get("User") or ""))
    if plan.non_root and plan.user.split(":", 1)[0] == "0":
        result.problems.append(
            f"{plan.image} would run as uid 0 but the manifest says runAsNonRoot: the kubelet"
            " refuses to start it"
        )
        return result
    rows = sample_rows(project, plan.model, plan.version)
    port = plan.port if _port_free(plan.port) else free_port()
    result.user, result.port, result.docker_args = plan.user, port, plan.docker_args(port)
    container = None
    try:
        reporter.step(f"docker run {' '.join(result.docker_args)}")
        try:
            container = client.containers.run(
                plan.image,
                detach=True,
                name=f"mlops-check-{uuid.uuid4().hex[:12]}",
                labels={CONTAINER_LABEL: "1"},
                network_mode="host",
                user=plan.user,
                read_only=plan.read_only,
                cap_drop=plan.cap_drop or None,
                cap_add=plan.cap_add or None,
                security_opt=["no-new-privileges"] if plan.no_new_privileges else None,
                tmpfs=plan.tmpfs or None,
                environment=plan.env_for(port),
            )
        except docker.errors.APIError as exc:
            result.problems.append(f"cannot start {plan.image}: {dockerd.short_error(exc)}")
            return result
        url = f"http://127.0.0.1:{port}"
        try:
            result.ready_seconds = _wait_ready(container, f"{url}{plan.probe_path}", plan.budget)
            reporter.step(f"ready after {result.ready_seconds:.1f} s; POST /predict")
            result.predictions = _predict(url, rows)
        except CheckFailed as exc:
            result.problems.append(exc.message)
            result.logs = _tail(container)
    finally:
        if container is not None:
            with contextlib.suppress(docker.errors.DockerException):
                container.remove(force=True)
    return result


def _tail(container: Any) -> list[str]:
    import docker.errors

    try:
        text = container.logs(tail=LOG_LINES).decode("utf-8", "replace")
    except docker.errors.DockerException:
        return []
    return [str(line) for line in text.strip().splitlines()]


def _wait_ready(container: Any, url: str, budget: float) -> float:
    """Seconds until `url` answers 200-399 (the kubelet's success), within `budget`."""
    started = time.monotonic()
    while True:
        with contextlib.suppress(OSError, ValueError), urllib.request.urlopen(url, timeout=2) as r:
            if 200 <= r.status < 400:
                return time.monotonic() - started
        container.reload()
        if container.status in ("exited", "dead"):
            code = container.attrs.get("State", {}).get("ExitCode")
            raise CheckFailed(f"the container exited (code {code}) before {url} was ready")
        if time.monotonic() - started > budget:
            raise CheckFailed(f"{url} was not ready within the startup budget of {budget:.0f} s")
        time.sleep(0.25)


def _predict(url: str, rows: list[Any]) -> int:
    from mlops_cli.images.container import post_json

    body = post_json(f"{url}/predict", rows, timeout=30)
    predictions = body.get("predictions")
    if not isinstance(predictions, list) or len(predictions) != len(rows):
        raise CheckFailed(
            f"{url}/predict answered {len(rows)} row(s) with"
            f" {json.dumps(body)[:200]}, not one prediction per row"
        )
    return len(predictions)
