"""What a project owes its DVC remote: the one definition `data push`, `data pull`,
`data check-pushed` (the pre-push hook), `status --remote` and the scaffold's CI share.

The *obligations* of a set of revisions are the DVC objects those revisions reference and
DVC itself would push (`dvc push --rev`/`--all-tags`): the outputs recorded in their `.dvc`
files and `dvc.lock`, with the flags DVC takes from where DVC takes them, checked against
`dvc status -c` output kind by output kind (tests/data/test_obligations.py):

- a `dvc.lock` output counts only when its stage and output are still declared in the
  `dvc.yaml` beside it (DVC loads stages from `dvc.yaml`; a lock entry without one is
  ignored), and `cache: false` / `push: false` come from that `dvc.yaml` (`dvc.lock`
  does not repeat them). Lock paths are relative to the stage's `wdir`;
- `metrics`, `plots` and `persist: true` outputs are cached and pushed like any other
  unless `cache: false`; `foreach`/`matrix` stages (`name@key` in `dvc.lock`) take their
  flags from the templated definition (`${...}` matches any text);
- a `.dvc` file carries its own flags; an import from another DVC repository (`deps`
  with `repo:`) is not pushed (DVC fetches it from that repository), an `import-url` is;
- a folder needs its `.dir` listing and every file in it.

The revisions a push owes are every commit not yet on a git remote and every commit a
registered version tag (`NAME@vX.Y.Z`) or stage tag (`NAME#STAGE#N`) points at, so the
model in prod reaches the remote even after newer versions were trained; `data push` and
`status --remote` add the workspace. Reading git and YAML only, this never imports DVC.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import Any

from mlops_cli.common.errors import ConfigError, InputError
from mlops_cli.dvc import files as dvcfiles
from mlops_cli.dvc.files import Output, join_posix
from mlops_cli.gitio import data as datagit
from mlops_cli.gitio import objects as gitobjects

Oid = tuple[str, bool]  # (md5, legacy)
WORKSPACE = "workspace"


@dataclass(frozen=True)
class Need:
    """One object a revision needs on the remote, and why."""

    path: str  # the output holding it
    md5: str
    legacy: bool
    source: str  # "data/x.csv.dvc" or "dvc.lock:train"
    rev: str  # a commit sha, or WORKSPACE


@dataclass(frozen=True)
class Revisions:
    """The revisions whose data a push owes the remote: commit sha -> the names people know
    it by (a registry tag, "HEAD", a branch), plus the workspace when asked."""

    commits: dict[str, list[str]]
    workspace: bool

    def label(self, rev: str) -> str:
        if rev == WORKSPACE:
            return WORKSPACE
        names = self.commits.get(rev) or []
        return names[0] if names else rev[:8]


# ---------------------------------------------------------------- DVC's rules, one tree


@dataclass(frozen=True)
class _Decl:
    pattern: re.Pattern[str]
    exact: bool
    cache: bool
    push: bool


def _declared(yaml_text: bytes | None, base: str) -> dict[str, tuple[str, list[_Decl]]]:
    """stage name -> (its wdir, relative to the root; the outputs it declares)."""
    if yaml_text is None:
        return {}
    try:
        data = dvcfiles.load_yaml(yaml_text, f"{base}/dvc.yaml")
    except ConfigError:
        return {}
    stages = data.get("stages") if isinstance(data, dict) else None
    found: dict[str, tuple[str, list[_Decl]]] = {}
    for name, stage in (stages if isinstance(stages, dict) else {}).items():
        if not isinstance(stage, dict):
            continue
        do = stage.get("do")
        body = do if "foreach" in stage and isinstance(do, dict) else stage
        wdir = body.get("wdir", stage.get("wdir", "."))
        stage_dir = join_posix(base, wdir if isinstance(wdir, str) else ".")
        decls: list[_Decl] = []
        for key in ("outs", "metrics", "plots"):
            raw = body.get(key)
            for item in raw if isinstance(raw, list) else []:
                flags: dict[Any, Any] = {}
                if isinstance(item, str):
                    path: Any = item
                elif isinstance(item, dict) and len(item) == 1:
                    path, given = next(iter(item.items()))
                    flags = given if isinstance(given, dict) else {}
                else:
                    continue
                if isinstance(path, str):
                    decls.append(_decl(join_posix(stage_dir, path), flags))
        found[str(name)] = (stage_dir, decls)
    return found


def _decl(path: str, flags: dict[Any, Any]) -> _Decl:
    exact = "${" not in path
    if exact:
        pattern = re.compile(re.escape(path))
    else:
        pieces = re.split(r"\$\{[^}]*\}", path)
        pattern = re.compile(".+".join(re.escape(p) for p in pieces))
    return _Decl(pattern, exact, flags.get("cache", True) is not False,
                 flags.get("push", True) is not False)  # fmt: skip


def tree_outputs(files: Mapping[str, bytes]) -> list[Output]:
    """The outputs DVC sees in one tree, given its DVC files (path -> bytes: `.dvc` files,
    `dvc.lock` and the `dvc.yaml` beside each), with DVC's flags applied."""
    outs: list[Output] = []
    for path, text in sorted(files.items()):
        pure = PurePosixPath(path)
        folder = pure.parent.as_posix()
        if pure.name == "dvc.lock":
            outs += _lock_outputs(text, files.get(join_posix(folder, "dvc.yaml")), path, folder)
        elif pure.name.endswith(".dvc"):
            found = dvcfiles.parse_outputs(text, path, folder)
            if _is_repo_import(text):
                found = [replace(o, push=False) for o in found]
            outs += found
    return outs


def _lock_outputs(lock: bytes, dvc_yaml: bytes | None, path: str, folder: str) -> list[Output]:
    declared = _declared(dvc_yaml, folder)
    try:
        data = dvcfiles.load_yaml(lock, path)
    except ConfigError:
        return []
    stages = data.get("stages") if isinstance(data, dict) else None
    outs: list[Output] = []
    for name, stage in (stages if isinstance(stages, dict) else {}).items():
        definition = declared.get(str(name).split("@", 1)[0])
        if definition is None or not isinstance(stage, dict):
            continue  # DVC ignores a lock entry whose stage dvc.yaml no longer declares
        stage_dir, decls = definition
        for out in dvcfiles.outs_of(stage.get("outs"), f"{path}:{name}", stage_dir):
            decl = _match(decls, out.path)
            if decl is not None:
                outs.append(replace(out, cache=decl.cache, push=decl.push))
    return outs


def _match(decls: list[_Decl], path: str) -> _Decl | None:
    exact = [d for d in decls if d.exact and d.pattern.fullmatch(path)]
    if exact:
        return exact[0]
    return next((d for d in decls if d.pattern.fullmatch(path)), None)


def _is_repo_import(text: bytes) -> bool:
    try:
        data = dvcfiles.load_yaml(text)
    except ConfigError:
        return False
    deps = data.get("deps") if isinstance(data, dict) else None
    return any(isinstance(d, dict) and isinstance(d.get("repo"), dict) for d in deps or [])


def is_dvc_metadata(path: str) -> bool:
    name = PurePosixPath(path).name
    return name == "dvc.yaml" or datagit.is_dvc_file(path)


# ---------------------------------------------------------------- where the trees come from


def workspace_files(root: Path) -> dict[str, bytes]:
    """The DVC files of the work tree (tracked or not, not ignored)."""
    listed = datagit.worktree_files(root, ["*.dvc", "*dvc.lock", "*dvc.yaml"])
    files: dict[str, bytes] = {}
    for path in listed:
        if is_dvc_metadata(path):
            try:
                files[path] = (root / path).read_bytes()
            except OSError:
                continue  # deleted in the work tree but still in the index
    return files


def workspace_outputs(root: Path) -> list[Output]:
    """The outputs DVC sees in the work tree."""
    return tree_outputs(workspace_files(root))


def registry_commits(root: Path) -> dict[str, list[str]]:
    """commit sha -> the registry tags (versions and stage assignments) pointing at it."""
    from mlops_cli.gitio.refs import list_tags
    from mlops_cli.registry.tags import parse_tag

    found: dict[str, list[str]] = {}
    for tag in list_tags(root):
        event = parse_tag(tag)
        if event is not None and event.action in ("register", "assign"):
            found.setdefault(tag.target, []).append(tag.name)
    return found


def revisions(
    root: Path,
    *,
    from_ref: str | None = None,
    to_ref: str | None = None,
    workspace: bool = False,
) -> Revisions:
    """The revisions a push owes: the commits `git push` would send (`from_ref..to_ref`;
    without `from_ref`, those of `to_ref` — else of every local branch — no remote-tracking
    branch has), the tip itself, and every registry-tagged commit."""
    commits: dict[str, list[str]] = {}
    tip = datagit.resolve(root, to_ref) if to_ref else None
    if to_ref is not None and tip is None:
        pass  # a branch being deleted: nothing of its own to send
    elif tip is not None:
        base = datagit.resolve(root, from_ref) if from_ref else None
        for sha in datagit.commits_in_range(root, base, tip):
            commits.setdefault(sha, [])
        commits.setdefault(tip, []).insert(0, to_ref or tip)
    else:
        head = _head(root)
        if head is not None:
            for sha in datagit.unpushed_commits(root, head):
                commits.setdefault(sha, [])
            commits.setdefault(head, []).insert(0, "HEAD")
    for sha, tags in registry_commits(root).items():
        commits.setdefault(sha, [])[:0] = tags
    return Revisions(commits, workspace)


def _head(root: Path) -> str | None:
    try:
        return datagit.resolve(root, "HEAD")
    except InputError:  # an unborn branch: no commit yet
        return None


def needs(root: Path, revs: Revisions) -> dict[Oid, list[Need]]:
    """Every object the revisions need on the remote, with each output that holds it."""
    cache = dvcfiles.cache_dir(root)
    found: dict[Oid, list[Need]] = {}
    if revs.workspace:
        _add(found, cache, workspace_outputs(root), WORKSPACE)
    for sha, outs in _commit_outputs(root, revs.commits).items():
        _add(found, cache, outs, sha)
    return found


def _add(found: dict[Oid, list[Need]], cache: Path, outs: Iterable[Output], rev: str) -> None:
    for out in outs:
        if not out.pushable or out.md5 is None:
            continue
        for oid in dvcfiles.object_ids(cache, out) or [(out.md5, out.legacy)]:
            held = found.setdefault(oid, [])
            if not any(n.path == out.path for n in held):  # once per output, first rev wins
                held.append(Need(out.path, oid[0], oid[1], out.source, rev))


def _commit_outputs(root: Path, commits: Mapping[str, list[str]]) -> dict[str, list[Output]]:
    """Each commit's outputs: whole trees for the named commits (tip, tags), the DVC files a
    commit changed for the others (a file it did not change was checked with its parent)."""
    if not commits:
        return {}
    named = [sha for sha, names in commits.items() if names]
    listed: dict[str, dict[str, str]] = {sha: _tree_dvc_files(root, sha) for sha in named}
    changed = _changed_dvc_files(root, [sha for sha in commits if sha not in listed])
    # A changed dvc.lock is read with its dvc.yaml, a changed dvc.yaml with its dvc.lock.
    companions: list[str] = []
    for sha, files in changed.items():
        for path in list(files):
            folder = PurePosixPath(path).parent.as_posix()
            name = PurePosixPath(path).name
            other = {"dvc.lock": "dvc.yaml", "dvc.yaml": "dvc.lock"}.get(name)
            if other and join_posix(folder, other) not in files:
                companions.append(f"{sha}:{join_posix(folder, other)}")
    for spec, blob in gitobjects.blob_ids(root, companions).items():
        sha, _, path = spec.partition(":")
        changed[sha][path] = blob
    listed.update(changed)
    contents = gitobjects.read_objects(
        root, sorted({b for f in listed.values() for b in f.values()})
    )
    memo: dict[frozenset[tuple[str, str]], list[Output]] = {}
    result: dict[str, list[Output]] = {}
    for sha, files in listed.items():
        key = frozenset(files.items())
        if key not in memo:
            memo[key] = tree_outputs({p: contents.get(b, b"") for p, b in files.items()})
        result[sha] = memo[key]
    return result


def _tree_dvc_files(root: Path, sha: str) -> dict[str, str]:
    return datagit.tree_blobs(root, sha, keep=is_dvc_metadata)


def _changed_dvc_files(root: Path, commits: list[str]) -> dict[str, dict[str, str]]:
    """commit -> {path: blob} of the DVC files it added or changed."""
    return datagit.changed_blobs(root, commits, keep=is_dvc_metadata)
