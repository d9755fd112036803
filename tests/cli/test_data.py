"""`mlops data ...`: CLI wiring in-process, and the installed entry point in real processes
(concurrent adds, interrupted adds, an SSH remote against a real sshd)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from mlops_cli.dvc.files import cache_dir, object_path, read_outputs
from mlops_cli.project.root import Project
from tests.conftest import mlops_bin
from tests.datarepo import CSV, big_file, clone, dvc, git, md5, new_project, staged, write
from tests.plugins.sshd import SshServer
from tests.valdata import edit_in_place


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    monkeypatch.setenv("MLOPS_REMOTES_DIR", str(tmp_path / "remotes"))
    return new_project(tmp_path / "proj")


@pytest.mark.parametrize("command", ["add", "push", "pull", "status", "check-pushed"])
def test_every_command_documents_an_example(cli: Any, command: str) -> None:
    out = cli("data", command, "--help")
    assert out.exit_code == 0 and "Example:" in out.stdout and "--json" in out.stdout


def test_add_after_an_edit_that_restores_the_mtime(cli: Any, project: Project) -> None:
    """`data add` must not call content "already versioned" when only the ctime shows that
    it changed (issue 13 item 7)."""
    root = str(project.root)
    src = write(project.root / "data/a.csv", CSV)
    os.utime(src, (time.time() - 60, time.time() - 60))  # settled: its stat can be trusted
    assert cli("-C", root, "data", "add", "data/a.csv").exit_code == 0
    again = cli("-C", root, "data", "add", "data/a.csv")
    assert "already versioned" in again.stderr + again.stdout
    edit_in_place(src, b"10.5", b"99.9")
    edited = cli("-C", root, "data", "add", "data/a.csv")
    assert edited.exit_code == 0, edited.stderr
    assert "already versioned" not in edited.stderr + edited.stdout
    assert read_outputs(project.root, project.root / "data/a.csv.dvc")[0].md5 == md5(src)


def test_add_then_status_as_json(cli: Any, project: Project) -> None:
    root = str(project.root)
    write(project.root / "data/raw/customers.csv", CSV)
    out = cli("-C", root, "data", "add", "data/raw/customers.csv", "-d", "customers", "--json")
    assert out.exit_code == 0, out.stderr
    doc = out.json()  # stdout holds the one JSON document and nothing else
    assert doc["schema_version"] == 1 and doc["command"] == "data add"
    assert doc["result"]["dataset"] == "customers" and doc["result"]["changed"] is True
    assert doc["result"]["md5"] == md5(project.root / "data/raw/customers.csv")
    status = cli("-C", root, "data", "status", "--json").json()
    (row,) = status["datasets"]
    assert (row["dataset"], row["state"], row["dvc_file"], row["on_remote"]) == (
        "customers",
        "ok",
        "staged",
        None,
    )
    remote = cli("-C", root, "data", "status", "--remote", "--json").json()
    assert remote["datasets"][0]["on_remote"] is False


def test_add_prints_what_it_did(cli: Any, project: Project) -> None:
    write(project.root / "data/a.csv", CSV)
    out = cli("-C", str(project.root), "data", "add", "data/a.csv")
    assert out.exit_code == 0 and out.stdout == ""
    assert "✓ a: data/a.csv versioned (md5 " in out.stderr
    assert "not validated: no schema" in out.stderr
    assert "staged data/a.csv.dvc, data/.gitignore, mlops.yaml" in out.stderr


def test_a_path_that_looks_like_markup_is_printed_as_written(cli: Any, project: Project) -> None:
    write(project.root / "data/[red]x.csv", CSV)
    out = cli("-C", str(project.root), "data", "add", "data/[red]x.csv")
    assert out.exit_code == 0, out.stderr
    assert "data/[red]x.csv versioned" in out.stderr
    assert "`mlops schema infer data/[red]x.csv`" in out.stderr


def test_add_refuses_bad_data_with_the_report(cli: Any, project: Project) -> None:
    pytest.importorskip("mlops_cli.validation.validate")
    from tests.data.test_datasets import SCHEMA

    write(project.root / "schemas/prices.yaml", SCHEMA.encode())
    write(project.root / "data/prices.csv", b"id,price\n1,1.0\n2,-5.5\n")
    out = cli("-C", str(project.root), "data", "add", "data/prices.csv", "--json")
    assert out.exit_code == 1
    error = out.json()["error"]
    assert error["kind"] == "check_failed" and "breaks its schema" in error["message"]
    assert any("-5.5" in p for p in error["problems"])
    assert "column price: greater_than_or_equal_to(0) failed on 1 row(s)" in out.stderr
    assert not (project.root / "data/prices.csv.dvc").exists()
    forced = cli("-C", str(project.root), "data", "add", "data/prices.csv", "--force")
    assert forced.exit_code == 0 and "versioning it anyway (--force)" in forced.stderr


def test_missing_data_says_to_pull(cli: Any, project: Project, tmp_path: Path) -> None:
    write(project.root / "data/a.csv", CSV)
    assert cli("-C", str(project.root), "data", "add", "data/a.csv").exit_code == 0
    git(project.root, "commit", "-qm", "data")
    other = clone(project.root, tmp_path / "clone")
    out = cli("-C", str(other), "data", "add", "data/a.csv")
    assert out.exit_code == 3
    assert "data/a.csv is not in the workspace" in out.stderr
    assert "hint: run `mlops data pull`" in out.stderr
    status = cli("-C", str(other), "data", "status")
    assert status.exit_code == 0 and "missing" in status.stdout
    assert "a: run `mlops data pull`" in status.stderr


def test_push_then_pull_in_a_fresh_clone(mlops: Any, project: Project, tmp_path: Path) -> None:
    src = write(project.root / "data/a.csv", CSV)
    assert mlops("-C", str(project.root), "data", "add", "data/a.csv").exit_code == 0
    git(project.root, "commit", "-qm", "data")
    pushed = mlops("-C", str(project.root), "data", "push", "--json")
    assert pushed.exit_code == 0, pushed.stderr
    assert pushed.json()["result"]["pushed"] == 1
    assert "pushing to remote local" in pushed.stderr  # progress on stderr
    other = clone(project.root, tmp_path / "clone")
    pulled = mlops("-C", str(other), "data", "pull", "--json")
    assert pulled.exit_code == 0, pulled.stderr
    assert pulled.json()["result"]["added"] == ["data/a.csv"]
    assert (other / "data/a.csv").read_bytes() == src.read_bytes()


def test_check_pushed_reads_pre_commits_refs(mlops: Any, project: Project) -> None:
    base = git(project.root, "rev-parse", "HEAD").strip()
    write(project.root / "data/a.csv", CSV)
    mlops("-C", str(project.root), "data", "add", "data/a.csv")
    git(project.root, "commit", "-qm", "data")
    env = {**os.environ, "PRE_COMMIT_FROM_REF": base, "PRE_COMMIT_TO_REF": "HEAD"}
    blocked = mlops("-C", str(project.root), "data", "check-pushed", env=env)
    assert blocked.exit_code == 1
    assert "are not on remote local: data/a.csv" in blocked.stderr
    assert "run `mlops data push`" in blocked.stderr
    assert mlops("-C", str(project.root), "data", "push").exit_code == 0
    passed = mlops("-C", str(project.root), "data", "check-pushed", "--json", env=env)
    assert passed.exit_code == 0
    assert passed.json()["result"] | {"url": None} == {
        "remote": "local",
        "url": None,
        "commits": 1,
        "objects": 1,
        "missing": [],
    }


def _consistent(root: Path, rel: str, expected_md5: str | None = None) -> str:
    """The `.dvc` file parses, names an object that is in the cache with exactly that md5."""
    (out,) = read_outputs(root, root / f"{rel}.dvc")
    assert out.md5 is not None
    assert md5(object_path(cache_dir(root), out.md5)) == out.md5
    if expected_md5 is not None:
        assert out.md5 == expected_md5
    return out.md5


def _spawn(root: Path, *args: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*mlops_bin(), "-C", str(root), *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
    )


@pytest.mark.slow
def test_two_adds_of_the_same_path_at_once(project: Project) -> None:
    src = big_file(project.root / "data/big.bin", 300)
    want = md5(src)
    procs = [
        _spawn(project.root, "data", "add", "data/big.bin", MLOPS_LOCK_TIMEOUT="0")
        for _ in range(2)
    ]
    results = [(p.wait(timeout=300), p.stderr.read() if p.stderr else "") for p in procs]
    assert sorted(code for code, _ in results) == [0, 5], results
    (loser,) = [err for code, err in results if code == 5]
    assert "another mlops process holds the repo lock" in loser
    assert _consistent(project.root, "data/big.bin", want)
    assert "up to date" in dvc(project.root, "status").stdout
    assert {"data/big.bin.dvc", "data/.gitignore"} <= staged(project.root)


def _wait_for_lock_holder(root: Path, pid: int, timeout: float = 60) -> None:
    lock = root / ".mlops" / "lock"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if json.loads(lock.read_text() or "{}").get("pid") == pid:
                return
        except (OSError, ValueError):
            pass
        time.sleep(0.02)
    raise AssertionError(f"pid {pid} never took the repo lock")


@pytest.mark.slow
@pytest.mark.parametrize("delay", [0.2, 1.0])
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["SIGKILL", "SIGINT"])
def test_interrupted_add_leaves_the_old_or_the_new_version(
    mlops: Any, project: Project, sig: signal.Signals, delay: float
) -> None:
    root = project.root
    src = write(root / "data/big.bin", b"version 1\n")
    assert mlops("-C", str(root), "data", "add", "data/big.bin").exit_code == 0
    git(root, "commit", "-qm", "v1")
    old_dvc = (root / "data/big.bin.dvc").read_bytes()
    big_file(src, 500)
    want, inode = md5(src), src.stat().st_ino
    proc = _spawn(root, "data", "add", "data/big.bin")
    _wait_for_lock_holder(root, proc.pid)
    time.sleep(delay)
    assert proc.poll() is None, "finished before the signal: the test file is too small"
    proc.send_signal(sig)
    code = proc.wait(timeout=120)
    assert code == (130 if sig == signal.SIGINT else -signal.SIGKILL), proc.stderr
    # The source is untouched, and the .dvc file is the old one or a complete new one.
    assert md5(src) == want and src.stat().st_ino == inode
    if (root / "data/big.bin.dvc").read_bytes() == old_dvc:
        _consistent(root, "data/big.bin")  # the old version, its object still cached
    else:
        _consistent(root, "data/big.bin", want)
    again = mlops("-C", str(root), "data", "add", "data/big.bin")
    assert again.exit_code == 0, again.stderr
    _consistent(root, "data/big.bin", want)
    assert "up to date" in dvc(root, "status").stdout


def test_ssh_remote_push_clone_pull(
    mlops: Any, project: Project, ssh_server: SshServer, tmp_path: Path
) -> None:
    root = project.root
    src = write(root / "data/a.csv", CSV)
    assert mlops("-C", str(root), "data", "add", "data/a.csv").exit_code == 0
    git(root, "commit", "-qm", "data")
    store = tmp_path / "ssh-store"
    for args in (
        ("remote", "add", "ssh", ssh_server.url(store)),
        ("remote", "modify", "ssh", "user", ssh_server.user),
        ("remote", "modify", "--local", "ssh", "keyfile", str(ssh_server.keyfile)),
    ):
        assert dvc(root, *args).returncode == 0
    pushed = mlops("-C", str(root), "data", "push", "--remote", "ssh")
    assert pushed.exit_code == 0, pushed.stderr + ssh_server.log.read_text()[-2000:]
    assert object_path(store, md5(src)).read_bytes() == CSV  # it went over SSH to the store
    assert "keyfile" not in (root / ".dvc/config").read_text()  # the key stays out of git
    assert str(ssh_server.keyfile) in (root / ".dvc/config.local").read_text()
    checked = mlops("-C", str(root), "data", "check-pushed", "--remote", "ssh", "--json")
    assert checked.exit_code == 0 and checked.json()["result"]["objects"] == 1
    git(root, "commit", "-qam", "ssh remote")

    other = clone(root, tmp_path / "clone")
    assert not (other / ".dvc/config.local").exists()
    keyfile = ("remote", "modify", "--local", "ssh", "keyfile", str(ssh_server.keyfile))
    assert dvc(other, *keyfile).returncode == 0
    pulled = mlops("-C", str(other), "data", "pull", "--remote", "ssh")
    assert pulled.exit_code == 0, pulled.stderr
    assert (other / "data/a.csv").read_bytes() == src.read_bytes()
    status = mlops("-C", str(other), "data", "status", "--remote", "--remote-name", "ssh", "--json")
    assert status.json()["datasets"][0]["on_remote"] is True
