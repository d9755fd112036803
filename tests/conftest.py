"""Isolation for every test: a temp HOME, plain output, a git identity, no analytics.

Modelled on pre-commit's and hatch's fixtures: a test that writes into the real home
directory fails.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

REAL_HOME = Path(os.path.expanduser("~"))

# Property tests draw the same examples on every run unless asked to explore
# (tests/fuzz/__init__.py); the profile and what it means are printed in pytest's header.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.register_profile("explore", derandomize=False, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_report_header() -> str:
    profile = os.environ.get("HYPOTHESIS_PROFILE", "ci")
    how = (
        "derandomized: each property test's seed derives from its name"
        if settings.default.derandomize
        else "random seeds: pytest prints --hypothesis-seed to reproduce a run"
    )
    return f"mlops hypothesis profile: {profile} ({how})"


# Fixtures for real services (sshd, Docker, registries) live one module each in
# tests/plugins/, so each capability brings its own without touching this file.
pytest_plugins = sorted(
    f"tests.plugins.{p.stem}"
    for p in (Path(__file__).parent / "plugins").glob("*.py")
    if p.stem != "__init__"
)
REPO_ROOT = Path(__file__).resolve().parents[1]


def _home_snapshot() -> set[str]:
    names: set[str] = set()
    for sub in ("", ".cache", ".config", ".local/state"):
        folder = REAL_HOME / sub
        if folder.is_dir():
            names.update(f"{sub}/{n}" for n in os.listdir(folder))
    return names


@pytest.fixture(scope="session", autouse=True)
def session_xdg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Module and session fixtures run before `isolated_env`: point the XDG folders mlops
    writes (caches, state, config) at a session folder for them too, so a module fixture
    that registers in-process cannot create ~/.cache/mlops while another worker's test is
    checking that nothing did (a flake seen under xdist)."""
    base = tmp_path_factory.mktemp("session-xdg")
    names = {
        "XDG_CACHE_HOME": ".cache",
        "XDG_CONFIG_HOME": ".config",
        "XDG_STATE_HOME": ".local/state",
    }
    saved = {key: os.environ.get(key) for key in names}
    os.environ.update({key: str(base / sub) for key, sub in names.items()})
    yield base
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(autouse=True)
def isolated_env(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("home")
    gitconfig = home / ".gitconfig"
    gitconfig.write_text("[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n")
    env = {
        "HOME": str(home),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_STATE_HOME": str(home / ".local/state"),
        "XDG_DATA_HOME": str(home / ".local/share"),
        "NO_COLOR": "1",
        "COLUMNS": "80",
        "TERM": "dumb",
        "GIT_AUTHOR_NAME": "Test Author",
        "GIT_AUTHOR_EMAIL": "author@example.com",
        "GIT_COMMITTER_NAME": "Test Author",
        "GIT_COMMITTER_EMAIL": "author@example.com",
        "GIT_CONFIG_GLOBAL": str(gitconfig),
        "GIT_CONFIG_NOSYSTEM": "1",
        "DVC_NO_ANALYTICS": "1",
        "MLOPS_LOCK_TIMEOUT": "1",
        # As in an activated venv: `dvc repro` runs `python` and `mlops` from PATH.
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("MLOPS_LOG_DIR", raising=False)
    before = _home_snapshot()
    yield home
    appeared = _home_snapshot() - before
    ours = {n for n in appeared if "mlops" in n}
    assert not ours, f"a test wrote into the real home directory: {sorted(ours)}"


@dataclass
class Run:
    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


@pytest.fixture
def cli() -> Any:
    """Run the CLI in-process (typer's CliRunner), stdout and stderr kept apart."""
    from typer.testing import CliRunner

    from mlops_cli.cli.app import app

    runner = CliRunner()

    def invoke(*args: str, input: str | None = None) -> Run:
        result = runner.invoke(app, list(args), input=input, catch_exceptions=False)
        return Run(result.exit_code, result.stdout, result.stderr)

    return invoke


def mlops_bin() -> list[str]:
    """The installed entry point when there is one beside this interpreter."""
    candidate = Path(sys.executable).with_name("mlops")
    return [str(candidate)] if candidate.exists() else [sys.executable, "-m", "mlops_cli"]


@pytest.fixture
def mlops() -> Any:
    """Run `mlops` as a real subprocess, the way a user or a hook does."""

    def run(*args: str, cwd: Path | None = None, timeout: float = 600, **kw: Any) -> Run:
        proc = subprocess.run(
            [*mlops_bin(), *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            **kw,
        )
        return Run(proc.returncode, proc.stdout, proc.stderr)

    return run


def tree_bytes(root: Path) -> dict[str, bytes]:
    """Every file under root with its bytes, to prove nothing changed."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def have(tool: str) -> bool:
    return shutil.which(tool) is not None


# Parallel runs (pytest-xdist with `--dist loadgroup`, what `make test` uses). Tests that
# drive the one Docker engine and its registries share image refs (`churn:workspace`, a
# registry's tags), so they run in one worker, one after another. A test that uses a
# module- or class-scoped fixture runs in its module's group, so the fixture is built once,
# not once per worker. Every other test goes to whichever worker is free.
DOCKER_FIXTURES = frozenset(
    {
        "docker_services",
        "docker_client",
        "docker_env",
        "base_image",
        "registry",
        "auth_registry",
        "trained_project",
        "image_project",
    }
)


def _uses_a_shared_fixture(item: pytest.Item) -> bool:
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return False
    return any(
        fixturedef.scope in ("module", "class", "package")
        for defs in info.name2fixturedefs.values()
        for fixturedef in defs
    )


def xdist_group_of(item: pytest.Item) -> str | None:
    uses = set(getattr(item, "fixturenames", ()))
    if item.get_closest_marker("docker") is not None or uses & DOCKER_FIXTURES:
        return "docker"
    if _uses_a_shared_fixture(item):
        return item.nodeid.split("::", 1)[0]
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # tryfirst: xdist's worker reads the `xdist_group` marks in its own hook of this name
    # (turning them into `@group` node-id suffixes). That plugin registers after this
    # conftest, so without tryfirst it runs first, sees no marks, and every group scatters.
    for item in items:
        group = xdist_group_of(item)
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """In CI (MLOPS_REQUIRE_ALL=1) a skipped test is a failed run: its service was missing."""
    if os.environ.get("MLOPS_REQUIRE_ALL") != "1":
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    # The one exemption: a `realrepo` test without the public repository's local mirror
    # (a fresh machine; .ci/run sets MLOPS_REAL_REPO whenever the mirror is there).
    skipped = [r for r in skipped if "realrepo" not in getattr(r, "keywords", {})]
    if skipped:
        if reporter:
            reporter.write_line(
                f"MLOPS_REQUIRE_ALL=1: {len(skipped)} test(s) skipped; every test must run in CI",
                red=True,
            )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
