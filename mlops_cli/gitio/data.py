"""The git plumbing `mlops data` needs, through `gitio/run.py`: stage files, tell whether a
file has changes or is ignored, list the commits a push sends, and find the DVC files of a
tree, of a range of commits and of the work tree.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path, PurePosixPath

from mlops_cli.common.errors import ExternalToolError, InputError
from mlops_cli.gitio.porcelain import changes
from mlops_cli.gitio.run import git

ZERO_SHA = "0" * 40


def _every(path: str) -> bool:
    return True


def _git(root: Path, *args: str, stdin: bytes | None = None) -> bytes:
    return git(root, *args, input=stdin).stdout


def stage(root: Path, paths: list[str]) -> None:
    """`git add` these paths (relative to `root`); ignored paths are the caller's to filter."""
    if paths:
        _git(root, "add", "--", *paths)


def status(root: Path, paths: list[str]) -> dict[str, str]:
    """For each path: "committed", "staged", "modified" (changes not staged) or "untracked"."""
    if not paths:
        return {}
    states = dict.fromkeys(paths, "committed")
    for path, xy in changes(root, paths).items():
        if xy == "??":
            state = "untracked"
        elif xy[1] != " ":
            state = "modified"
        else:
            state = "staged"
        if path in states:
            states[path] = state
    return states


def is_clean(root: Path, path: str) -> bool:
    """Neither staged nor unstaged changes, and tracked (or absent)."""
    return status(root, [path]).get(path) == "committed"


def resolve(root: Path, ref: str) -> str | None:
    """The commit sha `ref` names, or None for the all-zero sha (a new or deleted branch)."""
    if not ref or set(ref) == {"0"}:
        return None
    try:
        return _git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").decode().strip()
    except ExternalToolError:
        raise InputError(f"{ref!r} is not a commit in {root}") from None


def commits_in_range(root: Path, from_ref: str | None, to_ref: str) -> list[str]:
    """The commits `git push` would send: `from..to`, or, without `from` (a new branch), those
    of `to` that no remote-tracking branch has."""
    spec = [f"{from_ref}..{to_ref}"] if from_ref else [to_ref, "--not", "--remotes"]
    return _git(root, "rev-list", *spec).decode().split()


def is_dvc_file(path: str) -> bool:
    name = PurePosixPath(path).name
    return name == "dvc.lock" or (name.endswith(".dvc") and name != ".dvc")


def unpushed_commits(root: Path, head: str) -> list[str]:
    """The commits of every local branch and of `head` that no remote-tracking branch has."""
    return _git(root, "rev-list", "--branches", head, "--not", "--remotes").decode().split()


def worktree_files(root: Path, patterns: list[str]) -> list[str]:
    """The files of the work tree matching `patterns`, tracked or not, not ignored."""
    listed = _git(root, "ls-files", "-z", "-co", "--exclude-standard", "--", *patterns)
    return [
        raw.decode("utf-8", "surrogateescape") for raw in sorted(set(listed.split(b"\0")) - {b""})
    ]


def tree_blobs(root: Path, rev: str, keep: Callable[[str], bool] = _every) -> dict[str, str]:
    """path -> blob sha of the files in the whole tree of `rev` (`ls-tree -r --full-tree`)
    whose path `keep` accepts."""
    tree = _git(root, "ls-tree", "-r", "-z", "--full-tree", rev)
    files: dict[str, str] = {}
    for record in tree.split(b"\0"):
        meta, _, raw_path = record.partition(b"\t")
        fields = meta.split()
        path = raw_path.decode("utf-8", "surrogateescape")
        if len(fields) == 3 and fields[1] == b"blob" and keep(path):
            files[path] = fields[2].decode()
    return files


def changed_blobs(
    root: Path, commits: list[str], keep: Callable[[str], bool] = _every
) -> dict[str, dict[str, str]]:
    """commit -> {path: new blob sha} of the files it added or changed (not those it deleted)
    against each of its parents (`git diff-tree --stdin -r -m --root --no-renames`), whose
    path `keep` accepts."""
    changed: dict[str, dict[str, str]] = {sha: {} for sha in commits}
    if not commits:
        return changed
    raw = _git(
        root, "diff-tree", "--stdin", "-r", "-m", "--root", "--no-renames", "-z",
        stdin="\n".join(commits).encode() + b"\n",
    )  # fmt: skip
    records = raw.split(b"\0")
    current: str | None = None
    i = 0
    while i < len(records):
        record = records[i].decode("utf-8", "surrogateescape")
        i += 1
        if not record.startswith(":"):
            current = record.strip() or current
            continue
        path = records[i].decode("utf-8", "surrogateescape") if i < len(records) else ""
        i += 1
        fields = record.split()
        alive = len(fields) >= 4 and fields[3] != ZERO_SHA
        if current in changed and alive and keep(path):
            changed[current][path] = fields[3]
    return changed


def ignore_rule(root: Path, path: str) -> str | None:
    """The rule that makes git ignore `path` (tracked or not), as `git check-ignore -v` prints
    it (`SOURCE:LINE:PATTERN`; a `!pattern` re-includes), or None when no rule matches."""
    proc = git(root, "check-ignore", "-v", "--no-index", "--", path, check=False)
    line = proc.stdout.decode("utf-8", "replace").strip()
    if proc.returncode != 0 or not line:
        return None
    return line.partition("\t")[0]


def in_index(root: Path, path: str) -> bool:
    """Whether `path` is in the index (`git ls-files --error-unmatch`)."""
    return git(root, "ls-files", "--error-unmatch", "--", path, check=False).returncode == 0


def tracked_under(root: Path, path: str) -> bool:
    """Whether git's index holds any file at or under `path`."""
    return bool(git(root, "--literal-pathspecs", "ls-files", "-z", "--", path).stdout)
