"""Concurrency: real `mlops` processes racing on one repository.

Six processes start at once on one copy of a trained project: two `model register`
(different versions), one `data add` of a changed raw file, one `test <model>@v --record`
of a registered version and two `validate --hook`. Each must exit 0, or 5 naming the lock
holder (pid and command), or 3 with a documented conflict; hooks never exit 5 and never
wait on the write lock. Whatever exited 0 must be visible at the end (no lost update), and
every file mlops owns must parse.
"""

from __future__ import annotations

import hashlib
import os
import random
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from mlops_cli.common.fs import repo_lock
from mlops_cli.project.root import load_config
from mlops_cli.registry.records import parse_record, record_path
from tests.conftest import mlops_bin
from tests.modelproject import NAME, commit_all, copy_of, git, retrain, tags, trained

RAW = "data/raw/data.csv"
# A second data set that no model trains on: changing it does not make `register` refuse
# (as a change to the training data would, with or without a race).
EXTRA = "data/raw/extra.csv"
HOOK = ("validate", "--hook", f"{RAW}.dvc")
HOLDER = re.compile(r"pid (\d+) running '([^']+)'")
# A conflict mlops documents as exit 3: the record or HEAD moved under a writer that then
# refused rather than overwrite (docs/exit-codes: "nothing was changed").
CONFLICT = re.compile(r"changes that are not committed|moved|conflict|changed since", re.I)
# Both registers name the one trained model: whichever comes second is told so (exit 3).
SAME_ARTIFACT = "registers this very artifact already"


@dataclass
class Outcome:
    args: tuple[str, ...]
    pid: int
    rc: int
    out: str
    err: str
    seconds: float


_base: dict[str, Path] = {}


def registered(factory: pytest.TempPathFactory) -> Path:
    """The trained project with a second data set `extra` committed, churn@v1.0.0
    registered (tests not yet recorded), and a new model trained and committed on top."""
    if "p" not in _base:
        project = copy_of(trained(factory), factory.mktemp("concurrency-base"))
        (project / EXTRA).write_bytes((project / RAW).read_bytes())
        (project / "schemas/extra.yaml").write_bytes((project / "schemas/raw.yaml").read_bytes())
        for args in (("data", "add", EXTRA), ("model", "register", NAME, "--version", "v1.0.0")):
            proc = subprocess.run(
                [*mlops_bin(), *args], cwd=project, capture_output=True, text=True, timeout=300
            )
            assert proc.returncode == 0, proc.stderr
            if args[0] == "data":
                commit_all(project, "add the extra data set")
        retrain(project, 0.5)  # so the work tree holds a model not yet registered
        _base["p"] = project
    return _base["p"]


def change_data(project: Path, seed: int, rel: str = EXTRA) -> str:
    """Append rows copied from the file itself (schema-valid), return the new md5."""
    path = project / rel
    lines = path.read_text().splitlines(keepends=True)
    rng = random.Random(seed)
    path.write_text("".join(lines) + "".join(rng.sample(lines[1:], 3)))
    return hashlib.md5(path.read_bytes()).hexdigest()


def race(project: Path, commands: list[tuple[str, ...]], env: dict[str, str]) -> list[Outcome]:
    procs: list[tuple[tuple[str, ...], subprocess.Popen[str], float]] = []
    for args in commands:
        proc = subprocess.Popen(
            [*mlops_bin(), *args],
            cwd=project,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        procs.append((args, proc, time.monotonic()))
    outcomes = []
    for args, proc, started in procs:
        out, err = proc.communicate(timeout=300)
        outcomes.append(
            Outcome(args, proc.pid, proc.returncode, out, err, time.monotonic() - started)
        )
    return outcomes


def dvc_md5(project: Path, where: str = "work tree") -> str:
    rel = f"{EXTRA}.dvc"
    text = (project / rel).read_text() if where == "work tree" else git(project, "show", f":{rel}")
    return yaml.safe_load(text)["outs"][0]["md5"]


def committed_record(project: Path, version: str) -> object:
    raw = git(project, "show", f"HEAD:{record_path(NAME, version)}")
    return parse_record(raw.encode(), f"HEAD:{record_path(NAME, version)}")


def assert_owned_files_parse(project: Path) -> None:
    load_config(project / "mlops.yaml")
    for rec in (project / ".mlops" / "models").rglob("*.yaml"):
        parse_record(rec.read_bytes(), str(rec))
    for name in ("dvc.yaml", "dvc.lock", "params.yaml", f"{RAW}.dvc", f"{EXTRA}.dvc"):
        assert isinstance(yaml.safe_load((project / name).read_text()), dict), name
    leftovers = [
        p for p in project.rglob(".*.tmp") if ".git" not in p.parts and ".dvc" not in p.parts
    ]
    assert not leftovers, f"temp files left behind: {leftovers}"
    git(project, "fsck", "--no-progress")
    assert git(project, "rev-parse", "HEAD")


@pytest.mark.parametrize(
    ("seed", "lock_timeout"),
    [(1, "0.2"), (2, "1"), (3, "120")],
    ids=["timeout-0.2s", "timeout-1s", "wait"],
)
def test_writers_and_hooks_race_without_lost_updates(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, seed: int, lock_timeout: str
) -> None:
    project = copy_of(registered(tmp_path_factory), tmp_path)
    new_md5 = change_data(project, seed)
    old_md5 = dvc_md5(project)
    assert new_md5 != old_md5
    before_tags = tags(project)
    assert committed_record(project, "v1.0.0").tests in (None, {})  # type: ignore[attr-defined]

    commands: list[tuple[str, ...]] = [
        ("model", "register", NAME, "--version", "v1.1.0"),
        ("model", "register", NAME, "--version", "v1.2.0"),
        ("data", "add", EXTRA),
        ("test", f"{NAME}@v1.0.0", "--record"),
        HOOK,
        ("validate", "--hook", f"{EXTRA}.dvc"),  # the file data add is versioning
    ]
    random.Random(seed).shuffle(commands)
    env = {**os.environ, "MLOPS_LOCK_TIMEOUT": lock_timeout}
    outcomes = race(project, commands, env)
    pids = {o.pid for o in outcomes}
    report = "\n".join(
        f"{o.args} -> {o.rc} in {o.seconds:.1f}s: {o.err.strip()[-400:]}" for o in outcomes
    )

    for o in outcomes:
        assert "Traceback" not in o.err + o.out, report
        if o.args[0] == "validate":
            assert o.rc == 0, report
            continue
        if o.rc == 5:
            holder = HOLDER.search(o.err)
            assert holder, f"exit 5 without the holder named:\n{report}"
            assert int(holder.group(1)) in pids - {o.pid}, report
            assert holder.group(2), report
        elif o.rc == 3 and SAME_ARTIFACT in o.err:
            winners = [w for w in outcomes if w.args[1:2] == ("register",) and w.rc == 0]
            assert len(winners) == 1 and winners[0] is not o, report
            assert f"{NAME}@{winners[0].args[-1]}" in o.err, report
        elif o.rc == 3:
            assert CONFLICT.search(o.err), f"exit 3 that is not a documented conflict:\n{report}"
        else:
            assert o.rc == 0, report
    registers = [o for o in outcomes if o.args[1:2] == ("register",)]
    assert sum(o.rc == 0 for o in registers) <= 1, report  # one model, one version
    if lock_timeout == "120":  # everyone waits their turn: every writer gets through
        assert all(o.rc == 0 for o in outcomes if o not in registers), report
        assert sorted(o.rc for o in registers) == [0, 3], report

    # No lost update: every success is visible at the end.
    final_tags = tags(project)
    for o in outcomes:
        if o.rc != 0:
            continue
        if o.args[:2] == ("model", "register"):
            version = o.args[-1]
            assert f"{NAME}@{version}" in final_tags, report
            assert committed_record(project, version).version == version, report  # type: ignore[attr-defined]
        elif o.args[:2] == ("data", "add"):
            assert dvc_md5(project) == new_md5, report
            assert dvc_md5(project, "index") == new_md5, report  # staged, as data add says
        elif o.args[0] == "test":
            tests = committed_record(project, "v1.0.0").tests  # type: ignore[attr-defined]
            assert tests and tests.get("passed") is True, report
    # ... and nothing appears that no process claimed.
    claimed = {
        f"{NAME}@{o.args[-1]}" for o in outcomes if o.rc == 0 and o.args[1:2] == ("register",)
    }
    assert set(final_tags) - set(before_tags) == claimed, report
    if not any(o.rc == 0 and o.args[:2] == ("data", "add") for o in outcomes):
        assert dvc_md5(project) == old_md5, report
    assert_owned_files_parse(project)
    # The repository is still usable: the staged data change commits cleanly.
    git(project, "commit", "-q", "--allow-empty", "-m", "after the race")
    assert_owned_files_parse(project)


@pytest.mark.parametrize("changed", [False, True], ids=["cached", "changed-file"])
def test_hook_never_waits_on_the_write_lock(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, changed: bool
) -> None:
    project = copy_of(trained(tmp_path_factory), tmp_path)
    if changed:
        change_data(project, 7, RAW)
    # A hook that waited on the lock would wait forever (inf): the lock is held until the
    # block ends, so a hook that returns inside it did not wait. No wall-clock bound: a
    # loaded machine makes any fixed figure flaky (the timeout only ends a hung run).
    env = {**os.environ, "MLOPS_LOCK_TIMEOUT": "inf"}
    with repo_lock(project, "model register churn (held by the test)", timeout=0):
        proc = subprocess.run(
            [*mlops_bin(), *HOOK],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            stdin=subprocess.DEVNULL,
        )
        # ... while the writer still holds it: a second writer is refused, naming us.
        busy = subprocess.run(
            [*mlops_bin(), "data", "add", RAW],
            cwd=project,
            env={**os.environ, "MLOPS_LOCK_TIMEOUT": "0"},
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
    assert proc.returncode == 0, proc.stderr
    assert busy.returncode == 5, busy.stderr
    holder = HOLDER.search(busy.stderr)
    assert holder and int(holder.group(1)) == os.getpid(), busy.stderr
    assert "held by the test" in holder.group(2)
