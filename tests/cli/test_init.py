"""cli/init.py: `mlops init` wiring: --json and --dry-run, the exit codes of a conflict, a
hostile template and bad --set syntax, --here, and what it says when done."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mlops_cli.cli.init import parse_sets
from mlops_cli.common.errors import UsageError
from tests.tpl import BASIC, make_template


def test_init_json_and_dry_run(cli: Any, tmp_path: Path) -> None:
    tpl = make_template(tmp_path / "tpl", BASIC)
    out = cli(
        "-C",
        str(tmp_path),
        "init",
        "other",
        "--template",
        str(tpl),
        "--set",
        "project_name=foo",
        "--dry-run",
        "--json",
    )
    assert out.exit_code == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["result"]["dry_run"] is True
    assert {f["path"] for f in doc["result"]["files"]} >= {"mlops.yaml", "src/foo/__init__.py"}
    assert not (tmp_path / "other").exists()


def test_init_conflict_exit_3_files_identical(cli: Any, tmp_path: Path) -> None:
    tpl = make_template(tmp_path / "tpl", BASIC)
    dest = tmp_path / "p"
    dest.mkdir()
    (dest / "README.md").write_bytes(b"mine\r\n\x00")
    out = cli("-C", str(tmp_path), "init", "p", "-t", str(tpl))
    assert out.exit_code == 3
    assert "README.md" in out.stderr and "--overwrite" in out.stderr
    assert (dest / "README.md").read_bytes() == b"mine\r\n\x00"
    assert [p.name for p in dest.iterdir()] == ["README.md"]


def test_init_hostile_template_exit_4_nothing_written(cli: Any, tmp_path: Path) -> None:
    tpl = make_template(
        tmp_path / "tpl", {**BASIC, "z.txt.jinja": "{{ ''.__class__.__mro__[1].__subclasses__() }}"}
    )
    out = cli("-C", str(tmp_path), "init", "p", "-t", str(tpl))
    assert out.exit_code == 4, out.stderr
    assert not (tmp_path / "p").exists()


def test_bad_set_syntax(cli: Any, tmp_path: Path) -> None:
    tpl = make_template(tmp_path / "tpl", BASIC)
    assert cli("-C", str(tmp_path), "init", "p", "-t", str(tpl), "--set", "oops").exit_code == 2


def test_parse_sets() -> None:
    assert parse_sets(["a=1", " b =x=y", "c="]) == {"a": "1", "b": "x=y", "c": ""}
    for bad in ("oops", "=v", " =v"):
        with pytest.raises(UsageError, match="--set takes NAME=VALUE"):
            parse_sets([bad])


def test_dry_run_lists_each_file_and_writes_nothing(cli: Any, tmp_path: Path) -> None:
    tpl = make_template(tmp_path / "tpl", BASIC)
    dest = tmp_path / "p"
    dest.mkdir()
    (dest / "README.md").write_text("mine\n")
    out = cli("-C", str(tmp_path), "init", "p", "-t", str(tpl), "--dry-run", "--overwrite",
              "README.md")  # fmt: skip
    assert out.exit_code == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == f"Would scaffold {dest} from tiny 1.0.0:"
    assert "  create    mlops.yaml" in lines
    assert "  overwrite README.md" in lines
    assert (dest / "README.md").read_text() == "mine\n"
    assert [p.name for p in dest.iterdir()] == ["README.md"]


def test_no_git_creates_the_files_and_says_so(cli: Any, tmp_path: Path) -> None:
    tpl = make_template(tmp_path / "tpl", BASIC)
    out = cli("-C", str(tmp_path), "init", "p", "-t", str(tpl), "--no-git", "--set",
              "greeting=hi")  # fmt: skip
    assert out.exit_code == 0, out.stderr
    assert out.stderr == (
        f"• rendering template tiny 1.0.0\n✓ created {tmp_path / 'p'} from template tiny 1.0.0\n"
    )  # no commit: no "first commit ... next:" line
    assert (tmp_path / "p" / "README.md").read_text() == "# p\n\nhi\n"  # the folder's name
    assert not (tmp_path / "p" / ".git").exists()


def test_here_takes_no_directory(cli: Any, tmp_path: Path) -> None:
    tpl = make_template(tmp_path / "tpl", BASIC)
    out = cli("-C", str(tmp_path), "init", "elsewhere", "--here", "-t", str(tpl), "--json")
    assert out.exit_code == 2
    assert json.loads(out.stdout)["error"]["message"] == (
        "--here adopts the current folder: give no DIR with it"
    )
    assert not (tmp_path / "elsewhere").exists()
