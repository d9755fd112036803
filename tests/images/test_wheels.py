"""images/wheels.py: the wheelhouse an image installs from: manylinux tags for the base
image's glibc, wheels downloaded once per (pins, platform) with pip and cached, a lock of
what was downloaded, and a clear error when pip cannot resolve them."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_cli.common.errors import ExternalToolError, InputError
from mlops_cli.images.wheels import LOCK_FILE, Platform, normalize, resolve_wheels

PLATFORM = Platform(python="3.11", machine="x86_64", glibc="2.36")


def test_manylinux_tags_for_the_images_glibc() -> None:
    tags = PLATFORM.platform_tags()
    assert tags[0] == "manylinux_2_36_x86_64" and tags[31] == "manylinux_2_5_x86_64"
    assert tags[-3:] == ["manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64"]
    assert PLATFORM.abi == "cp311"
    old = Platform("3.8", "aarch64", "2.12").platform_tags()
    assert "manylinux2014_aarch64" not in old and "manylinux2010_aarch64" in old
    with pytest.raises(InputError, match="libc is not glibc"):
        Platform("3.11", "x86_64", None).platform_tags()


@pytest.mark.parametrize(("raw", "name"), [("Scikit_Learn", "scikit-learn"), ("a.b__c", "a-b-c")])
def test_normalize(raw: str, name: str) -> None:
    assert normalize(raw) == name


def test_a_wheelhouse_is_downloaded_once_and_locked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLOPS_WHEEL_CACHE", str(tmp_path / "cache"))
    first = resolve_wheels({"Six": "1.17.0"}, PLATFORM)
    assert not first.cached
    assert first.pins == {"six": "1.17.0"} and first.locked == {"six": "1.17.0"}
    assert [w.name for w in first.wheels] == ["six-1.17.0-py2.py3-none-any.whl"]
    assert (first.folder / LOCK_FILE).read_text() == "six==1.17.0\n" == first.lock_text
    again = resolve_wheels({"six": "1.17.0"}, PLATFORM)
    assert again.cached and again.folder == first.folder
    other = resolve_wheels({"six": "1.17.0"}, Platform("3.12", "x86_64", "2.36"))
    assert other.folder != first.folder  # another python: another wheelhouse
    assert [p.name for p in (tmp_path / "cache").iterdir() if p.name.startswith(".")] == []


def test_pins_pip_cannot_resolve(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLOPS_WHEEL_CACHE", str(tmp_path / "cache"))
    with pytest.raises(ExternalToolError, match=r"could not resolve wheels for python 3\.11"):
        resolve_wheels({"six": "0.0.0"}, PLATFORM)
    assert list((tmp_path / "cache").iterdir()) == []  # no half-made wheelhouse left
