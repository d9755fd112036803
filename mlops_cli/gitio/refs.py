"""Git plumbing for the registry: read tags and committed files, commit one file, make tags.

`commit_file` commits exactly one path (and, with `also`, a signature bundle beside it) on
top of HEAD without touching the user's other staged or unstaged changes (a temporary
index), and moves HEAD and creates any annotated
tags in ONE `git update-ref --stdin` transaction: either the record commit and its tag both
exist, or neither does. HEAD moves only if it still points where we read it (compare and
swap), so two writers cannot both win. Hooks do not run: mlops writes metadata, not code.
With `sign`, git signs the commit and the tags before that transaction (`gitio/signing.py`).

Every call goes through `gitio/run.py` (plain `git` subprocesses, not GitPython: each call is
one process and the transaction semantics are git's own).
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mlops_cli.common.errors import ExternalToolError, InputError
from mlops_cli.common.fs import atomic_write_bytes
from mlops_cli.common.signals import shielded
from mlops_cli.gitio.porcelain import changes
from mlops_cli.gitio.run import git, out
from mlops_cli.gitio.state import refuse_unsafe_state

_FIELDS = 7  # fields per tag in list_tags' for-each-ref format


def head_or_none(root: Path) -> str | None:
    """The commit HEAD names, or None (no commit yet, or not a git repository)."""
    proc = git(root, "rev-parse", "HEAD", check=False)
    return proc.stdout.decode().strip() or None if proc.returncode == 0 else None


def head(root: Path) -> str:
    proc = git(root, "rev-parse", "--verify", "-q", "HEAD^{commit}", check=False)
    if proc.returncode != 0:
        raise InputError(
            f"{root}: the git repository has no commit yet",
            hint="commit the project first (`git add -A && git commit`)",
        )
    return proc.stdout.decode().strip()


@dataclass(frozen=True)
class TagInfo:
    name: str
    annotated: bool
    target: str  # the commit the tag points at (peeled)
    time: int  # tagger time, unix seconds (0 for lightweight tags)
    tagger: str
    message: str


def list_tags(root: Path, patterns: Sequence[str] = ()) -> list[TagInfo]:
    """Every tag (or those matching `patterns`, for-each-ref's globs under refs/tags/, e.g.
    `churn@*`) with its target commit, tagger time and message, in one git call."""
    fmt = "%00".join(
        [
            "%(refname:strip=2)",
            "%(objecttype)",
            "%(*objectname)",
            "%(objectname)",
            "%(taggerdate:unix)",
            "%(taggername) %(taggeremail)",
            "%(contents)",
            "",
        ]
    )
    where = [f"refs/tags/{p}" for p in patterns] or ["refs/tags"]
    raw = git(root, "for-each-ref", f"--format={fmt}", *where).stdout
    tags = []
    # Each tag is its fields, each ended by NUL, and then the newline git adds.
    for entry in raw.decode("utf-8", "replace").split("\0\n"):
        parts = entry.split("\0")
        if len(parts) != _FIELDS:
            continue
        name, kind, peeled, obj, when, tagger, message = parts
        annotated = kind == "tag"
        tags.append(
            TagInfo(
                name=name,
                annotated=annotated,
                target=peeled if annotated else obj,
                time=int(when) if when.strip().isdigit() else 0,
                tagger=tagger.strip(),
                message=message.strip(),
            )
        )
    return tags


def ref_commits(root: Path) -> dict[str, list[str]]:
    """commit -> the names of every branch (local and remote-tracking), tag and HEAD that
    point at it (tags peeled to their commit; a ref to a tree or a blob is not a commit)."""
    fmt = "%(objecttype) %(objectname) %(*objecttype) %(*objectname) %(refname:short)"
    raw = git(root, "for-each-ref", f"--format={fmt}", "refs/heads", "refs/remotes", "refs/tags")
    found: dict[str, list[str]] = {}
    for line in raw.stdout.decode("utf-8", "replace").splitlines():
        kind, sha, peeled_kind, peeled, name = (line.split(" ", 4) + [""] * 5)[:5]
        if kind == "commit":
            found.setdefault(sha, []).append(name)
        elif kind == "tag" and peeled_kind == "commit":
            found.setdefault(peeled, []).append(name)
    head = head_or_none(root)
    if head is not None:
        found.setdefault(head, []).insert(0, "HEAD")
    return found


def read_blob(root: Path, rev: str, path: str) -> bytes | None:
    """The bytes of `path` at `rev`, or None when it is not there."""
    proc = git(root, "cat-file", "blob", f"{rev}:{path}", check=False)
    return proc.stdout if proc.returncode == 0 else None


def ls_tree(root: Path, rev: str, folder: str) -> list[str]:
    proc = git(root, "ls-tree", "-r", "--name-only", "-z", rev, "--", folder, check=False)
    if proc.returncode != 0:
        return []
    return [p for p in proc.stdout.decode("utf-8", "replace").split("\0") if p]


def ls_tree_ids(root: Path, rev: str, folder: str) -> dict[str, str]:
    """path -> blob id of every file under `folder` at `rev` (empty when there is none)."""
    proc = git(root, "ls-tree", "-r", "-z", rev, "--", folder, check=False)
    if proc.returncode != 0:
        return {}
    found: dict[str, str] = {}
    for entry in proc.stdout.decode("utf-8", "replace").split("\0"):
        meta, tab, path = entry.partition("\t")
        fields = meta.split()
        if tab and len(fields) == 3 and fields[1] == "blob":
            found[path] = fields[2]
    return found


def dirty_paths(root: Path, paths: list[str]) -> dict[str, str]:
    """Of `paths`, those whose work tree or index differs from HEAD: path -> what differs."""
    if not paths:
        return {}
    return {
        path: {
            "??": "not committed (untracked)",
            "!!": "ignored by git, not committed",
        }.get(code, "modified, not committed" if "D" not in code else "deleted, not committed")
        for path, code in changes(root, paths, errors="replace").items()
    }


def is_tracked(root: Path, path: str, rev: str = "HEAD") -> bool:
    return git(root, "cat-file", "-e", f"{rev}:{path}", check=False).returncode == 0


@dataclass(frozen=True)
class NewTag:
    name: str
    message: str
    target: str | None = None  # None: the commit made by commit_file


def _tag_object(root: Path, tag: NewTag, target: str, *, sign: bool = False) -> str:
    if sign:
        from mlops_cli.gitio.signing import signed_tag

        return signed_tag(root, tag.name, tag.message, target)
    ident = out(root, "var", "GIT_COMMITTER_IDENT")
    body = f"object {target}\ntype commit\ntag {tag.name}\ntagger {ident}\n\n{tag.message}\n"
    return git(root, "mktag", input=body.encode()).stdout.decode().strip()


def _transaction(root: Path, lines: list[str], reason: str) -> None:
    proc = git(
        root, "update-ref", "-m", reason, "--stdin", input="".join(lines).encode(), check=False
    )
    if proc.returncode != 0:
        stderr = proc.stderr.decode("utf-8", "replace").strip().replace("\n", " ")
        raise ConflictWithGit(stderr)


class ConflictWithGit(InputError):
    """A ref moved or a tag appeared while we wrote: nothing was changed."""

    kind = "conflict"

    def __init__(self, detail: str) -> None:
        super().__init__(
            f"another process changed the branch or created the tag meanwhile: {detail[-300:]}",
            hint="nothing was written; look at `git log` and `git tag`, then run the command again",
        )


def create_tags(root: Path, tags: list[NewTag], reason: str, *, sign: bool = False) -> None:
    """Create annotated tags atomically: all of them or none (an existing name refuses all).
    With `sign`, each is signed by git (`gitio/signing.py`) before any ref is created."""
    refuse_unsafe_state(root, "create tags")
    lines = []
    for tag in tags:
        assert tag.target is not None
        obj = _tag_object(root, tag, tag.target, sign=sign)
        lines.append(f"create refs/tags/{tag.name} {obj}\n")
    _transaction(root, lines, reason)


def delete_tags(root: Path, names: list[str], reason: str) -> None:
    """Delete tags in one transaction (all or none): undoing tags this process just made."""
    lines = "".join(f"delete refs/tags/{n}\n" for n in names)
    git(root, "update-ref", "-m", reason, "--stdin", input=lines.encode())


def commit_file(
    root: Path,
    rel_path: str,
    content: bytes,
    message: str,
    *,
    expect_head: str,
    tags: Sequence[NewTag] = (),
    also: Sequence[tuple[str, bytes]] = (),
    remove: Sequence[str] = (),
    sign: bool = False,
) -> str:
    """Write `rel_path` in the work tree and commit only it on HEAD, plus `tags`, atomically.

    `also` are more (path, content) pairs committed in the same commit (a signature bundle
    beside its record); `remove` are tracked paths the same commit deletes. With `sign`,
    the commit and the tags are signed by git before any ref moves or any work-tree file
    is written. Returns the new commit. On any failure the
    work-tree files are restored and HEAD, the index and the tags are as before. Refused
    (exit 3, nothing written) mid-rebase, merge, cherry-pick, revert or bisect, and on a
    detached HEAD.
    """
    refuse_unsafe_state(root, f"commit {rel_path}")
    files = [(rel_path, content), *also]
    blobs = [
        (rel, git(root, "hash-object", "-w", "--stdin", input=data).stdout.decode().strip())
        for rel, data in files
    ]
    with tempfile.TemporaryDirectory(prefix="mlops-index-") as tmp:
        env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
        git(root, "read-tree", expect_head, env=env)
        for rel, blob in blobs:
            git(root, "update-index", "--add", "--cacheinfo", f"100644,{blob},{rel}", env=env)
        if remove:
            git(root, "update-index", "--force-remove", "--", *remove, env=env)
        tree = git(root, "write-tree", env=env).stdout.decode().strip()
    args = ["commit-tree", tree, "-p", expect_head, *(["-S"] if sign else []), "-F", "-"]
    made = git(root, *args, input=message.encode(), check=not sign)
    if made.returncode != 0:
        from mlops_cli.gitio.signing import signing_failed

        raise signing_failed("record commit", made.stderr)
    commit = made.stdout.decode().strip()
    lines = [f"update HEAD {commit} {expect_head}\n"]
    for tag in tags:
        obj = _tag_object(root, tag, tag.target or commit, sign=sign)
        lines.append(f"create refs/tags/{tag.name} {obj}\n")
    before = {rel: _read_or_none(root / rel) for rel in [*(r for r, _ in files), *remove]}
    # From the work-tree writes to the user's index, one span a Ctrl-C or SIGTERM cannot
    # split: HEAD moved without the index (status `MM` ever after) was seen in CI.
    with shielded():
        try:
            for rel, data in files:
                atomic_write_bytes(root / rel, data)
            for rel in remove:
                with contextlib.suppress(FileNotFoundError):
                    (root / rel).unlink()
            _transaction(root, lines, message.splitlines()[0])
        except BaseException:
            for rel, old in before.items():
                if old is None:
                    with contextlib.suppress(OSError):
                        (root / rel).unlink()
                else:
                    atomic_write_bytes(root / rel, old)
            raise
        # The user's index learns the new blobs for these paths (one call); their other
        # entries stay.
        cacheinfo = [a for rel, blob in blobs for a in ("--cacheinfo", f"100644,{blob},{rel}")]
        git(root, "update-index", "--add", *cacheinfo, check=False)
        if remove:
            git(root, "update-index", "--force-remove", "--", *remove, check=False)
    return commit


def undo_commit(
    root: Path, commit: str, parent: str, tags: Sequence[str], paths: Sequence[str]
) -> None:
    """Take back what `commit_file` just did: HEAD back to `parent` (only if it is still at
    `commit`) and `tags` deleted in one transaction, then `paths` in the work tree and the
    user's index as they are at `parent` (a path absent there is removed)."""
    lines = [f"update HEAD {parent} {commit}\n", *(f"delete refs/tags/{t}\n" for t in tags)]
    with shielded():
        _transaction(root, lines, "mlops: undo")
        for rel in paths:
            data = read_blob(root, parent, rel)
            if data is None:
                with contextlib.suppress(FileNotFoundError):
                    (root / rel).unlink()
                git(root, "update-index", "--force-remove", "--", rel, check=False)
            else:
                atomic_write_bytes(root / rel, data)
                git(root, "reset", "-q", parent, "--", rel, check=False)


def _read_or_none(path: Path) -> bytes | None:
    return path.read_bytes() if path.is_file() else None


def push(root: Path, refs: list[str]) -> str:
    """Push `refs` (e.g. HEAD and tags) to the branch's upstream remote, else `origin`."""
    remote = "origin"
    upstream = git(root, "rev-parse", "--abbrev-ref", "--symbolic-full-name", "@{u}", check=False)
    if upstream.returncode == 0 and "/" in upstream.stdout.decode():
        remote = upstream.stdout.decode().strip().split("/", 1)[0]
    if git(root, "remote", "get-url", remote, check=False).returncode != 0:
        raise InputError(
            f"cannot push: the repository has no remote {remote!r}",
            hint="add one (`git remote add origin URL`) and push with `git push --follow-tags`",
        )
    proc = git(root, "push", "--atomic", "--porcelain", remote, *refs, check=False)
    if proc.returncode != 0:
        stderr = proc.stderr.decode("utf-8", "replace").strip().replace("\n", " ")
        raise ExternalToolError(
            f"git push to {remote} failed: {stderr[-300:]}",
            hint=f"the local commit and tags are in place; push them with `git push {remote} "
            + " ".join(refs)
            + "`",
        )
    return remote


def remotes(root: Path) -> list[str]:
    """The names of the repository's git remotes (none when it is not a repository)."""
    return git(root, "remote", check=False).stdout.decode().split()


def remote_url(root: Path, name: str) -> str | None:
    """The URL of remote `name` as configured, or None when there is no such remote."""
    proc = git(root, "remote", "get-url", name, check=False)
    url = proc.stdout.decode("utf-8", "replace").strip()
    return url if proc.returncode == 0 and url else None


def remote_tags(root: Path, remote: str) -> set[str] | None:
    """The tag names `remote` has (`git ls-remote --tags`), or None when it cannot be asked."""
    proc = git(root, "ls-remote", "--tags", remote, check=False)
    if proc.returncode != 0:
        return None
    return {
        line.split("refs/tags/", 1)[1].removesuffix("^{}")
        for line in proc.stdout.decode().splitlines()
        if "refs/tags/" in line
    }
