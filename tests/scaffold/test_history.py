"""Older template versions kept as reverse patches: rebuilt byte for byte, added by a release."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mlops_cli.common.errors import ConfigError, InputError
from mlops_cli.scaffold import history
from mlops_cli.scaffold.history import PATCH_FILE, add_entry, is_entry, materialize
from mlops_cli.scaffold.templates import builtin_root, load_template_dir
from tests.tpl import make_template

ROOT = Path(__file__).resolve().parents[2]
SPEC = "name: evolving\nversion: {version}\n"
V1: dict[str, str | bytes] = {
    "mlops.yaml.jinja": "schema_version: 1\n",
    "README.md": "# Title\n\nIntro.\n",
    "config.txt": "".join(f"setting_{i} = {i}\n" for i in range(20)),
    "dropped-in-v2.txt": "only in v1\n",
    "logo.bin": bytes(range(256)) * 4,
    "run.sh": "#!/bin/sh\necho v1\n",
    "dönër/ünïcode name.txt": "ü\n",
}
V2: dict[str, str | bytes] = {
    **{k: v for k, v in V1.items() if k != "dropped-in-v2.txt"},
    "config.txt": "".join(f"setting_{i} = {i * 10}\n" for i in range(20)),
    "logo.bin": bytes(reversed(range(256))) * 4,
    "added-in-v2.txt": "new\n",
}
V3: dict[str, str | bytes] = {**V2, "README.md": "# Title\n\nBetter intro.\n"}


def tree(root: Path) -> dict[str, tuple[bytes, bool]]:
    """Every file's bytes and whether it is executable."""
    return {
        p.relative_to(root).as_posix(): (p.read_bytes(), os.access(p, os.X_OK))
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def version(root: Path, files: dict[str, str | bytes], v: str, *, exe: bool) -> Path:
    shutil.rmtree(root, ignore_errors=True)
    make_template(root, files, SPEC.format(version=v))
    (root / "project" / "run.sh").chmod(0o755 if exe else 0o644)
    return root


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(cwd), *args], capture_output=True, text=True, check=True
    ).stdout


@pytest.mark.parametrize(
    "entry",
    sorted((builtin_root() / history.HISTORY_DIR).glob("*/*")),
    ids=lambda p: f"{p.parent.name}-{p.name}",
)
def test_every_packaged_entry_rebuilds_its_version(entry: Path, tmp_path: Path) -> None:
    """Each packaged patch applies, down the chain to today's template, and gives a template
    of the version it is named for; only the patch is stored, no copy of the files."""
    assert sorted(p.name for p in entry.iterdir()) == [PATCH_FILE]
    rebuilt = materialize(entry, tmp_path)
    tpl = load_template_dir(rebuilt, builtin=True)
    assert tpl.version == entry.name
    assert tpl.name == entry.parent.name
    current = load_template_dir(builtin_root() / entry.parent.name, builtin=True)
    assert tree(rebuilt) != tree(current.root)
    assert len((entry / PATCH_FILE).read_bytes()) < 16_000


def test_a_chain_of_releases_rebuilds_every_old_version(tmp_path: Path) -> None:
    """Changed, added and removed files, a binary file, a mode change and non-ASCII names:
    v1 and v2 come back exactly after two releases, each of which added one patch."""
    work = tmp_path / "work"
    history_dir = tmp_path / "templates" / history.HISTORY_DIR
    current = tmp_path / "templates" / "evolving"
    v1 = tree(version(work / "evolving", V1, "1.0.0", exe=False))
    shutil.copytree(work / "evolving", work / "v1")
    version(current, V2, "2.0.0", exe=True)
    add_entry(history_dir, current, work / "v1")
    v2 = tree(current)
    shutil.copytree(current, work / "v2")
    version(current, V3, "3.0.0", exe=True)
    add_entry(history_dir, current, work / "v2")

    assert tree(materialize(history_dir / "evolving" / "2.0.0", tmp_path / "a")) == v2
    assert tree(materialize(history_dir / "evolving" / "1.0.0", tmp_path / "b")) == v1
    first = (history_dir / "evolving" / "1.0.0" / PATCH_FILE).read_text().splitlines()[0]
    assert first == "mlops template history: evolving 1.0.0, as a patch against 2.0.0"
    # load_template_dir takes an entry as it takes a template folder
    assert load_template_dir(history_dir / "evolving" / "1.0.0", builtin=True).version == "1.0.0"


def test_the_patch_applies_inside_another_git_work_tree(tmp_path: Path) -> None:
    """A temp folder inside a checkout (TMPDIR=~/src/x/tmp) must not make `git apply`
    patch paths relative to that checkout."""
    outer = tmp_path / "checkout"
    outer.mkdir()
    git(outer, "init", "-q")
    templates = outer / "templates"
    old = version(tmp_path / "old" / "evolving", V1, "1.0.0", exe=False)
    version(templates / "evolving", V2, "2.0.0", exe=True)
    add_entry(templates / history.HISTORY_DIR, templates / "evolving", old)
    into = outer / "tmp"
    into.mkdir()
    rebuilt = materialize(templates / history.HISTORY_DIR / "evolving" / "1.0.0", into)
    assert tree(rebuilt) == tree(old)


def test_a_release_adds_its_entry_from_git(tmp_path: Path) -> None:
    """`make template-history TEMPLATE=<name>`: the version committed at HEAD becomes a patch
    against the bumped working tree; a second run, or one before the bump, changes nothing."""
    repo = tmp_path / "repo"
    templates = repo / "templates"
    version(templates / "evolving", V1, "1.0.0", exe=False)
    git(repo.parent, "init", "-q", str(repo))
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "release 1.0.0")
    released = tree(templates / "evolving")

    def run() -> subprocess.CompletedProcess[str]:
        venv = tmp_path / "venv"
        venv.mkdir(exist_ok=True)
        (venv / ".installed").touch()  # `make setup` is done: the venv is this interpreter's
        return subprocess.run(
            [
                *("make", "-s", "-C", str(ROOT), "template-history", "TEMPLATE=evolving"),
                *(f"TEMPLATES={templates}", f"VENV={venv}", f"BIN={Path(sys.executable).parent}"),
            ],
            capture_output=True,
            text=True,
            check=False,
        )

    before = run()
    assert before.returncode != 0, before.stdout + before.stderr
    assert "still version 1.0.0" in before.stderr and "Error 3" in before.stderr
    assert not (templates / history.HISTORY_DIR).exists()

    version(templates / "evolving", V2, "2.0.0", exe=True)
    done = run()
    assert done.returncode == 0, done.stdout + done.stderr
    entry = templates / history.HISTORY_DIR / "evolving" / "1.0.0"
    assert f"wrote {entry / PATCH_FILE}" in done.stdout
    assert is_entry(entry)
    assert tree(materialize(entry, tmp_path / "out")) == released

    again = run()
    assert again.returncode != 0 and "exists already" in again.stderr
    assert sorted(p.name for p in entry.iterdir()) == [PATCH_FILE]


def test_no_such_template_or_revision_is_exit_3(tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    version(templates / "evolving", V1, "1.0.0", exe=False)
    missing = history.main(["nope", "--templates", str(templates)])
    assert missing == 3
    not_git = history.main(["evolving", "--templates", str(templates)])
    assert not_git == 3
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "r")
    assert history.main(["evolving", "--from", "no-such-rev", "--templates", str(templates)]) == 3


def test_a_damaged_or_misnamed_entry_is_a_config_error(tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    old = version(tmp_path / "old" / "evolving", V1, "1.0.0", exe=False)
    version(templates / "evolving", V2, "2.0.0", exe=True)
    patch = add_entry(templates / history.HISTORY_DIR, templates / "evolving", old)
    entry = patch.parent
    good = patch.read_bytes()

    patch.write_bytes(good.replace(b"against 2.0.0", b"against 9.9.9", 1))
    with pytest.raises(ConfigError, match=r"against evolving 9\.9\.9, but .* is version 2\.0\.0"):
        materialize(entry, tmp_path / "a")
    patch.write_bytes(good.replace(b"evolving 1.0.0", b"evolving 1.0.1", 1))
    with pytest.raises(ConfigError, match="first line must read"):
        materialize(entry, tmp_path / "b")
    patch.write_bytes(good.replace(b"-setting_3 = 30", b"-setting_3 = 31"))
    with pytest.raises(ConfigError, match="does not apply"):
        materialize(entry, tmp_path / "c")
    patch.write_bytes(good)
    (templates / "evolving" / "template.yaml").write_text(SPEC.format(version="2.0.1"))
    with pytest.raises(ConfigError, match=r"is version 2\.0\.1"):
        materialize(entry, tmp_path / "d")


def test_an_entry_that_would_not_rebuild_is_not_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check before writing: a patch that does not give the released files back (here a
    diff that lost its last file) raises and leaves no entry behind."""
    templates = tmp_path / "templates"
    old = version(tmp_path / "old" / "evolving", V1, "1.0.0", exe=False)
    version(templates / "evolving", V2, "2.0.0", exe=True)
    real = history.diff

    def lossy(*args: object, **kwargs: object) -> bytes:
        text = real(*args, **kwargs)  # type: ignore[arg-type]
        return text[: text.rindex(b"diff --git")]

    monkeypatch.setattr(history, "diff", lossy)
    with pytest.raises(InputError, match=r"does not rebuild evolving 1\.0\.0"):
        add_entry(templates / history.HISTORY_DIR, templates / "evolving", old)
    assert not (templates / history.HISTORY_DIR / "evolving" / "1.0.0").exists()
