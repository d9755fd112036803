"""Refuse to write registry commits or tags while the repository is mid-operation.

A commit made during a rebase, merge, cherry-pick, revert or bisect lands on a HEAD that git
is about to rewrite or abandon (`git rebase --abort` drops it), and a commit on a detached
HEAD belongs to no branch. Paths come from `git rev-parse --git-path`, so linked worktrees
(whose state lives in `.git/worktrees/<name>/`) are checked where git keeps it.
"""

from __future__ import annotations

from pathlib import Path

from mlops_cli.common.errors import InputError
from mlops_cli.gitio.run import git

# marker under the git dir -> (what git is doing, how the user finishes it)
_MARKERS = (
    ("rebase-merge", "a rebase", "git rebase --continue` or `git rebase --abort"),
    ("rebase-apply", "a rebase or `git am`", "git rebase --continue` or `git rebase --abort"),
    ("MERGE_HEAD", "a merge", "git merge --continue` or `git merge --abort"),
    ("CHERRY_PICK_HEAD", "a cherry-pick", "git cherry-pick --continue` or `--abort"),
    ("REVERT_HEAD", "a revert", "git revert --continue` or `git revert --abort"),
    ("BISECT_LOG", "a bisect", "git bisect reset"),
)


class RepositoryBusy(InputError):
    """The repository is in the middle of a git operation or on a detached HEAD."""

    kind = "git_state"


def refuse_unsafe_state(root: Path, action: str) -> None:
    """Raise RepositoryBusy (exit 3) if `action` (e.g. "commit the record") must not run now."""
    names = [m[0] for m in _MARKERS]
    args = [a for n in names for a in ("--git-path", n)]
    proc = git(root, "rev-parse", "--path-format=absolute", *args, check=False)
    if proc.returncode == 0:
        paths = proc.stdout.decode("utf-8", "surrogateescape").splitlines()
        for (_marker, doing, finish), path in zip(_MARKERS, paths, strict=False):
            if Path(path).exists():
                raise RepositoryBusy(
                    f"{root}: git is in the middle of {doing}; mlops will not {action} now"
                    " (the commit would be lost or mixed into it)",
                    hint=f"finish it first (`{finish}`), then run the command again",
                )
    if git(root, "symbolic-ref", "-q", "HEAD", check=False).returncode != 0:
        raise RepositoryBusy(
            f"{root}: HEAD is detached (no branch checked out); mlops will not {action} on it",
            hint="check out a branch (`git switch BRANCH`, or `git switch -c NEW`), then run"
            " the command again",
        )
