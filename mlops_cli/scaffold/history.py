"""Older versions of the built-in templates, kept as reverse patches for `template update`.

The three-way merge of `mlops template update` needs the version a project was made from.
A built-in template keeps each older version as one file, `_history/<name>/<version>/
changes.patch`: a `git diff` that turns the next newer version (the next entry, or the
template itself for the newest entry) back into that version. Its first line names both:

    mlops template history: sklearn-classifier 1.1.0, as a patch against 1.2.0

So a release adds one small patch and leaves the older ones as they are (they stay patches
against versions that can still be rebuilt). `materialize` rebuilds a version by copying the
template and applying the patches newest first; `add_entry` (`make template-history`) writes
the entry of the version a release replaces, from git, and checks that it rebuilds that
version byte for byte before keeping it.
"""

from __future__ import annotations

import argparse
import atexit
import filecmp
import re
import shutil
import sys
import tarfile
import tempfile
from pathlib import Path

from mlops_cli.common.errors import ConfigError, InputError
from mlops_cli.common.fs import atomic_write_bytes
from mlops_cli.common.yamlio import load_yaml
from mlops_cli.gitio import repo as gitrepo
from mlops_cli.gitio.run import git

HISTORY_DIR = "_history"
PATCH_FILE = "changes.patch"
_SPEC_FILE = "template.yaml"  # templates.SPEC_FILE; templates imports this module
_HEADER = re.compile(
    r"^mlops template history: (?P<name>\S+) (?P<version>\S+), as a patch against "
    r"(?P<against>\S+)$"
)


def is_entry(folder: Path) -> bool:
    """A history entry (a patch, no template files of its own)."""
    return (folder / PATCH_FILE).is_file() and not (folder / _SPEC_FILE).exists()


def against(entry: Path) -> str:
    """The version the entry's patch applies to."""
    patch = entry / PATCH_FILE
    with patch.open("rb") as fh:
        first = fh.readline().decode("utf-8", errors="replace").rstrip("\n")
    match = _HEADER.match(first)
    if match is None or match["version"] != entry.name or match["name"] != entry.parent.name:
        raise ConfigError(
            f"{patch}: the first line must read 'mlops template history: "
            f"{entry.parent.name} {entry.name}, as a patch against <newer version>'"
        )
    return match["against"]


def materialize(entry: Path, into: Path) -> Path:
    """Rebuild the template version of `entry` as a folder under `into`; that folder."""
    newer_version = against(entry)
    newer = entry.parent / newer_version
    if is_entry(newer):
        base = materialize(newer, into)
    else:
        base = entry.parent.parent.parent / entry.parent.name  # <root>/_history/<name>/<v>
        found = _version_of(base)
        if found != newer_version:
            raise ConfigError(
                f"{entry / PATCH_FILE}: a patch against {entry.parent.name} {newer_version}, "
                f"but the template at {base} is version {found}"
            )
    out = into / f"{entry.parent.name}-{entry.name}"
    shutil.copytree(base, out, symlinks=True)
    _apply(entry / PATCH_FILE, out)
    return out


def scratch() -> Path:
    """A temporary folder for this process's rebuilt versions, removed when it exits."""
    folder = Path(tempfile.mkdtemp(prefix="mlops-template-history-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def _version_of(folder: Path) -> str:
    data = load_yaml(folder / _SPEC_FILE).data
    return str(data.get("version")) if isinstance(data, dict) else "unknown"


def _git_env(cwd: Path) -> dict[str, str]:
    # Never let git find a repository around the temp folder (TMPDIR inside a checkout):
    # `git apply` would then patch paths relative to that repository's top.
    return {"GIT_CEILING_DIRECTORIES": str(cwd.parent)}


def _apply(patch: Path, folder: Path) -> None:
    proc = git(
        folder,
        *("apply", "-p2", "--whitespace=nowarn", str(patch.resolve())),
        env=_git_env(folder),
        check=False,
    )
    if proc.returncode != 0:
        detail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[:1]
        raise ConfigError(
            f"{patch}: does not apply to the version it names"
            + (f" ({detail[0]})" if detail else "")
        )


def diff(new: Path, old: Path, *, name: str, old_version: str, new_version: str) -> bytes:
    """The entry's patch: what turns the folder `new` into the folder `old`."""
    with tempfile.TemporaryDirectory(prefix="mlops-template-diff-") as tmp:
        work = Path(tmp)
        shutil.copytree(new, work / "new", symlinks=True)
        shutil.copytree(old, work / "old", symlinks=True)
        proc = git(
            work,
            *("-c", "core.quotePath=false", "-c", "diff.noprefix=false"),
            *("-c", "diff.mnemonicPrefix=false"),
            "diff",
            "--no-index",
            "--binary",
            "--no-renames",
            "--no-color",
            "--no-ext-diff",
            "--src-prefix=a/",
            "--dst-prefix=b/",
            "new",
            "old",
            env=_git_env(work),
            check=False,
        )
    if proc.returncode not in (0, 1):
        raise InputError(f"git diff failed: {proc.stderr.decode(errors='replace').strip()}")
    header = f"mlops template history: {name} {old_version}, as a patch against {new_version}\n"
    return header.encode() + proc.stdout


def add_entry(history: Path, new: Path, old: Path) -> Path:
    """Write the entry for the template version in `old`, as a patch against `new` (the
    version that replaces it), after checking that it rebuilds `old` exactly."""
    name = new.name
    old_version, new_version = _version_of(old), _version_of(new)
    if old_version == new_version:
        raise InputError(
            f"{new}: still version {new_version}, the same as the released one",
            hint=f"raise `version:` in {new / _SPEC_FILE} first",
        )
    entry = history / name / old_version
    if entry.exists():
        raise InputError(f"{entry} exists already: version {old_version} has its entry")
    patch = diff(new, old, name=name, old_version=old_version, new_version=new_version)
    with tempfile.TemporaryDirectory(prefix="mlops-template-check-") as tmp:
        # Check the patch in a copy laid out as the real one, before it is written.
        root = Path(tmp)
        shutil.copytree(new, root / name, symlinks=True)
        (root / HISTORY_DIR / name / old_version).mkdir(parents=True)
        atomic_write_bytes(root / HISTORY_DIR / name / old_version / PATCH_FILE, patch)
        (root / "out").mkdir()
        rebuilt = materialize(root / HISTORY_DIR / name / old_version, root / "out")
        differences = _tree_differences(rebuilt, old)
        if differences:
            raise InputError(
                f"the patch does not rebuild {name} {old_version}: {', '.join(differences[:5])}"
            )
    entry.mkdir(parents=True)
    atomic_write_bytes(entry / PATCH_FILE, patch)
    return entry / PATCH_FILE


def _tree_differences(a: Path, b: Path) -> list[str]:
    def files(root: Path) -> dict[str, Path]:
        return {p.relative_to(root).as_posix(): p for p in root.rglob("*") if not p.is_dir()}

    fa, fb = files(a), files(b)
    out = sorted(set(fa) ^ set(fb))
    for rel in sorted(set(fa) & set(fb)):
        same_mode = (fa[rel].stat().st_mode & 0o111) == (fb[rel].stat().st_mode & 0o111)
        if not same_mode or not filecmp.cmp(fa[rel], fb[rel], shallow=False):
            out.append(rel)
    return out


def released_tree(templates: Path, name: str, rev: str, into: Path) -> Path:
    """The folder `templates/<name>` as committed at `rev`, extracted under `into`."""
    repo = gitrepo.enclosing_worktree(templates)
    if repo is None:
        raise InputError(f"{templates} is not in a git work tree")
    prefix = (templates.resolve() / name).relative_to(repo).as_posix()
    archive = into / "released.tar"
    proc = git(repo, "archive", "--format=tar", "-o", str(archive), rev, prefix, check=False)
    if proc.returncode != 0:
        stderr = proc.stderr.decode("utf-8", "replace").strip()
        raise InputError(f"no {prefix} at {rev} in {repo}: {stderr}")
    with tarfile.open(archive) as tar:
        tar.extractall(into / "released", filter="data")
    return into / "released" / prefix


def main(argv: list[str] | None = None) -> int:
    """`python -m mlops_cli.scaffold.history NAME [--from REV] [--templates DIR]`."""
    parser = argparse.ArgumentParser(
        prog="python -m mlops_cli.scaffold.history",
        description="Add the history entry of the template version a release replaces: "
        "the template as committed at REV, as a patch against the working tree's version.",
    )
    parser.add_argument("name", help="the built-in template, e.g. sklearn-classifier")
    parser.add_argument("--from", dest="rev", default="HEAD", help="the released commit")
    parser.add_argument(
        "--templates",
        type=Path,
        default=Path(__file__).resolve().parents[2] / "templates",
        help="the templates folder (default: this checkout's)",
    )
    args = parser.parse_args(argv)
    templates: Path = args.templates
    try:
        if not (templates / args.name / _SPEC_FILE).is_file():
            raise InputError(f"no template {args.name!r} in {templates}")
        with tempfile.TemporaryDirectory(prefix="mlops-template-released-") as tmp:
            old = released_tree(templates, args.name, args.rev, Path(tmp))
            written = add_entry(templates / HISTORY_DIR, templates / args.name, old)
    except (InputError, ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    print(f"wrote {written} ({written.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
