"""A repository as `mlops init` sees it: the enclosing work tree, the committer identity,
`git init` and the first commit. Every call goes through `gitio/run.py`."""

from __future__ import annotations

import os
from pathlib import Path

from mlops_cli.common.errors import InputError
from mlops_cli.gitio.run import git, out
from mlops_cli.gitio.state import refuse_unsafe_state


def _existing(path: Path) -> Path:
    probe = path
    while not probe.exists():
        probe = probe.parent
    return probe


def enclosing_worktree(path: Path) -> Path | None:
    """The root of the git work tree that contains `path`, if any."""
    proc = git(_existing(path), "rev-parse", "--show-toplevel", check=False)
    top = proc.stdout.decode("utf-8", "surrogateescape").strip()
    return Path(top).resolve() if proc.returncode == 0 else None


def config_get(root: Path, key: str) -> str | None:
    """The value of git config `key` as seen from `root` (all levels), or None when unset."""
    proc = git(_existing(root), "config", "--get", key, check=False)
    value = proc.stdout.decode("utf-8", "replace").strip()
    return value if proc.returncode == 0 and value else None


def version() -> str:
    """`git --version`, e.g. "git version 2.43.0"."""
    return git(None, "--version").stdout.decode("utf-8", "replace").strip()


def require_identity(path: Path) -> None:
    """Fail before anything is written when a commit could not be made."""
    env_ok = os.environ.get("GIT_AUTHOR_NAME") and os.environ.get("GIT_AUTHOR_EMAIL")
    if env_ok:
        return
    for key in ("user.name", "user.email"):
        if config_get(path, key) is None:
            raise InputError(
                f"git {key} is not set, so the first commit cannot be made",
                hint=f"run `git config --global {key} ...`, or pass --no-git",
            )


def init_and_commit(
    root: Path, message: str, paths: list[str] | None = None, *, only: bool = False
) -> str:
    """`git init` (unless `root` is a work tree already), stage `paths` (all when None),
    commit. Returns the new commit's sha. `only`: commit just `paths`, leaving whatever
    else the user had staged staged and uncommitted (an adopted repository).

    Refused (RepositoryBusy, exit 3, nothing staged or committed) when the repository is
    mid-rebase, merge, cherry-pick, revert or bisect, or on a detached HEAD.
    """
    init(root)
    refuse_unsafe_state(root, "commit what init made")
    if paths is None:
        git(root, "add", "-A")
    else:
        existing = [p for p in paths if (root / p).exists()]
        if only:
            # In an adopted repository the user's .gitignore decides: what it ignores
            # (a `/data/` rule over data/.gitkeep) is not forced in.
            existing = [p for p in existing if p not in _ignored(root, existing)]
        git(root, "add", "--", *existing)
        if only:
            git(root, "commit", "-m", message, "--no-verify", "--only", "--", *existing)
            return out(root, "rev-parse", "HEAD")
    git(root, "commit", "-m", message, "--no-verify")
    return out(root, "rev-parse", "HEAD")


def _ignored(root: Path, paths: list[str]) -> set[str]:
    """Those of `paths` that git ignores and does not track."""
    if not paths:
        return set()
    proc = git(
        root,
        "check-ignore",
        "--no-index",
        "--stdin",
        "-z",
        input=("\0".join(paths) + "\0").encode("utf-8", "surrogateescape"),
        check=False,
    )
    ignored = {p for p in proc.stdout.decode("utf-8", "surrogateescape").split("\0") if p}
    if not ignored:
        return set()
    tracked = git(root, "ls-files", "-z", "--", *ignored, check=False).stdout
    return ignored - set(tracked.decode("utf-8", "surrogateescape").split("\0"))


def init(root: Path) -> None:
    """`git init` unless `root` has a `.git` already.

    Not through GitPython: on Ctrl-C it leaves its `git` child running, which then goes on
    writing `.git/` into a folder that init's rollback has just removed. The runner kills
    the child and waits for it before the interrupt goes on."""
    if (root / ".git").exists():
        return
    git(None, "init", "-q", str(root))
