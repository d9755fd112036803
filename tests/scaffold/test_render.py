"""Rendering: strict, sandboxed, contained."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mlops_cli.common.errors import InputError, UnsafeError
from mlops_cli.scaffold.render import render_files
from tests.tpl import BASIC, make_template

CTX = {"project_name": "demo", "greeting": "hi"}


def test_only_jinja_files_render_and_paths_render(tmp_path: Path) -> None:
    root = make_template(tmp_path / "t", BASIC)
    files = {f.rel: f.content for f in render_files(root, CTX)}
    assert files["README.md"] == b"# demo\n\nhi\n"
    assert files["ci.yml"] == b"run: echo ${{ github.sha }}\n"  # copied verbatim
    assert "src/demo/__init__.py" in files


def test_empty_segment_drops_the_file(tmp_path: Path) -> None:
    root = make_template(tmp_path / "t", {"{% if false %}x.txt{% endif %}": "x", "y.txt": "y"})
    assert [f.rel for f in render_files(root, CTX)] == ["y.txt"]


def test_undefined_variable_is_an_input_error_with_line(tmp_path: Path) -> None:
    root = make_template(tmp_path / "t", {"a.txt.jinja": "ok\n{{ nope }}\n"})
    with pytest.raises(InputError, match=r"project/a.txt.jinja:2: 'nope' is undefined") as info:
        render_files(root, CTX)
    assert info.value.exit_code == 3


@pytest.mark.parametrize(
    "payload",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
        "{{ self._TemplateReference__context }}",
        "{% set x = [].append(1) %}{{ x }}",
    ],
)
def test_reaching_python_internals_is_refused(tmp_path: Path, payload: str) -> None:
    root = make_template(tmp_path / "t", {"evil.txt.jinja": payload})
    with pytest.raises((UnsafeError, InputError)) as info:
        render_files(root, CTX)
    # `.append` on an immutable sandbox and dunder access are both security errors.
    if "append" in payload or "__" in payload:
        assert info.value.exit_code == 4


@pytest.mark.parametrize("value", ["..", "../../escape", "/etc/passwd", ".git", "a\\b", "."])
def test_paths_escaping_the_destination_are_refused(tmp_path: Path, value: str) -> None:
    root = make_template(tmp_path / "t", {"{{ greeting }}/x.txt": "x"})
    with pytest.raises(UnsafeError):
        render_files(root, {**CTX, "greeting": value})


def test_symlink_out_of_the_template_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    root = make_template(tmp_path / "t", {"a.txt": "a"})
    os.symlink(secret, root / "project" / "leak.txt")
    with pytest.raises(UnsafeError, match="points outside"):
        render_files(root, CTX)


def test_include_outside_the_template_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    root = make_template(tmp_path / "t", {"a.txt.jinja": "{% include 'partials/leak' %}"})
    (root / "partials").mkdir()
    os.symlink(secret, root / "partials" / "leak")
    with pytest.raises(UnsafeError):
        render_files(root, CTX)
