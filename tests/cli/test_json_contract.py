"""`--json` is one JSON document on stdout, with `schema_version`, for every command and every
outcome (issue 10, part 4; DESIGN.md §4, docs/json-output.md).

The commands come from the real typer app, so a new command with `--json` shows up here as
a case that fails until it has its outcomes in CASES. Every case runs the installed entry
point as a real process in a real project; stdout must be exactly one document
(`json.loads` of all of it, and `python -m json.tool` agreeing), the exit code the one
docs/exit-codes.md gives, and a failure's document must carry its error and exit code.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.core import TyperGroup

from mlops_cli.cli.reference import command_contexts
from tests.cli.test_reference import JSON_EXEMPT
from tests.conftest import mlops_bin
from tests.datarepo import CSV, dvc, git, new_project, write
from tests.modelproject import NAME, copy_of, trained, weak
from tests.tpl import BASIC, make_template

Setup = Callable[[Path, Any], None]


@dataclass(frozen=True)
class Case:
    args: list[str]
    code: int
    project: str = "trained"  # trained | weak | minimal | empty
    setup: Setup | None = None


def _ok(run: Any, root: Path, *args: str) -> None:
    out = run(*args, cwd=root)
    assert out.exit_code == 0, (args, out.stderr)


def _pushed(root: Path, run: Any) -> None:
    _ok(run, root, "data", "push")


def _stale_data(root: Path, run: Any) -> None:
    """The workspace's data no longer what DVC recorded."""
    path = root / "data/raw/data.csv"
    text = path.read_text()
    path.write_text(text + text.splitlines()[-1] + "\n")


def _bad_rows(root: Path, run: Any) -> None:
    """data/raw/data.csv with a column its schema does not allow."""
    path = root / "data/raw/data.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join([lines[0] + ",surprise", *(f"{ln},1" for ln in lines[1:])]) + "\n")


def _broken_config(root: Path, run: Any) -> None:
    (root / "mlops.yaml").write_text("project: demo\nmodles: {}\n")


def _registered(root: Path, run: Any) -> None:
    _ok(run, root, "model", "register", NAME, "--version", "v2.0.0")


def _digest(root: Path, run: Any, version: str = "v1.0.0") -> None:
    """What `mlops image push` records for a version: a ref and a digest."""
    from mlops_cli.project.root import open_project
    from mlops_cli.registry.records import add_images

    image = {"ref": f"127.0.0.1:5000/{NAME}:{version}", "digest": "sha256:" + version[1] * 64}
    add_images(open_project(root), NAME, version, [image])


def _two_digests(root: Path, run: Any) -> None:
    _registered(root, run)
    _digest(root, run)
    _digest(root, run, "v2.0.0")


def _replaced_in_prod(root: Path, run: Any) -> None:
    """deploy/ written, then v2.0.0 (forced) replaced v1.0.0 in prod: a rollback has a target."""
    _two_digests(root, run)
    _ok(run, root, "deploy", "init")
    _ok(run, root, "model", "promote", NAME, "v2.0.0", "prod", "--force", "--reason", "test")


def _bad_base(root: Path, run: Any) -> None:
    """deploy/ written, then a bad field committed into the base: the schema check fails."""
    _digest(root, run)
    _ok(run, root, "deploy", "init")
    path = root / f"deploy/base/{NAME}/service.yaml"
    path.write_text(path.read_text().replace("port: 80", "port: eighty"))
    git(root, "commit", "-qam", "a bad port")


def _symlinked_deploy(root: Path, run: Any) -> None:
    _digest(root, run)
    (root / "elsewhere").mkdir()
    (root / "deploy").symlink_to(root / "elsewhere")


def _registered_tested(root: Path, run: Any) -> None:
    """The weak workspace model registered as v2.0.0, its (failing) tests recorded."""
    _registered(root, run)
    out = run("test", f"{NAME}@v2.0.0", "--record", cwd=root)
    assert out.exit_code == 1, out.stderr


def _drifted_batch(root: Path, run: Any) -> None:
    """batch.csv: the raw rows with every feature scaled by 1.3 (a drifted production batch)."""
    import polars as pl

    frame = pl.read_csv(root / "data/raw/data.csv").drop("target")
    frame.with_columns([pl.col(c) * 1.3 for c in frame.columns]).write_csv(root / "batch.csv")


def _hostile_template(root: Path, run: Any) -> None:
    make_template(root / "evil", {**BASIC, "z.txt.jinja": "{{ ''.__class__.__mro__ }}"})


def _template(root: Path, run: Any) -> None:
    make_template(root / "tpl", BASIC)


def _lock_held(root: Path, run: Any) -> None:
    """Another process holds the repo lock for the whole case (exit 5)."""
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_LOCK, str(root / ".mlops" / "lock")],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline() == "held\n"
    _HOLDERS.append(holder)


_HOLD_LOCK = (
    "import fcntl, os, sys, time\n"
    "os.makedirs(os.path.dirname(sys.argv[1]), exist_ok=True)\n"
    "f = open(sys.argv[1], 'a')\n"
    "fcntl.flock(f, fcntl.LOCK_EX)\n"
    "print('held', flush=True)\n"
    "time.sleep(120)\n"
)
_HOLDERS: list[subprocess.Popen[str]] = []  # the holder uses flock, as common/fs.py does

M = f"{NAME}@v1.0.0"  # registered, tested and in prod in the `weak` project
CASES: dict[str, dict[str, Case]] = {
    "config check": {
        "success": Case(["config", "check"], 0),
        "bad input": Case(["config", "check"], 3, "empty"),
    },
    "data add": {
        "success": Case(["data", "add", "data/raw/data.csv"], 0),
        "check failed": Case(["data", "add", "data/raw/data.csv"], 1, setup=_bad_rows),
        "bad input": Case(["data", "add", "no/such.csv"], 3),
    },
    "data check-pushed": {
        "success": Case(["data", "check-pushed"], 0, "minimal", _pushed),
        "check failed": Case(["data", "check-pushed"], 1, "minimal"),
        "bad input": Case(["data", "check-pushed"], 3, "empty"),
    },
    "data diff": {
        "success": Case(["data", "diff", "raw", M, f"{NAME}#prod"], 0, "weak"),
        "bad input": Case(["data", "diff", "nope", M, f"{NAME}#prod"], 3, "weak"),
    },
    "data pull": {
        "success": Case(["data", "pull"], 0, "minimal", _pushed),
        "bad input": Case(["data", "pull", "--remote", "nope"], 3, "minimal"),
    },
    "data push": {
        "success": Case(["data", "push"], 0, "minimal"),
        "bad input": Case(["data", "push", "--remote", "nope"], 3, "minimal"),
    },
    "data status": {
        "success": Case(["data", "status"], 0, "minimal"),
        "bad input": Case(["data", "status"], 3, "empty"),
    },
    "doctor": {
        "success": Case(["doctor"], 0),
        "bad input": Case(["doctor"], 3, setup=_broken_config),
    },
    "image build": {
        "success": Case(["image", "build", NAME, "--print-dockerfile"], 0),
        "bad input": Case(["image", "build", "nope", "--print-dockerfile"], 3),
    },
    "image inspect": {
        # A daemon that cannot be reached is bad environment (exit 3) like a missing image.
        "bad input": Case(["image", "inspect", "mlops-test/no-such-image:none"], 3),
    },
    "image push": {
        "bad input": Case(["image", "push", "nope"], 3),
    },
    "init": {
        "success": Case(["init", "x", "-t", "tpl", "--dry-run"], 0, "empty", _template),
        "bad input": Case(["init", "x", "-t", "no-such-template"], 3, "empty"),
        "unsafe": Case(["init", "x", "-t", "evil"], 4, "empty", _hostile_template),
    },
    "model add": {
        "success": Case(
            [
                "model",
                "add",
                "other",
                "--path",
                "models/model.skops",
                "--data",
                "holdout",
                "--target",
                "target",
            ],
            0,
        ),
        "bad input": Case(  # the name is declared already
            ["model", "add", NAME, "--path", "models/model.skops", "--target", "target"], 3
        ),
        "busy": Case(
            ["model", "add", "other", "--path", "models/model.skops", "--target", "target"],
            5,
            setup=_lock_held,
        ),
    },
    "model card": {
        "success": Case(["model", "card", M], 0, "weak"),
        "bad input": Case(["model", "card", "nope@v1.0.0"], 3, "weak"),
    },
    "deploy check": {  # the Docker half: tests/deploy/test_check_run.py
        "success": Case(["deploy", "check", f"{NAME}#prod", "--no-run"], 0, "weak", _digest),
        "check failed": Case(["deploy", "check", f"{NAME}#prod", "--no-run"], 1, "weak", _bad_base),
        "bad input": Case(
            ["deploy", "check", f"{NAME}#prod", "--kubernetes-version", "9.9"], 3, "weak", _digest
        ),
    },
    "deploy diff": {
        "success": Case(["deploy", "diff", f"{NAME}#prod", M], 0, "weak", _digest),
        "check failed": Case(
            ["deploy", "diff", f"{NAME}#prod", f"{NAME}@v2.0.0", "--exit-code"],
            1,
            "weak",
            _two_digests,
        ),
        "bad input": Case(["deploy", "diff", f"{NAME}#prod", "nope#prod"], 3, "weak", _digest),
    },
    "deploy init": {
        "success": Case(["deploy", "init"], 0, "weak", _digest),
        "bad input": Case(["deploy", "init"], 3, "weak"),  # prod's version has no digest
        "unsafe": Case(["deploy", "init"], 4, "weak", _symlinked_deploy),
    },
    "deploy render": {
        "success": Case(["deploy", "render", f"{NAME}#prod"], 0, "weak", _digest),
        "bad input": Case(["deploy", "render", f"{NAME}#prod"], 3, "weak"),  # never pushed
    },
    "deploy rollback": {
        "success": Case(
            ["deploy", "rollback", NAME, "prod", "--force", "--reason", "v2 is broken"],
            0,
            "weak",
            _replaced_in_prod,
        ),
        # The same gate as promote: v1.0.0's recorded no-regression test was against
        # another prod holder than today's.
        "check failed": Case(["deploy", "rollback", NAME, "prod"], 1, "weak", _replaced_in_prod),
        "bad input": Case(["deploy", "rollback", NAME, "prod"], 3, "weak"),  # one holder only
    },
    "gc": {
        "success": Case(["gc", "--dry-run"], 0, "weak"),
        "bad input": Case(["gc", "--remote", "--remote-name", "nope"], 3, "weak"),
        "busy": Case(["gc"], 5, "weak", _lock_held),
    },
    "model deprecate": {
        "success": Case(["model", "deprecate", f"{NAME}@v2.0.0"], 0, "weak", _registered),
        "bad input": Case(["model", "deprecate", f"{NAME}@v9.9.9"], 3, "weak"),
    },
    "model diff": {
        "success": Case(["model", "diff", M, NAME], 0, "weak"),  # v1.0.0 and the workspace
        # v2.0.0 scores far below v1.0.0 (in prod) on the test data: past the tolerance.
        "check failed": Case(
            ["model", "diff", f"{NAME}#prod", f"{NAME}@v2.0.0", "--exit-code"],
            1,
            "weak",
            _registered_tested,
        ),
        "bad input": Case(["model", "diff", M, f"{NAME}@v9.9.9"], 3, "weak"),
    },
    "model list": {
        "success": Case(["model", "list"], 0, "weak"),
        "bad input": Case(["model", "list"], 3, "empty"),
    },
    "model promote": {
        "success": Case(["model", "promote", NAME, "v1.0.0", "staging"], 0, "weak"),
        # No recorded tests: the promotion gate fails.
        "check failed": Case(["model", "promote", NAME, "v2.0.0", "prod"], 1, "weak", _registered),
        "bad input": Case(["model", "promote", NAME, "v9.9.9", "prod"], 3, "weak"),
    },
    "model register": {
        "success": Case(["model", "register", NAME, "--version", "v2.0.0"], 0, "weak"),
        "bad input": Case(["model", "register", "nope"], 3, "weak"),
        "busy": Case(["model", "register", NAME, "--version", "v2.0.0"], 5, "weak", _lock_held),
    },
    "model verify": {
        # v1.0.0 is not signed: every signature is missing.
        "check failed": Case(["model", "verify", M], 1, "weak"),
        "bad input": Case(["model", "verify", "nope@v1.0.0"], 3, "weak"),
    },
    "model show": {
        "success": Case(["model", "show", M], 0, "weak"),
        "bad input": Case(["model", "show", "nope@v1.0.0"], 3, "weak"),
    },
    "monitor drift": {
        "success": Case(
            ["monitor", "drift", f"{NAME}#prod", "--data", "data/raw/data.csv"], 0, "weak"
        ),
        "check failed": Case(
            ["monitor", "drift", f"{NAME}#prod", "--data", "batch.csv"], 1, "weak", _drifted_batch
        ),
        "bad input": Case(["monitor", "drift", "nope#prod", "--data", "batch.csv"], 3, "weak"),
    },
    "schema infer": {
        "success": Case(["schema", "infer", "data/raw/data.csv", "-o", "schemas/x.yaml"], 0),
        "bad input": Case(["schema", "infer", "no/such.csv", "-o", "schemas/x.yaml"], 3),
    },
    "serve": {
        "success": Case(["serve", NAME], 130),  # runs until Ctrl-C: see _serve
        "bad input": Case(["serve", "nope"], 3),
    },
    "status": {
        "success": Case(["status", "--check"], 0),
        "check failed": Case(["status", "--check"], 1, setup=_stale_data),
        "bad input": Case(["status", "--check"], 3, "empty"),
    },
    "template list": {
        "success": Case(["template", "list"], 0, "empty"),
    },
    "template update": {
        "success": Case(["template", "update", "--dry-run"], 0),
        "bad input": Case(["template", "update", "--dry-run"], 3, "empty"),
    },
    "test": {
        "success": Case(["test", M], 0, "weak"),
        "check failed": Case(["test", NAME], 1, "weak"),  # the weak workspace model
        "bad input": Case(["test", "nope"], 3, "weak"),
    },
    "validate": {
        "success": Case(["validate"], 0),
        "check failed": Case(["validate", "raw"], 1, setup=_bad_rows),
        "bad input": Case(["validate", "nope"], 3),
    },
}
# Outcomes a command can reach but this table leaves to its own tests, with the reason.
ELSEWHERE = {
    ("data diff", "check failed"): "needs two versions of other data: tests/data/test_datadiff.py",
    ("image build", "check failed"): "a failing build needs Docker: tests/images/test_build.py",
    ("image inspect", "success"): "needs a built image: tests/images/test_build.py",
    ("image push", "success"): "needs a built image and a registry: tests/images/test_build.py",
    ("model verify", "success"): "needs signing keys: tests/security/test_signatures.py",
}
USAGE = Case(["--no-such-option"], 2)  # appended to each command's own words


def json_commands() -> list[str]:
    """Every leaf command of the real app that takes --json."""
    return sorted(
        path
        for path, ctx in command_contexts()
        if not isinstance(ctx.command, TyperGroup)
        and path not in JSON_EXEMPT
        and any("--json" in p.opts for p in ctx.command.params)
    )


def _params() -> list[Any]:
    params = []
    for command in json_commands():
        outcomes = CASES.get(command)
        if outcomes is None:
            params.append(pytest.param(command, "missing", id=f"{command}-MISSING"))
            continue
        for outcome in [*outcomes, "usage"]:
            params.append(pytest.param(command, outcome, id=f"{command}-{outcome}"))
    return params


def test_the_table_covers_every_command_and_nothing_else() -> None:
    commands = set(json_commands())
    assert {"status", "data push", "model register", "serve"} <= commands  # found at all
    assert set(CASES) == commands, (
        f"missing: {sorted(commands - set(CASES))}, gone: {sorted(set(CASES) - commands)}"
    )
    for command, outcomes in CASES.items():
        assert "success" in outcomes or (command, "success") in ELSEWHERE, command


@pytest.fixture
def workdir(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[[str], Path]:
    monkeypatch.setenv("MLOPS_REMOTES_DIR", str(tmp_path / "remotes"))
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")

    def make(kind: str) -> Path:
        if kind == "empty":
            folder = tmp_path / "empty"
            folder.mkdir()
            return folder
        if kind == "minimal":
            root = new_project(tmp_path / "proj").root
            write(root / "data/prices.csv", CSV)
            assert dvc(root, "add", "-q", "data/prices.csv").returncode == 0
            git(root, "add", "-A")
            git(root, "commit", "-qm", "data")
            return root
        src = {"trained": trained, "weak": weak}[kind](tmp_path_factory)
        root = copy_of(src, tmp_path)
        # Each case its own remote (config.local: git-ignored, the work tree stays clean).
        local = root / ".dvc" / "config.local"
        local.write_text(f"['remote \"local\"']\n    url = {tmp_path / 'remote'}\n")
        return root

    return make


@pytest.mark.parametrize(("command", "outcome"), _params())
def test_one_document_for_every_command_and_outcome(
    command: str, outcome: str, mlops: Any, workdir: Callable[[str], Path]
) -> None:
    if outcome == "missing":
        pytest.fail(f"`mlops {command}` has --json but no cases in CASES ({__file__})")
    case = CASES[command][outcome] if outcome != "usage" else None
    root = workdir(case.project if case else "empty")
    try:
        if case is None:
            args, code = [*command.split(), *USAGE.args], USAGE.code
        else:
            if case.setup is not None:
                case.setup(root, mlops)
            args, code = case.args, case.code
        if command == "serve" and outcome == "success":
            out, exit_code = _serve(root, args)
        else:
            run = mlops(*args, "--json", cwd=root)
            out, exit_code = run.stdout, run.exit_code
            assert exit_code == code, (args, exit_code, run.stderr[-2000:])
    finally:
        while _HOLDERS:
            _HOLDERS.pop().kill()
    doc = json.loads(out)  # the whole of stdout: exactly one document, nothing else
    tool = subprocess.run(
        [sys.executable, "-m", "json.tool"], input=out, capture_output=True, text=True
    )
    assert tool.returncode == 0, tool.stderr
    assert json.loads(tool.stdout) == doc
    assert isinstance(doc, dict) and doc["schema_version"] == 1
    assert isinstance(doc["command"], str)
    if command == "serve" and outcome == "success":
        assert exit_code in (0, 130) and "error" not in doc and doc["url"]
    elif code == 0:
        assert "error" not in doc, doc["error"]
    else:
        error = doc["error"]
        assert error["exit_code"] == code
        assert error["message"] and isinstance(error["message"], str)
        assert error["kind"] == {1: "check_failed", 2: "usage", 4: "unsafe", 5: "busy"}.get(
            code, error["kind"]
        )


def _serve(root: Path, args: list[str]) -> tuple[str, int]:
    """Start `mlops serve --json`, wait for its document, Ctrl-C it: stdout is still one."""
    from mlops_cli.images.container import free_port

    proc = subprocess.Popen(
        [*mlops_bin(), *args, "--port", str(free_port()), "--json"],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while "serving" not in _peek_stderr(proc) and time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    finally:
        proc.kill()
    return out, proc.returncode


_SEEN: dict[int, str] = {}


def _peek_stderr(proc: subprocess.Popen[str]) -> str:
    import os
    import select

    assert proc.stderr is not None
    fd = proc.stderr.fileno()
    while select.select([fd], [], [], 0)[0]:
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        _SEEN[proc.pid] = _SEEN.get(proc.pid, "") + chunk.decode(errors="replace")
    return _SEEN.get(proc.pid, "")


def test_an_internal_error_under_json_is_one_document_too(
    cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Exit 70 (a bug) cannot be caused from outside: an in-process run with a failing core."""
    import mlops_cli.scaffold.templates as templates

    def boom() -> None:
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(templates, "list_templates", boom)
    out = cli("template", "list", "--json")
    assert out.exit_code == 70
    doc = json.loads(out.stdout)
    assert doc["schema_version"] == 1 and doc["command"] == "error"
    assert doc["error"]["exit_code"] == 70 and doc["error"]["kind"] == "internal"
    assert "ZeroDivisionError" in doc["error"]["message"]
    assert doc["error"]["paths"] and Path(doc["error"]["paths"][0]).is_file()


def test_nothing_but_the_document_reaches_stdout(mlops: Any, tmp_path: Path) -> None:
    """A command that prints (here: a child process writing to the inherited descriptor 1,
    and Python code writing to sys.stdout) under --json: that text goes to stderr."""
    code = (
        "import os, subprocess, sys\n"
        "import mlops_cli.scaffold.templates as t\n"
        "real = t.list_templates\n"
        "def noisy(*a, **k):\n"
        "    print('stray python print')\n"
        "    subprocess.run(['echo', 'stray child output'])\n"
        "    os.write(1, b'stray fd write\\n')\n"
        "    return real(*a, **k)\n"
        "t.list_templates = noisy\n"
        "sys.argv = ['mlops', 'template', 'list', '--json']\n"
        "from mlops_cli.cli.app import run\n"
        "run()\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["command"] == "templates list"
    for stray in ("stray python print", "stray child output", "stray fd write"):
        assert stray in proc.stderr and stray not in proc.stdout
