"""data/sync.py on real git + DVC projects with the local default remote `mlops init` makes:
push, a clone, pull; a corrupt or missing object fails the pull and keeps the workspace."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_cli.common.errors import InputError
from mlops_cli.data import datasets as data
from mlops_cli.dvc.files import cache_dir, object_path
from mlops_cli.project.root import Project
from tests.datarepo import (
    CSV,
    clone,
    committed,
    git,
    md5,
    remote_object,
    reopen,
    write,
)


def test_push_clone_pull_round_trip(project: Project, tmp_path: Path) -> None:
    src = write(project.root / "data/raw/customers.csv", CSV)
    data.add(project, src, "customers")
    project = committed(project)
    pushed = data.push(project)
    assert pushed.remote == "local" and pushed.pushed == 1
    assert remote_object(project.root, md5(src)).read_bytes() == CSV
    assert data.push(project).pushed == 0

    other = reopen(Project(clone(project.root, tmp_path / "clone"), project.config))
    (before,) = data.status(other)
    assert before.state == "missing" and before.hint == "run `mlops data pull`"
    pulled = data.pull(other)
    assert pulled.fetched == 1 and pulled.added == ["data/raw/customers.csv"]
    assert (other.root / "data/raw/customers.csv").read_bytes() == CSV
    (after,) = data.status(other, remote=True)
    assert (after.state, after.in_cache, after.dvc_file, after.on_remote) == (
        "ok",
        True,
        "committed",
        True,
    )


@pytest.mark.parametrize("mode", [0o444, 0o644], ids=["bit-rot", "rewritten"])
def test_pull_of_a_corrupt_object_fails_and_keeps_the_workspace(
    project: Project, tmp_path: Path, mode: int
) -> None:
    src = write(project.root / "data/a.csv", CSV)
    data.add(project, src, "a")
    project = committed(project)
    data.push(project)
    other = reopen(Project(clone(project.root, tmp_path / "clone"), project.config))
    data.pull(other)
    # Version 2 is pushed, then damaged on the remote; the clone has version 1 checked out.
    v2 = CSV + b"4,99.0\n"
    write(src, v2)
    data.add(reopen(project), src)
    project = committed(project, "v2")
    data.push(project)
    damaged = remote_object(project.root, md5(src))
    damaged.chmod(0o644)
    damaged.write_bytes(v2.replace(b"99.0", b"66.6"))
    damaged.chmod(mode)  # DVC trusts a read-only (0444) object on a local remote unread
    git(other.root, "pull", "-q")
    with pytest.raises(InputError) as info:
        data.pull(reopen(other))
    assert info.value.exit_code == 3
    assert "hash verification failed for data/a.csv" in info.value.message
    assert info.value.hint is not None and "mlops data push" in info.value.hint
    assert (other.root / "data/a.csv").read_bytes() == CSV  # version 1, untouched
    assert not object_path(cache_dir(other.root), md5(src)).exists()  # not kept in the cache


def test_pull_names_objects_missing_from_the_remote(project: Project, tmp_path: Path) -> None:
    write(project.root / "data/a.csv", CSV)
    data.add(project, Path("data/a.csv"))
    project = committed(project)
    other = reopen(Project(clone(project.root, tmp_path / "clone"), project.config))
    with pytest.raises(InputError, match=r"data/a.csv: not on remote local") as info:
        data.pull(other)
    assert info.value.hint == "run `mlops data push` in the clone that has this data"
