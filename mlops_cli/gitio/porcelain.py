"""The one reader of `git status --porcelain=v1 -z`: which paths have changes, and which.

Each record is `XY PATH` ended by NUL (X: the index against HEAD, Y: the work tree against
the index; `??` untracked, `!!` ignored); a rename or copy (X is R or C) is followed by a
second NUL-ended field, its source path. With `-z` git neither quotes nor escapes a path,
so spaces, newlines and non-ASCII bytes come through as they are. Paths are relative to
the top of the work tree.
"""

from __future__ import annotations

from pathlib import Path

from mlops_cli.gitio.run import git


def parse(raw: bytes, *, errors: str = "surrogateescape") -> dict[str, str]:
    """path -> its two-letter XY code, from `git status --porcelain=v1 -z` output.

    A renamed or copied path is listed under its new name; the source is skipped. `errors`
    decodes paths that are not UTF-8 ("surrogateescape" round-trips to the file system,
    "replace" is safe to print)."""
    found: dict[str, str] = {}
    records = raw.split(b"\0")
    i = 0
    while i < len(records):
        rec = records[i].decode("utf-8", errors)
        i += 1
        if len(rec) < 4:
            continue
        xy, path = rec[:2], rec[3:]
        if xy[0] in "RC":
            i += 1  # a rename's record is followed by its source path
        found[path] = xy
    return found


def changes(root: Path, paths: list[str], *, errors: str = "surrogateescape") -> dict[str, str]:
    """Of `paths` (pathspecs), those that differ from HEAD or are untracked: path -> XY."""
    if not paths:
        return {}
    # --no-optional-locks: a read must not rewrite .git/index (git status refreshes its
    # stat cache otherwise), so read-only commands (`model diff`) leave the repo unchanged.
    raw = git(
        root,
        "--no-optional-locks",
        "status",
        "--porcelain=v1",
        "-z",
        "--untracked-files=all",
        "--",
        *paths,
    )
    return parse(raw.stdout, errors=errors)
