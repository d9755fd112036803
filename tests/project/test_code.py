"""`code:` in mlops.yaml: which folders go on sys.path, the source hash, the wheel."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mlops_cli.common.errors import ConfigError
from mlops_cli.project import code as projectcode
from mlops_cli.project.root import Project, load_config


def project(root: Path, code: str | None) -> Project:
    root.mkdir(exist_ok=True)
    text = "schema_version: 1\nproject: demo\n"
    if code is not None:
        text += f"code:\n  path: {code}\n"
    (root / "mlops.yaml").write_text(text)
    return Project(root=root, config=load_config(root / "mlops.yaml"))


def package(folder: Path) -> None:
    (folder / "sub").mkdir(parents=True)
    (folder / "__init__.py").write_text("")
    (folder / "sub" / "__init__.py").write_text("")
    (folder / "sub" / "feats.py").write_text("def double(x):\n    return 2 * x\n")
    (folder / "__pycache__").mkdir()
    (folder / "__pycache__" / "junk.cpython-311.pyc").write_bytes(b"\0")


def test_a_package_folder_puts_its_parent_on_sys_path(tmp_path: Path) -> None:
    proj = project(tmp_path / "p", "src")
    package(proj.root / "src")
    code = projectcode.find(proj)
    assert code is not None
    assert code.kind == "package" and code.packages == ["src"]
    assert code.sys_path == [proj.root.resolve()]
    assert all("__pycache__" not in str(f) for f in code.files)
    again = projectcode.find(proj)
    assert again is not None and again.sha256 == code.sha256
    (proj.root / "src" / "sub" / "feats.py").write_text("def double(x):\n    return x + x\n")
    changed = projectcode.find(proj)
    assert changed is not None and changed.sha256 != code.sha256
    assert projectcode.trusted_prefixes(proj) == ("src",)
    assert projectcode.is_under("src.sub.feats.double", ("src",))
    assert not projectcode.is_under("srcx.f", ("src",))


def test_the_project_itself_in_src_layout(tmp_path: Path) -> None:
    proj = project(tmp_path / "p", ".")
    (proj.root / "pyproject.toml").write_text("[project]\nname = 'demo'\nversion = '1'\n")
    package(proj.root / "src" / "demo_pkg")
    code = projectcode.find(proj)
    assert code is not None and code.kind == "project"
    assert code.packages == ["demo_pkg"] and code.sys_path == [(proj.root / "src").resolve()]


@pytest.mark.parametrize(
    ("code", "make", "message"),
    [
        (".", False, "no pyproject.toml"),
        ("nope", False, "not a folder"),
        ("../outside", True, "outside the project"),
    ],
)
def test_bad_code_paths_are_config_errors(
    tmp_path: Path, code: str, make: bool, message: str
) -> None:
    if make:
        (tmp_path / "outside").mkdir()
    proj = project(tmp_path / "p", code)
    with pytest.raises(ConfigError, match=message) as info:
        projectcode.find(proj)
    assert info.value.exit_code == 3


def test_the_wheel_of_a_package_folder_is_deterministic_and_installs(tmp_path: Path) -> None:
    proj = project(tmp_path / "p", "src")
    package(proj.root / "src")
    code = projectcode.find(proj)
    assert code is not None
    first = projectcode.build_wheel(proj, code, tmp_path / "w1")
    second = projectcode.build_wheel(proj, code, tmp_path / "w2")
    assert first.name == second.name and first.read_bytes() == second.read_bytes()
    assert projectcode.wheel_modules([first]) == {"src"}
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-deps",
         "--target", str(target), str(first)],
        check=True, capture_output=True,
    )  # fmt: skip
    out = subprocess.run(
        [sys.executable, "-c", "from src.sub.feats import double; print(double(21))"],
        cwd=tmp_path, env={"PYTHONPATH": str(target)}, capture_output=True, text=True,
        check=True,
    )  # fmt: skip
    assert out.stdout.strip() == "42"


def test_missing_modules_names_what_the_image_lacks() -> None:
    refs = ["src.f.g", "helpers.same", "collections.OrderedDict", "sklearn.x.Y", "helpers.b"]
    assert projectcode.missing_modules(refs, {"src", "sklearn"}) == ["helpers"]


def test_missing_module_hint_points_to_code(tmp_path: Path) -> None:
    proj = project(tmp_path / "p", None)
    package(proj.root / "src")
    hint = projectcode.missing_module_hint(proj, "No module named 'src'")
    assert hint is not None and "code: {path: src}" in hint
    assert projectcode.missing_module_hint(proj, "No module named 'lightgbm'") is None
