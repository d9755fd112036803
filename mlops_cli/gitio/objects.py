"""The one reader of `git cat-file --batch` (and `--batch-check`): many objects, one call.

Each request is one line, an object name: a sha, or `REV:PATH`. git answers, in order,
`<sha> <type> <size>` then the content and a newline, or `<request> missing` (or
`ambiguous`) with no content. A request may contain spaces (`HEAD:my data.csv.dvc`), so an
answer is a miss when it is the request itself followed by one word, not when it has two
fields. A request cannot contain a newline (git reads one per line): such a name is not
asked for and counts as missing.
"""

from __future__ import annotations

from pathlib import Path

from mlops_cli.gitio.run import git


def _requests(specs: list[str]) -> list[str]:
    return [s for s in dict.fromkeys(specs) if s and "\n" not in s]


def _stdin(specs: list[str]) -> bytes:
    return "".join(f"{s}\n" for s in specs).encode("utf-8", "surrogateescape")


def _header(line: bytes, spec: str) -> tuple[str, str, int] | None:
    """(sha, type, size) of an answer line, or None when git says the object is not there."""
    asked = spec.encode("utf-8", "surrogateescape") + b" "
    if line.startswith(asked) and line[len(asked) :] in (b"missing", b"ambiguous"):
        return None
    fields = line.split()
    if len(fields) != 3 or not fields[2].isdigit():
        return None
    return fields[0].decode(), fields[1].decode(), int(fields[2])


def read_objects(root: Path, specs: list[str]) -> dict[str, bytes]:
    """object name (`sha` or `REV:PATH`) -> the bytes of those that exist and are blobs."""
    wanted = _requests(specs)
    if not wanted:
        return {}
    data = git(root, "cat-file", "--batch", input=_stdin(wanted)).stdout
    found: dict[str, bytes] = {}
    pos = 0
    for spec in wanted:
        end = data.index(b"\n", pos)
        header = _header(data[pos:end], spec)
        pos = end + 1
        if header is None:
            continue
        _sha, kind, size = header
        if kind == "blob":
            found[spec] = data[pos : pos + size]
        pos += size + 1  # a tree or commit: its content is skipped
    return found


def read_blobs(root: Path, rev: str, paths: list[str]) -> dict[str, bytes]:
    """Files at `rev` in one call: path -> bytes, for those that are there."""
    found = read_objects(root, [f"{rev}:{p}" for p in paths])
    return {p: found[f"{rev}:{p}"] for p in paths if f"{rev}:{p}" in found}


def blob_ids(root: Path, specs: list[str]) -> dict[str, str]:
    """object name -> blob sha, for those that exist and are blobs (`--batch-check`)."""
    wanted = _requests(specs)
    if not wanted:
        return {}
    raw = git(root, "cat-file", "--batch-check", input=_stdin(wanted)).stdout
    found: dict[str, str] = {}
    for spec, line in zip(wanted, raw.split(b"\n"), strict=False):
        header = _header(line, spec)
        if header is not None and header[1] == "blob":
            found[spec] = header[0]
    return found
