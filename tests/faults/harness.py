"""Fault injection helpers: interrupt a real `mlops` process, then check what it left.

The invariants are the ones DESIGN.md §5 promises for exit 130 ("state is as before or as
after, never half") and STYLE.md rule 6 (every owned file is written atomically):

- every file mlops owns parses (mlops.yaml, version records, .dvc files, dvc.lock);
- no GTO tag `<name>@<version>` without its record at the tag's commit, and no committed
  record without its tag;
- no `.*.tmp` left by an atomic write once the next command has run;
- the repo lock is recoverable: the next command is never "busy" (exit 5).
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from tests.conftest import mlops_bin

# One seed per run, printed in the summary: export MLOPS_FAULT_SEED to replay a run.
SEED = int(os.environ.get("MLOPS_FAULT_SEED") or random.SystemRandom().randrange(1 << 32))


@dataclass
class Tally:
    """Interruptions run and passed in this session (printed by tests/faults/conftest.py)."""

    run: int = 0
    passed: int = 0
    hit: int = 0  # signalled while the process was still running (the rest had finished)
    prestart: int = 0  # of the hits, landed in Python's own start-up, before mlops code ran
    failed: list[str] = field(default_factory=list)


TALLY = Tally()


def delay_for(test_id: str, low: float, high: float) -> float:
    """A delay in [low, high) drawn from the session seed and the test's own id, so one
    test replays the same delay whatever subset of the suite runs."""
    return random.Random(f"{SEED}:{test_id}").uniform(low, high)


@dataclass
class Interrupted:
    code: int
    running: bool  # the process was still running when the signal went out
    stdout: str
    stderr: str


# The variables with which coverage.py (`make test`, patch = ["subprocess"]) starts itself in
# every Python process. An interrupted run goes without them: a process killed mid-way
# writes no data anyway, coverage's start-up would move the delay windows the tests draw
# (startup_time() measures without it too), and a signal landing in its exit-time save
# would print a traceback that is not mlops's.
COVERAGE_START = ("COVERAGE_PROCESS_CONFIG", "COVERAGE_PROCESS_START")


def uncovered_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment and `extra`, without coverage's start-up variables (also
    when `extra` is a copy of the whole environment, as tests.modelproject.build_env is)."""
    env = {**os.environ, **(extra or {})}
    return {k: v for k, v in env.items() if k not in COVERAGE_START}


def signal_if_running(pid: int, sig: signal.Signals) -> bool:
    """Send SIG to PID's group if PID has not exited; say whether it was sent.

    A poll followed by a kill races with the exit: a process that exits between the two is
    a zombie the kill still reaches, and its exit 0 would read as a signal ignored. So the
    group is stopped first and waitid (leaving the status for Popen to reap) waits until PID
    has either stopped, and gets SIG and then SIGCONT, or exited, and gets nothing.
    """
    try:
        os.killpg(pid, signal.SIGSTOP)
    except ProcessLookupError:
        return False
    seen = os.waitid(os.P_PID, pid, os.WSTOPPED | os.WEXITED | os.WNOWAIT)
    stopped = seen is not None and seen.si_code == os.CLD_STOPPED
    with contextlib.suppress(ProcessLookupError):
        if stopped:
            os.killpg(pid, sig)
        # Children left in the group after PID exited are stopped too: wake them.
        os.killpg(pid, signal.SIGCONT)
    return stopped


def interrupt(
    args: list[str],
    cwd: Path,
    sig: signal.Signals,
    delay: float,
    *,
    env: dict[str, str] | None = None,
    timeout: float = 300,
) -> Interrupted:
    """Run `mlops ARGS` in its own session, signal its process group after `delay` s.

    The whole group gets the signal, as a terminal's Ctrl-C does: git, dvc or pip children
    of mlops see it too. A new session keeps the signal away from pytest itself.
    """
    proc = subprocess.Popen(
        [*mlops_bin(), *args],
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=uncovered_env(env),
        start_new_session=True,
    )
    try:
        time.sleep(delay)
        running = signal_if_running(proc.pid, sig)
        out, err = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    if sig == signal.SIGKILL and running:
        # Children still running in the group (a `git` or `dvc` mid-write) die with it.
        with_children_gone(proc.pid)
    return Interrupted(proc.returncode, running, out, err)


PACKAGE = Path(__file__).resolve().parents[2] / "mlops_cli"
FRAME = re.compile(r'^  File "(?P<file>[^"]+)", line \d+, in (?P<func>\S+)$', re.MULTILINE)
# Module bodies that run before `main()` can install its handler: the launcher imports
# mlops_cli.cli.entry, which executes these four files top to bottom (entry imports its
# Ctrl-C state from interrupts).
PRE_MAIN = {
    PACKAGE / "__init__.py",
    PACKAGE / "cli" / "__init__.py",
    PACKAGE / "cli" / "entry.py",
    PACKAGE / "cli" / "interrupts.py",
}


def before_mlops_started(got: Interrupted) -> bool:
    """Did the SIGINT land in Python's own start-up, before `mlops_cli.cli.entry.main` ran?

    Python then prints a KeyboardInterrupt of its own (docs/exit-codes.md, "Ctrl-C"), under
    one of several headers seen here: none (exit -2), "Fatal Python error: init_import_site"
    or "failed to set __main__.__loader__" (exit 1), a bare "KeyboardInterrupt" (exit 1), or
    "Failed checking if argv[0] is an import path entry" / "Exception ignored in: <function
    _get_module_lock...>", after which Python carries on and mlops runs normally (exit 0).

    It is recognised from the frames, traceback by traceback. One that starts in the
    interpreter's own start-up (a `<frozen ...>` frame: importing `site`, `io`, or `.pth`
    code and whatever that imports) may hold anything but an mlops function. One that starts
    in the launcher script may hold only import machinery and the module bodies of the four
    files the launcher imports. Any other frame (main, the app, a command, a thread) means
    mlops was running, and the traceback is a bug.
    """
    if not got.running or got.code not in (0, 1, -signal.SIGINT):
        return False
    if got.stderr.strip() == "KeyboardInterrupt":
        return got.code != 0
    if "KeyboardInterrupt" not in got.stderr:
        return False
    tracebacks = got.stderr.split("Traceback (most recent call last):\n")[1:]
    return bool(tracebacks) and all(_startup_traceback(text) for text in tracebacks)


def _startup_traceback(text: str) -> bool:
    frames = [(m["file"], m["func"]) for m in FRAME.finditer(text)]
    if not frames:
        return False
    outer = Path(frames[0][0])
    for file, func in frames:
        path = Path(file)
        if path.is_relative_to(PACKAGE) and not (path in PRE_MAIN and func == "<module>"):
            return False
    if frames[0][0].startswith("<frozen "):
        return True  # the interpreter initialising itself, before the launcher runs
    if not (outer.name == "mlops" and outer.parent.name == "bin"):
        return False
    return all(
        file.startswith("<frozen ") or (func == "<module>" and Path(file) in PRE_MAIN | {outer})
        for file, func in frames
    )


def with_children_gone(pgid: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)


def run_mlops(
    args: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*mlops_bin(), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def git(root: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, f"git {args}: {proc.stderr}"
    return proc.stdout


def owned_files_parse(root: Path) -> None:
    """Every file mlops owns in the work tree parses."""
    from mlops_cli.project.root import load_config
    from mlops_cli.registry.records import parse_record

    load_config(root / "mlops.yaml")
    models = root / ".mlops" / "models"
    for record in sorted(models.rglob("*.yaml")) if models.is_dir() else []:
        parse_record(record.read_bytes(), str(record))
    for path in [*_walk(root, ".dvc"), root / "dvc.lock"]:
        if path.is_file():
            doc = yaml.safe_load(path.read_text())
            assert isinstance(doc, dict), f"{path} is not a YAML mapping: {doc!r}"


def _walk(root: Path, suffix: str) -> list[Path]:
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in (".git", ".dvc")]
        found += [Path(folder) / f for f in files if f.endswith(suffix)]
    return found


def tags_match_records(root: Path) -> None:
    """No `name@version` tag without its record at the tag's commit; no committed record
    (at HEAD) without its tag."""
    from mlops_cli.registry.records import parse_record, record_path

    tags = set(git(root, "tag", "--list").split())
    for tag in tags:
        if "@" not in tag or "#" in tag:
            continue
        name, _, version = tag.partition("@")
        rel = record_path(name, version)
        shown = subprocess.run(
            ["git", "show", f"refs/tags/{tag}^{{commit}}:{rel}"],
            cwd=root,
            capture_output=True,
            timeout=60,
        )
        assert shown.returncode == 0, f"tag {tag} has no record {rel} at its commit"
        record = parse_record(shown.stdout, f"{tag}:{rel}")
        assert (record.model, record.version) == (name, version), tag
    listed = git(root, "ls-tree", "-r", "--name-only", "HEAD", "--", ".mlops/models").split()
    for rel in listed:
        name, version = Path(rel).parent.name, Path(rel).stem
        assert f"{name}@{version}" in tags, f"record {rel} is committed without its tag"


def temp_files(root: Path) -> list[str]:
    """Leftovers of `atomic_write_*` (`.<name>.<random>.tmp`) outside .git."""
    return sorted(str(p.relative_to(root)) for p in _walk(root, ".tmp") if p.name.startswith("."))


def check_after_next_command(root: Path) -> subprocess.CompletedProcess[str]:
    """Run a read-only command that takes the lock path; it must not be busy and must
    leave no temp file behind."""
    nxt = run_mlops(["status", "--json"], root)
    assert nxt.returncode != 5, f"the lock was not recovered: {nxt.stderr}"
    assert nxt.returncode != 70, f"internal error after the interruption: {nxt.stderr}"
    leftovers = temp_files(root)
    assert not leftovers, f"temp files left after the next command: {leftovers}"
    return nxt
