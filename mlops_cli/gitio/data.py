"""The git plumbing `mlops data` needs, through the `git` command (GitPython costs start-up):
stage files, tell whether a file has changes, and read the DVC files of a range of commits.
"""

from __future__ import annotations

import subprocess
from pathlib import Path, PurePosixPath

from mlops_cli.common.errors import ExternalToolError, InputError

ZERO_SHA = "0" * 40


def git(root: Path, *args: str, stdin: bytes | None = None) -> bytes:
    try:
        proc = subprocess.run(
            ["git", "-C", str(root), *args], input=stdin, capture_output=True, check=False
        )
    except FileNotFoundError:
        raise InputError("git is not installed", hint="install git and retry") from None
    if proc.returncode != 0:
        message = proc.stderr.decode("utf-8", "replace").strip().replace("\n", " ")
        raise ExternalToolError(f"git {args[0]} failed: {message[-300:]}")
    return proc.stdout


def stage(root: Path, paths: list[str]) -> None:
    """`git add` these paths (relative to `root`); ignored paths are the caller's to filter."""
    if paths:
        git(root, "add", "--", *paths)


def status(root: Path, paths: list[str]) -> dict[str, str]:
    """For each path: "committed", "staged", "modified" (changes not staged) or "untracked"."""
    if not paths:
        return {}
    out = git(root, "status", "--porcelain=v1", "-z", "--untracked-files=all", "--", *paths)
    states = dict.fromkeys(paths, "committed")
    records = out.split(b"\0")
    i = 0
    while i < len(records):
        rec = records[i].decode("utf-8", "surrogateescape")
        i += 1
        if len(rec) < 4:
            continue
        xy, path = rec[:2], rec[3:]
        if xy[0] in "RC":
            i += 1  # a rename's record is followed by its source path
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
        return git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").decode().strip()
    except ExternalToolError:
        raise InputError(f"{ref!r} is not a commit in {root}") from None


def commits_in_range(root: Path, from_ref: str | None, to_ref: str) -> list[str]:
    """The commits `git push` would send: `from..to`, or, without `from` (a new branch), those
    of `to` that no remote-tracking branch has."""
    spec = [f"{from_ref}..{to_ref}"] if from_ref else [to_ref, "--not", "--remotes"]
    return git(root, "rev-list", *spec).decode().split()


def is_dvc_file(path: str) -> bool:
    name = PurePosixPath(path).name
    return name == "dvc.lock" or (name.endswith(".dvc") and name != ".dvc")


def dvc_blobs(root: Path, commits: list[str], tip: str) -> dict[str, str]:
    """blob sha -> path of every `.dvc` file and `dvc.lock` in the tree of `tip` or written by
    one of `commits` (each blob once, however many commits share it)."""
    blobs: dict[str, str] = {}
    tree = git(root, "ls-tree", "-r", "-z", "--full-tree", tip)
    for record in tree.split(b"\0"):
        meta, _, raw_path = record.partition(b"\t")
        path = raw_path.decode("utf-8", "surrogateescape")
        fields = meta.split()
        if len(fields) == 3 and fields[1] == b"blob" and is_dvc_file(path):
            blobs.setdefault(fields[2].decode(), path)
    if commits:
        raw = git(
            root,
            "diff-tree",
            "--stdin",
            "-r",
            "-m",
            "--root",
            "--no-renames",
            "--no-commit-id",
            "-z",
            stdin="\n".join(commits).encode() + b"\n",
        )
        parts = raw.split(b"\0")
        for meta_raw, raw_path in zip(parts[::2], parts[1::2], strict=False):
            change = meta_raw.decode().split()
            path = raw_path.decode("utf-8", "surrogateescape")
            if len(change) >= 4 and change[3] != ZERO_SHA and is_dvc_file(path):
                blobs.setdefault(change[3], path)
    return blobs


def read_blobs(root: Path, shas: list[str]) -> dict[str, bytes]:
    """The content of each blob, in one `git cat-file --batch`."""
    if not shas:
        return {}
    out = git(root, "cat-file", "--batch", stdin="\n".join(shas).encode() + b"\n")
    blobs: dict[str, bytes] = {}
    pos = 0
    while pos < len(out):
        end = out.index(b"\n", pos)
        header = out[pos:end].decode().split()
        pos = end + 1
        if len(header) == 3 and header[1] == "blob":
            size = int(header[2])
            blobs[header[0]] = out[pos : pos + size]
            pos += size + 1
    return blobs
