"""dvc/driver.py: DVC driven in-process: where a remote is, the default remote `mlops init`
configures, track/push/fetch/checkout against a real local remote, `remote_has`, and the
message for a missing DVC plugin."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from mlops_cli.common.errors import InputError
from mlops_cli.common.progress import NullReporter
from mlops_cli.common.yamlio import parse_yaml
from mlops_cli.dvc import driver
from mlops_cli.dvc import repo as dvcrepo
from mlops_cli.dvc.files import cache_dir, object_path, read_outputs


def test_the_default_remote_lives_outside_the_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(driver.REMOTES_DIR_ENV, str(tmp_path / "remotes"))
    first = driver.default_remote("schema_version: 1\nproject: churn\n", "churn")
    second = driver.default_remote("schema_version: 1\nproject: churn\n", "churn")
    assert first is not None and second is not None
    assert first.name == "local"
    assert Path(first.url).parent == tmp_path / "remotes"
    assert Path(first.url).name.startswith("churn-") and first.url != second.url
    assert driver.default_remote("project: churn\nremote: s3store\n", "churn") is None
    monkeypatch.delenv(driver.REMOTES_DIR_ENV)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    third = driver.default_remote("project: p\n", "p")
    assert third is not None and Path(third.url).parent == tmp_path / "xdg" / "mlops" / "remotes"


def test_the_remote_setting_goes_before_inits_record() -> None:
    text = "schema_version: 1\nproject: p\n\n# Written by `mlops init`: the template...\n"
    text += "template:\n  name: minimal\n"
    out = driver.with_remote_setting(text, "local")
    assert parse_yaml(out.encode(), "mlops.yaml").data["remote"] == "local"
    assert out.index("remote: local") < out.index("# Written by `mlops init`")
    plain = driver.with_remote_setting("project: p\n", "local")
    assert parse_yaml(plain.encode(), "mlops.yaml").data == {"project": "p", "remote": "local"}


def test_a_missing_plugin_names_what_to_install() -> None:
    s3 = driver.missing_plugin("s3 is supported, but requires 'dvc-s3' to be installed: x")
    assert s3 is not None and "s3:// URL, which needs the dvc-s3 package" in s3.message
    assert s3.hint == "run `pip install 'mlops-cli[s3]'`"
    gs = driver.missing_plugin("gs is supported, but requires 'dvc-gs' to be installed")
    assert gs is not None and gs.hint == "run `pip install dvc-gs`"
    assert driver.missing_plugin("No module named 'yaml'") is None  # a bug, not a plugin


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "p"
    root.mkdir()
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    dvcrepo.init(root)
    dvcrepo.add_remote(root, "local", str(tmp_path / "remote"))
    return root


def test_track_push_fetch_checkout_round_trip(root: Path, tmp_path: Path) -> None:
    reporter = NullReporter()
    data = root / "data" / "a.csv"
    data.parent.mkdir()
    data.write_bytes(b"id\n1\n2\n")
    driver.track(root, data, reporter)
    (out,) = read_outputs(root, root / "data" / "a.csv.dvc")
    assert out.path == "data/a.csv"
    assert out.md5 and object_path(cache_dir(root), out.md5).is_file()
    info = driver.remote_info(root, None)
    assert info.name == "local" and info.local_folder == tmp_path / "remote"
    assert driver.remote_has(root, "local", [(out.md5, False)], reporter) == set()
    assert driver.push(root, "local", reporter) == 1
    assert driver.remote_has(root, "local", [(out.md5, False)], reporter) == {(out.md5, False)}
    # Lose the workspace copy and the cache; fetch and check out bring both back.
    data.unlink()
    object_path(cache_dir(root), out.md5).unlink()
    fetched, failed = driver.fetch(root, "local", reporter)
    assert (fetched, failed) == (1, 0)
    done = driver.checkout(root, ["data/a.csv"], reporter)
    assert data.read_bytes() == b"id\n1\n2\n"
    assert "data/a.csv" in done.added and not done.failed


def test_a_remote_that_does_not_exist_is_an_input_error(root: Path) -> None:
    with pytest.raises(InputError) as info:
        driver.push(root, "nope", NullReporter())
    assert info.value.exit_code == 3 and "nope" in info.value.message
