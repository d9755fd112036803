"""Every `mlops` command that the scaffolded CI workflow and hooks call exists, with
exactly the options they pass (issue 6, part 5)."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml

from mlops_cli.cli.app import app
from mlops_cli.scaffold.init import render_project
from mlops_cli.scaffold.templates import list_templates, resolve_answers
from tests.conftest import REPO_ROOT


def mlops_calls(text: str) -> list[str]:
    """Every `mlops ...` command line in a run block or hook entry."""
    calls = []
    for line in text.splitlines():
        for match in re.finditer(r"(?:^|[;&|(]\s*|\s)(mlops\s[^;&|)\n]+)", line):
            calls.append(match.group(1).strip())
    return calls


def parse(call: str) -> None:
    """Parse the call with the real CLI: an unknown command or option raises."""
    words = shlex.split(call.replace("$(", "").replace("$ref", "REF"))[1:]
    if ">" in words:  # a shell redirection ends the command's own words
        words = words[: words.index(">")]
    command: Any = typer.main.get_command(app)
    ctx = command.make_context("mlops", [], resilient_parsing=True)
    while words and hasattr(command, "get_command"):
        sub = command.get_command(ctx, words[0])
        assert sub is not None, f"{call!r}: no command {words[0]!r}"
        command, words = sub, words[1:]
        ctx = command.make_context(command.name, [], parent=ctx, resilient_parsing=True)
    command.make_context(command.name, list(words), parent=ctx.parent)


def scaffolded_files() -> dict[str, str]:
    tpl = next(t for t in list_templates() if t.name == "sklearn-classifier")
    answers = resolve_answers(tpl, {}, dest_name="churn")
    return {f.rel: f.content.decode() for f in render_project(tpl, answers)}


def workflow_and_hook_calls() -> list[tuple[str, str]]:
    files = scaffolded_files()
    found = []
    workflow = yaml.safe_load(files[".github/workflows/mlops.yml"])
    for job in workflow["jobs"].values():
        for step in job["steps"]:
            found += [
                (f"workflow: {step.get('name')}", c) for c in mlops_calls(step.get("run", ""))
            ]
    for source in (
        files[".pre-commit-config.yaml"],
        (REPO_ROOT / ".pre-commit-hooks.yaml").read_text(),
    ):
        doc = yaml.safe_load(source)
        hooks = doc if isinstance(doc, list) else [h for r in doc["repos"] for h in r["hooks"]]
        found += [(f"hook: {h['id']}", h["entry"]) for h in hooks if h["entry"].startswith("mlops")]
    return found


CALLS = workflow_and_hook_calls()


def test_the_workflow_runs_the_checks_with_junit_reports() -> None:
    names = " ".join(c for _, c in CALLS)
    for needed in (
        "mlops validate",
        "mlops test",
        "mlops image build",
        "mlops image push",
        "--junit",
        "mlops config check",
    ):
        assert needed in names, needed
    assert len(CALLS) >= 10


@pytest.mark.parametrize(("where", "call"), CALLS, ids=[w for w, _ in CALLS])
def test_every_call_parses(where: str, call: str) -> None:
    parse(call)


def test_a_wrong_option_would_be_caught() -> None:
    with pytest.raises(Exception, match="No such option"):
        parse("mlops validate --no-such-option")


def test_the_image_job_pushes_the_record_commit_back(tmp_path: Path) -> None:
    """`mlops image push` records the digest as a commit. On a CI runner (no git identity,
    a checkout that someone else's merge may have overtaken) the job must be able to make
    that commit and push it back, or the record is lost with the runner. The job's own
    shell steps, run with real git against a real origin that moved meanwhile."""
    job = yaml.safe_load(scaffolded_files()[".github/workflows/mlops.yml"])["jobs"]["image"]
    assert job["permissions"]["contents"] == "write"
    assert job["concurrency"] == {
        "group": "mlops-image-${{ github.ref }}",
        "cancel-in-progress": False,
    }
    steps = {s.get("name"): s.get("run", "") for s in job["steps"]}
    order = list(steps)
    identity, push, keep = (
        "Git identity for the record commit",
        "Push it (the digest is recorded in the version record)",
        "Keep the record",
    )
    assert order.index(identity) < order.index(push) < order.index(keep)
    assert 'mlops image push "churn#prod"' in steps[push]

    home = tmp_path / "home"
    home.mkdir()
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),  # no ~/.gitconfig: no identity, as on a runner
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z",
    }
    author = {**env, "GIT_AUTHOR_NAME": "dev", "GIT_AUTHOR_EMAIL": "dev@example.com"}
    author |= {"GIT_COMMITTER_NAME": "dev", "GIT_COMMITTER_EMAIL": "dev@example.com"}

    def git(cwd: Path, *args: str, e: dict[str, str] = author) -> str:
        return subprocess.run(
            ["git", *args], cwd=cwd, env=e, check=True, capture_output=True, text=True
        ).stdout

    origin, runner, other = tmp_path / "origin.git", tmp_path / "runner", tmp_path / "other"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
    git(tmp_path, "clone", "-q", str(origin), str(other))
    git(other, "commit", "-q", "--allow-empty", "-m", "first")
    git(other, "push", "-q", "origin", "HEAD:main")
    git(tmp_path, "clone", "-q", str(origin), str(runner))
    git(other, "commit", "-q", "--allow-empty", "-m", "merged meanwhile")
    git(other, "push", "-q", "origin", "HEAD:main")

    def run_step(script: str) -> None:
        script = script.replace("${{ github.ref_name }}", "main")
        proc = subprocess.run(["bash", "-e", "-c", script], cwd=runner, env=env, text=True,
                              capture_output=True)  # fmt: skip
        assert proc.returncode == 0, proc.stderr

    with pytest.raises(subprocess.CalledProcessError):  # the runner as it starts: no identity
        git(runner, "commit", "--allow-empty", "-m", "x", e=env)
    run_step(steps[identity])
    git(runner, "commit", "-q", "--allow-empty", "-m", "mlops: record image", e=env)
    run_step(steps[keep])
    log = git(origin, "log", "--format=%s", "main")
    assert log.splitlines() == ["mlops: record image", "merged meanwhile", "first"]
