"""`mlops doctor`: is this machine and project ready for every mlops command?

Each check says what it found and, when something is wrong, the fix. A `required` check that
fails makes the command exit 3; an optional one (Docker, a registry, a DVC remote: only some
commands need them) is a warning.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Literal

from mlops_cli.common.errors import MlopsError
from mlops_cli.gitio import repo as gitrepo
from mlops_cli.project.root import Project, find_root, load_config

Status = Literal["ok", "warn", "fail"]


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str
    fix: str = ""
    required: bool = False


def run_checks(cwd: Path) -> list[Check]:
    checks = [_python(), _git(), _git_identity(cwd), _dvc()]
    project = _project(cwd, checks)
    checks.append(_docker())
    if project is not None:
        checks.append(_dvc_remote(project))
        checks.append(_registry(project))
        checks.extend(_model_environments(project))
    return checks


def _python() -> Check:
    version = ".".join(map(str, sys.version_info[:3]))
    ok = sys.version_info >= (3, 11)
    return Check(
        "python",
        "ok" if ok else "fail",
        f"Python {version} at {sys.executable}",
        "" if ok else "mlops needs Python 3.11 or newer",
        required=True,
    )


def _git() -> Check:
    if shutil.which("git") is None:
        return Check("git", "fail", "git is not on PATH", "install git", required=True)
    return Check("git", "ok", gitrepo.version(), required=True)


def _git_identity(cwd: Path) -> Check:
    if shutil.which("git") is None:
        return Check(
            "git identity", "fail", "not known: git is not on PATH", "install git", required=True
        )
    missing = []
    for key, env in (("user.name", "GIT_AUTHOR_NAME"), ("user.email", "GIT_AUTHOR_EMAIL")):
        if os.environ.get(env):
            continue
        if gitrepo.config_get(cwd, key) is None:
            missing.append(key)
    if missing:
        return Check(
            "git identity",
            "fail",
            f"git {' and '.join(missing)} not set: commits (init, model register) will fail",
            " && ".join(f'git config --global {k} "..."' for k in missing),
            required=True,
        )
    return Check("git identity", "ok", "user.name and user.email set", required=True)


def _dvc() -> Check:
    try:
        version = metadata.version("dvc")
    except metadata.PackageNotFoundError:
        return Check("dvc", "fail", "dvc is not installed", "pip install dvc", required=True)
    return Check("dvc", "ok", f"DVC {version}", required=True)


def _project(cwd: Path, checks: list[Check]) -> Project | None:
    try:
        root = find_root(cwd)
    except MlopsError:
        checks.append(Check("project", "warn", f"no mlops.yaml in {cwd} or above", "mlops init"))
        return None
    try:
        project = Project(root=root, config=load_config(root / "mlops.yaml"))
    except MlopsError as exc:
        checks.append(Check("project", "fail", exc.message, "fix mlops.yaml", required=True))
        return None
    checks.append(Check("project", "ok", f"{project.config.project} at {root}", required=True))
    return project


def _docker() -> Check:
    where = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    try:
        from mlops_cli.images.dockerd import connect

        client = connect()
        version = client.version().get("Version", "?")
    except MlopsError:
        return Check(
            "docker daemon",
            "warn",
            f"no Docker daemon answers at {where} (needed by image build/push, test --image)",
            "start dockerd, or set DOCKER_HOST to a running daemon",
        )
    return Check("docker daemon", "ok", f"Docker {version} at {where}")


def _dvc_remote(project: Project) -> Check:
    from mlops_cli.dvc.driver import remote_info

    info = remote_info(project.root, project.config.remote)
    name = info.name
    if not name:
        return Check("dvc remote", "warn", "no default DVC remote", "dvc remote add -d ...")
    url = info.url
    if not url:
        return Check("dvc remote", "fail", f"remote {name!r} has no url", f"dvc remote add {name}")
    parsed = urllib.parse.urlparse(url)
    shown = _without_password(url)
    folder = info.local_folder
    if folder is not None:
        from mlops_cli.data.sharedremote import private_remote

        private = private_remote(info)
        writable = folder.is_dir() and os.access(folder, os.W_OK)
        if private is not None:  # said on every run: a diagnosis shows the state
            missing = "" if writable else f"; {folder} does not exist or is not writable"
            return Check("dvc remote", "warn", private.problem + missing, private.fix)
        if writable:
            return Check("dvc remote", "ok", f"{name}: {folder} (local folder, writable)")
        return Check(
            "dvc remote",
            "warn",
            f"{name}: {folder} does not exist or is not writable",
            f"mkdir -p {folder}",
        )
    if parsed.hostname and parsed.scheme in ("ssh", "http", "https"):
        port = parsed.port or {"ssh": 22, "http": 80, "https": 443}[parsed.scheme]
        try:
            with socket.create_connection((parsed.hostname, port), timeout=3):
                pass
        except OSError as exc:
            return Check(
                "dvc remote",
                "warn",
                f"{name}: {shown} unreachable ({exc.strerror or exc})",
                "check the network and the remote's address",
            )
        return Check("dvc remote", "ok", f"{name}: {shown} (answers)")
    return Check("dvc remote", "ok", f"{name}: {shown} (configured; not probed)")


def _without_password(url: str) -> str:
    parsed = urllib.parse.urlparse(url)
    if parsed.password:
        netloc = f"{parsed.username}:******@{parsed.hostname}"
        netloc += f":{parsed.port}" if parsed.port else ""
        return parsed._replace(netloc=netloc).geturl()
    return url


def _registry(project: Project) -> Check:
    host = project.config.image.registry
    if not host:
        return Check("registry", "warn", "image.registry is not set in mlops.yaml", "set it")
    host = host.split("/")[0]
    try:
        from mlops_cli.images.auth import resolve_credentials

        creds = resolve_credentials(host)
    except MlopsError as exc:
        return Check("registry", "warn", f"{host}: {exc.message}", exc.hint or "")
    has = bool(creds.auth_config)
    cred_text = f"credentials from {creds.source}" if has else "no credentials (anonymous)"
    reach = _probe_registry(host)
    status: Status = "ok" if reach.startswith("answers") else "warn"
    return Check(
        "registry",
        status,
        f"{host}: {reach}; {cred_text}",
        "" if status == "ok" else f"start the registry at {host} or fix image.registry",
    )


def _probe_registry(host: str) -> str:
    for scheme in ("https", "http"):
        try:
            with urllib.request.urlopen(f"{scheme}://{host}/v2/", timeout=3) as resp:
                return f"answers over {scheme} ({resp.status})"
        except urllib.error.HTTPError as exc:
            if exc.code == 401:
                return f"answers over {scheme} (needs auth)"
            return f"answers over {scheme} ({exc.code})"
        except (urllib.error.URLError, OSError):
            continue
    return "does not answer"


def _model_environments(project: Project) -> list[Check]:
    import json

    out = []
    for name, model in project.config.models.items():
        if not model.environment:
            continue
        path = project.root / model.environment
        if not path.is_file():
            out.append(
                Check(f"env of {name}", "warn", f"{model.environment} not found", "dvc repro")
            )
            continue
        try:
            wanted = json.loads(path.read_text()).get("packages", {})
        except (OSError, ValueError) as exc:
            out.append(Check(f"env of {name}", "warn", f"{model.environment}: {exc}"))
            continue
        diffs = []
        for pkg, version in sorted(wanted.items()):
            try:
                have = metadata.version(pkg)
            except metadata.PackageNotFoundError:
                have = "missing"
            if have != version:
                diffs.append(f"{pkg} {have} (trained with {version})")
        if diffs:
            out.append(
                Check(
                    f"env of {name}",
                    "warn",
                    "differs from training: " + ", ".join(diffs),
                    "pip install " + " ".join(f"{p}=={v}" for p, v in sorted(wanted.items())),
                )
            )
        else:
            out.append(Check(f"env of {name}", "ok", "matches the training environment"))
    return out
