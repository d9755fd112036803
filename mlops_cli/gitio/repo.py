"""Everything that talks to git. GitPython is imported lazily: it costs start-up time."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from mlops_cli.common.errors import ExternalToolError, InputError


def _git_error(action: str, exc: Exception) -> ExternalToolError:
    stderr = str(getattr(exc, "stderr", "") or exc).strip().replace("\n", " ")
    return ExternalToolError(f"git {action} failed: {stderr[-300:]}")


def enclosing_worktree(path: Path) -> Path | None:
    """The root of the git work tree that contains `path`, if any (without GitPython)."""
    probe = path
    while not probe.exists():
        probe = probe.parent
    try:
        out = subprocess.run(
            ["git", "-C", str(probe), "rev-parse", "--show-toplevel"],
            capture_output=True,
            text=True,
            check=False,
        )
    except FileNotFoundError:
        raise InputError("git is not installed", hint="install git and retry") from None
    return Path(out.stdout.strip()).resolve() if out.returncode == 0 else None


def require_identity(path: Path) -> None:
    """Fail before anything is written when a commit could not be made."""
    env_ok = os.environ.get("GIT_AUTHOR_NAME") and os.environ.get("GIT_AUTHOR_EMAIL")
    if env_ok:
        return
    probe = path if path.exists() else path.parent
    while not probe.exists():
        probe = probe.parent
    for key in ("user.name", "user.email"):
        out = subprocess.run(
            ["git", "-C", str(probe), "config", "--get", key],
            capture_output=True,
            text=True,
            check=False,
        )
        if out.returncode != 0 or not out.stdout.strip():
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
    """
    import git

    try:
        repo = git.Repo(root) if (root / ".git").exists() else git.Repo.init(root)
        if paths is None:
            repo.git.add(A=True)
        else:
            existing = [p for p in paths if (root / p).exists()]
            if only:
                # In an adopted repository the user's .gitignore decides: what it ignores
                # (a `/data/` rule over data/.gitkeep) is not forced in.
                existing = [p for p in existing if p not in _ignored(root, existing)]
            repo.git.add("--", *existing)
            if only:
                repo.git.commit("-m", message, "--no-verify", "--only", "--", *existing)
                return str(repo.head.commit.hexsha)
        repo.git.commit(m=message, no_verify=True)
        return str(repo.head.commit.hexsha)
    except git.GitCommandError as exc:
        raise _git_error(" ".join(str(a) for a in exc.command[1:2]), exc) from None


def _ignored(root: Path, paths: list[str]) -> set[str]:
    """Those of `paths` that git ignores and does not track."""
    if not paths:
        return set()
    proc = subprocess.run(
        ["git", "-C", str(root), "check-ignore", "--no-index", "--stdin", "-z"],
        input="\0".join(paths) + "\0",
        capture_output=True,
        text=True,
        check=False,
    )
    ignored = {p for p in proc.stdout.split("\0") if p}
    if not ignored:
        return set()
    tracked = subprocess.run(
        ["git", "-C", str(root), "ls-files", "-z", "--", *ignored],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split("\0")
    return ignored - set(tracked)


def init(root: Path) -> None:
    """`git init` unless `root` has a `.git` already.

    Not through GitPython: on Ctrl-C it leaves its `git` child running, which then goes on
    writing `.git/` into a folder that init's rollback has just removed. Here the child is
    killed and waited for before the interrupt goes on."""
    if (root / ".git").exists():
        return
    try:
        proc = subprocess.Popen(
            ["git", "init", "-q", str(root)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
    except FileNotFoundError:
        raise InputError("git is not installed", hint="install git and retry") from None
    try:
        _, err = proc.communicate()
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    if proc.returncode != 0:
        message = err.decode("utf-8", "replace").strip().replace("\n", " ")
        raise ExternalToolError(f"git init failed: {message[-300:]}")
