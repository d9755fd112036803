"""dvc/repo.py: DVC driven in-process (init, add, remote add) with real DVC and git, stdout
kept clean for --json, DVC's messages sent to the reporter, failures one ExternalToolError."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from mlops_cli.common.errors import ExternalToolError
from mlops_cli.common.yamlio import load_yaml
from mlops_cli.dvc import repo as dvcrepo


class Recorder:
    def __init__(self) -> None:
        self.warnings: list[str] = []
        self.details: list[str] = []

    def step(self, message: str) -> None:
        pass

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    def detail(self, message: str) -> None:
        self.details.append(message)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    return tmp_path


def test_init_add_and_a_remote_print_nothing_on_stdout(
    root: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    reporter = Recorder()
    dvcrepo.init(root, reporter)
    assert (root / ".dvc" / "config").is_file()
    dvcrepo.init(root, reporter)  # again: a no-op
    data = root / "data" / "raw.csv"
    data.parent.mkdir()
    data.write_text("a,b\n1,2\n")
    dvcrepo.add(root, ["data/raw.csv"], reporter)
    dvcrepo.add(root, [], reporter)  # nothing to add: DVC is not even opened
    tracked = load_yaml(root / "data" / "raw.csv.dvc").data
    assert tracked["outs"][0]["path"] == "raw.csv" and tracked["outs"][0]["md5"]
    assert "/raw.csv" in (root / "data" / ".gitignore").read_text()
    dvcrepo.add_remote(root, "local", "/srv/dvc", reporter=reporter)
    dvcrepo.add_remote(root, "other", "s3://bucket/x", default=False, reporter=reporter)
    config = (root / ".dvc" / "config").read_text()
    assert "remote = local" in config
    assert "['remote \"local\"']" in config and "url = /srv/dvc" in config
    assert "url = s3://bucket/x" in config
    out = capfd.readouterr().out
    assert out == ""  # DVC's own prints went to the reporter
    assert all(line.startswith("dvc: ") for line in reporter.details + reporter.warnings)


def test_a_dvc_failure_is_one_external_tool_error(root: Path) -> None:
    dvcrepo.init(root)
    with pytest.raises(ExternalToolError, match=r"^dvc add failed: ") as info:
        dvcrepo.add(root, ["no/such/file.csv"])
    assert "\n" not in info.value.message
    assert info.value.exit_code == 3


def test_init_outside_git_is_an_external_tool_error(tmp_path: Path) -> None:
    folder = tmp_path / "plain"
    folder.mkdir()
    with pytest.raises(ExternalToolError, match=r"^dvc init failed: .*git"):
        dvcrepo.init(folder)
    assert not (folder / ".dvc").exists()
