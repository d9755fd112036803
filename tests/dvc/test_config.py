"""DVC's four config levels, read as DVC reads them (dvcconfig.py), and a default remote set
only in DVC's global config used end to end by real `mlops data` processes and real DVC."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from mlops_cli.dvc import config as dvcconfig
from mlops_cli.dvc.driver import remote_info
from mlops_cli.dvc.files import object_path
from tests.datarepo import CSV, dvc, git, md5, new_project, write


def remote_config(name: str, url: str) -> bytes:
    """A default remote as `dvc remote add -d` writes it."""
    return f"[core]\n    remote = {name}\n['remote \"{name}\"']\n    url = {url}\n".encode()


@pytest.fixture
def levels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    system, user = tmp_path / "system", tmp_path / "global"
    monkeypatch.setenv("DVC_SYSTEM_CONFIG_DIR", str(system))
    monkeypatch.setenv("DVC_GLOBAL_CONFIG_DIR", str(user))
    root = tmp_path / "repo"
    return {
        "system": system / "config",
        "global": user / "config",
        "repo": root / ".dvc" / "config",
        "local": root / ".dvc" / "config.local",
        "root": root,
    }


def test_each_level_shadows_the_one_before(levels: dict[str, Path]) -> None:
    write(levels["system"], b"[core]\n    remote = sys\n['remote \"sys\"']\n    url = /srv/sys\n")
    write(
        levels["global"],
        b"[core]\n    remote = shared\n['remote \"shared\"']\n    url = ../store\n",
    )
    root = levels["root"]
    assert dvcconfig.config_files(root) == [
        levels[k] for k in ("system", "global", "repo", "local")
    ]
    info = remote_info(root, None)
    assert (info.name, info.url) == ("shared", "../store")
    assert info.local_folder == (levels["global"].parent / "../store").resolve()
    assert remote_info(root, "sys").local_folder == Path("/srv/sys")

    write(
        levels["repo"], b"[core]\n    remote = team\n['remote \"team\"']\n    url = s3://bucket/x\n"
    )
    info = remote_info(root, None)
    assert (info.name, info.url, info.local_folder) == ("team", "s3://bucket/x", None)
    write(levels["local"], b"['remote \"team\"']\n    url = file:///mnt/team\n")
    assert remote_info(root, None).local_folder == Path("/mnt/team")


def test_cache_dir_is_relative_to_the_file_that_sets_it(levels: dict[str, Path]) -> None:
    root = levels["root"]
    assert dvcconfig.cache_dir(root) == root / ".dvc" / "cache"
    write(levels["global"], b"[cache]\n    dir = ../shared-cache\n")
    assert dvcconfig.cache_dir(root) == (levels["global"].parent / "../shared-cache").resolve()
    write(levels["repo"], b"[cache]\n    dir = ../../elsewhere\n")
    assert dvcconfig.cache_dir(root) == (root / ".dvc" / "../../elsewhere").resolve()


def test_a_malformed_file_is_skipped_not_fatal(levels: dict[str, Path]) -> None:
    write(levels["global"], b"[core\nremote = ???\n\xff\xfe")
    write(levels["repo"], b"[core]\n    remote = team\n")
    assert remote_info(levels["root"], None).name == "team"


def test_a_global_default_remote_serves_push_and_check_pushed(tmp_path: Path, mlops: Any) -> None:
    """`dvc remote add --global -d` is how many teams share one remote: DVC pushes to it,
    and mlops must see the same remote for `check-pushed`, status and doctor."""
    project = new_project(tmp_path / "proj")
    root = project.root
    # The scaffold's own default: a repo-level remote, named in mlops.yaml too.
    assert dvc(root, "remote", "remove", "local").returncode == 0
    config = root / "mlops.yaml"
    config.write_text(
        "".join(x for x in config.read_text().splitlines(True) if x != "remote: local\n")
    )
    assert "remote:" not in config.read_text()
    git(root, "commit", "-qam", "no repo-level remote")
    user = tmp_path / "global-dvc"
    env = {**os.environ, "DVC_GLOBAL_CONFIG_DIR": str(user)}
    write(
        user / "config",
        b"[core]\n    remote = shared\n['remote \"shared\"']\n    url = ../shared-store\n",
    )
    store = (user / "../shared-store").resolve()
    store.mkdir()

    src = write(root / "data/a.csv", CSV)
    assert mlops("-C", str(root), "data", "add", "data/a.csv", env=env).exit_code == 0
    git(root, "commit", "-qm", "data")
    base = git(root, "rev-parse", "HEAD~1").strip()
    refs = {**env, "PRE_COMMIT_FROM_REF": base, "PRE_COMMIT_TO_REF": "HEAD"}
    blocked = mlops("-C", str(root), "data", "check-pushed", env=refs)
    assert blocked.exit_code == 1, blocked.stderr
    assert "are not on remote shared: data/a.csv" in blocked.stderr

    pushed = mlops("-C", str(root), "data", "push", "--json", env=env)
    assert pushed.exit_code == 0, pushed.stderr
    assert pushed.json()["result"]["remote"] == "shared"
    assert object_path(store, md5(src)).is_file()  # DVC itself pushed it there
    passed = mlops("-C", str(root), "data", "check-pushed", "--json", env=refs)
    assert passed.exit_code == 0, passed.stderr
    assert passed.json()["result"]["remote"] == "shared"
    status = mlops("-C", str(root), "data", "status", "--remote", "--json", env=env)
    assert status.json()["datasets"][0]["on_remote"] is True


def test_parsed_as_dvc_parses_it(levels: dict[str, Path]) -> None:
    """configobj, as DVC: inline comments, quoted values (what `dvc remote add` writes for a
    URL with `,` or `#`), any-case section and key names, named sections in double quotes."""
    write(
        levels["repo"],
        b"[Core]\n    Remote = store  # the team share\n"
        b'[\'remote "store"\']\n    url = "/mnt/a,b"\n'
        b"[cache]\n    dir = '../cache # not a comment'\n",
    )
    root = levels["root"]
    info = remote_info(root, None)
    assert (info.name, info.url, info.local_folder) == ("store", "/mnt/a,b", Path("/mnt/a,b"))
    assert dvcconfig.cache_dir(root) == (root / ".dvc" / "../cache # not a comment").resolve()
    # the same values DVC's own Config class reads from these files
    from dvc.config import Config

    theirs = Config(dvc_dir=str(root / ".dvc"), validate=False)
    assert theirs["core"]["remote"] == info.name
    assert theirs["remote"]["store"]["url"] == info.url
