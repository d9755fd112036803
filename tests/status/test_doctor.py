"""`mlops doctor`'s git checks, with real git and with a PATH that has no git."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_cli.status import doctor


def test_git_and_identity_found(tmp_path: Path) -> None:
    git = doctor._git()
    assert git.status == "ok" and git.detail.startswith("git version ")
    assert doctor._git_identity(tmp_path).status == "ok"  # the test environment sets them


def test_identity_missing_names_the_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GIT_AUTHOR_EMAIL")
    check = doctor._git_identity(tmp_path)
    assert check.status == "fail" and check.required
    assert "user.email" in check.detail and "user.name" not in check.detail
    assert check.fix == 'git config --global user.email "..."'


def test_no_git_on_path_is_reported_not_raised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("GIT_AUTHOR_NAME")
    assert doctor._git().status == "fail"
    identity = doctor._git_identity(tmp_path)
    assert identity.status == "fail" and "git is not on PATH" in identity.detail
