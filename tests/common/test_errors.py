"""common/errors.py: each error's exit code is the one docs/exit-codes.md documents, and a
pydantic location reads as one safe line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mlops_cli.common import errors
from mlops_cli.common.errors import (
    BusyError,
    CheckFailed,
    ConfigError,
    ConflictError,
    ExternalToolError,
    InputError,
    MlopsError,
    NotAProject,
    UnsafeError,
    UsageError,
    dotted_key,
)
from tests.conftest import REPO_ROOT


@pytest.mark.parametrize(
    ("cls", "code", "kind"),
    [
        (CheckFailed, 1, "check_failed"),
        (UsageError, 2, "usage"),
        (InputError, 3, "input"),
        (ConfigError, 3, "config"),
        (NotAProject, 3, "not_a_project"),
        (ExternalToolError, 3, "external_tool"),
        (UnsafeError, 4, "unsafe"),
        (BusyError, 5, "busy"),
    ],
)
def test_exit_codes_and_kinds(cls: type[MlopsError], code: int, kind: str) -> None:
    exc = cls("boom", hint="do this")
    assert (exc.exit_code, exc.kind) == (code, kind)
    assert (exc.message, exc.hint, str(exc)) == ("boom", "do this", "boom (do this)")
    assert str(cls("boom")) == "boom"


def test_a_conflict_names_its_paths() -> None:
    exc = ConflictError("would overwrite", paths=["a", "b/c"])
    assert exc.paths == ["a", "b/c"] and exc.exit_code == 3 and exc.kind == "conflict"


def test_every_exit_code_is_documented() -> None:
    table = (Path(REPO_ROOT) / "docs" / "exit-codes.md").read_text()
    documented = {int(n) for n in re.findall(r"^\| (\d+) \|", table, re.MULTILINE)}
    constants = {v for k, v in vars(errors).items() if k.startswith("EXIT_")}
    assert constants == documented


@pytest.mark.parametrize(
    ("loc", "text"),
    [
        (("models", "churn", "path"), "models.churn.path"),
        (["datasets", 0, "schema"], "datasets.0.schema"),
        (("models", "a\nb", "x"), "models.'a\\nb'.x"),  # a hostile key stays on one line
        (("datasets", " padded "), "datasets.' padded '"),
        (("datasets", ""), "datasets.''"),
    ],
)
def test_dotted_key(loc: tuple[object, ...], text: str) -> None:
    assert dotted_key(loc) == text
    assert "\n" not in dotted_key(loc)
