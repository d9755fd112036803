"""Access control for stages: the signatures `policy:` in mlops.yaml requires (docs/security.md).

    check_policy(project, name, version, stage, *, promotion_tag=None) -> list[str]
        why `name@version` may not count as being in `stage` (empty: it may). `promote`
        and `status --check` both ask this one function.
    verify_signature(root, kind, ref, signers_file) -> Signature
        the one place a signature is verified (`git verify-tag` / `git verify-commit`).

Who may sign comes from two places, and only one of them is the repository's: the policy
in mlops.yaml names groups of principals, but a principal counts only when the signing key
is listed for it in an allowed-signers file that the local user or the CI provides:
`MLOPS_ALLOWED_SIGNERS`, else `gpg.ssh.allowedSignersFile` of the user's global git config.
The repository's own `.git/config` and work tree are never read for it (a clone writes
them), and git is told the file on its command line, which outranks every config file.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from mlops_cli.common.errors import MlopsError
from mlops_cli.common.yamlio import parse_yaml
from mlops_cli.gitio import objects as gitobjects
from mlops_cli.gitio import run as gitrun
from mlops_cli.project.root import Project
from mlops_cli.registry import tags as regtags
from mlops_cli.registry.layout import record_path

ALLOWED_SIGNERS_ENV = "MLOPS_ALLOWED_SIGNERS"
_SSH_GOOD = re.compile(r'Good "git" signature for (?P<who>.+?) with \S+ key')
_GPG_GOOD = re.compile(r"^\[GNUPG:\] GOODSIG [0-9A-Fa-f]+ .*?<(?P<who>[^>]+)>", re.MULTILINE)


@dataclass(frozen=True)
class Signature:
    ok: bool
    principal: str | None  # who signed, as the allowed-signers file (or GPG) names them
    detail: str  # why not, when not ok


def allowed_signers_file() -> Path | None:
    """`MLOPS_ALLOWED_SIGNERS`, else the global git config's `gpg.ssh.allowedSignersFile`."""
    env = os.environ.get(ALLOWED_SIGNERS_ENV, "").strip()
    if env:
        return Path(env).expanduser()
    try:
        proc = subprocess.run(
            ["git", "config", "--global", "--type=path", "--get", "gpg.ssh.allowedSignersFile"],
            capture_output=True,
            check=False,
            cwd=Path.home() if Path.home().is_dir() else None,
        )
    except FileNotFoundError:
        return None
    value = proc.stdout.decode("utf-8", "replace").strip()
    return Path(value).expanduser() if proc.returncode == 0 and value else None


def verify_signature(
    root: Path, kind: Literal["tag", "commit"], ref: str, signers_file: Path
) -> Signature:
    """Verify the signature of a tag or commit with git itself (SSH or GPG signatures).

    The programs and the allowed-signers file are set on git's command line, so a
    repository's `.git/config` cannot point verification at its own program or list.
    """
    proc = subprocess.run(
        [
            "git",
            "-C",
            str(root),
            "-c",
            f"gpg.ssh.allowedSignersFile={signers_file}",
            "-c",
            "gpg.ssh.program=ssh-keygen",
            "-c",
            "gpg.program=gpg",
            # An SSH key not in the list verifies as "good, unknown key": not enough.
            "-c",
            "gpg.minTrustLevel=fully",
            f"verify-{kind}",
            "--raw",
            ref,
        ],
        capture_output=True,
        check=False,
    )
    text = (proc.stderr + proc.stdout).decode("utf-8", "replace")
    found = _SSH_GOOD.search(text) or _GPG_GOOD.search(text)
    if proc.returncode == 0 and found:
        return Signature(True, found["who"].strip(), "")
    if "non-tag object" in text:
        return Signature(False, None, "is a lightweight tag, which cannot carry a signature")
    if "no signature found" in text or not text.strip():
        return Signature(False, None, "is not signed")
    if "No principal matched" in text or 'Good "git" signature with' in text:
        return Signature(False, None, f"is signed by a key that {signers_file} does not list")
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return Signature(False, None, f"does not verify ({first[:200] or 'not signed'})")


def recording_commit(root: Path, name: str, version: str) -> str | None:
    """The commit that recorded the version's current test results: the oldest commit of
    the newest run of commits that leave `tests` as HEAD has it (an image commit on top of
    the record does not count as recording the tests)."""
    rel = record_path(name, version)
    commits = gitrun.out(root, "log", "--format=%H", "HEAD", "--", rel).split()
    if not commits:
        return None
    blobs = gitobjects.read_objects(root, [f"{c}:{rel}" for c in commits])

    def tests_at(commit: str) -> Any:
        raw = blobs.get(f"{commit}:{rel}")
        if not raw:
            return None
        try:
            data = parse_yaml(raw, f"{rel} at {commit[:10]}").data
        except MlopsError:
            return None
        return data.get("tests") if isinstance(data, dict) else None

    current = tests_at(commits[0])
    if not current:
        return None
    found = None
    for commit in commits:
        if tests_at(commit) != current:
            break
        found = commit
    return found


def check_policy(
    project: Project,
    name: str,
    version: str,
    stage: str,
    *,
    promotion_tag: str | None = None,
    promotion_pending: bool = False,
) -> list[str]:
    """Why `name@version` does not meet the policy of `stage` (empty: it does, or there is
    none). `promotion_tag` is the stage tag to verify; None before it exists (promote).
    `promotion_pending`: promote is about to write a signed stage tag and verifies it once
    written, so a required promotion signature is not a reason yet."""
    rule = project.config.policy.stages.get(stage)
    if rule is None:
        return []
    group = project.config.policy.signers[rule.signers]
    signers = allowed_signers_file()
    if signers is None:
        return [
            f"stage {stage} requires signatures ({', '.join(rule.require)}), but no"
            f" allowed-signers file is configured: set {ALLOWED_SIGNERS_ENV} or"
            " `git config --global gpg.ssh.allowedSignersFile PATH`"
        ]
    if not signers.is_file():
        return [f"the allowed-signers file {signers} does not exist"]
    root = project.root
    reasons = []
    for need in rule.require:
        kind: Literal["tag", "commit"] = "tag"
        if need == "register":
            tag = regtags.register_tag(name, version)
            ref, what = f"refs/tags/{tag}", f"the version tag {tag}"
        elif need == "test_record":
            commit = recording_commit(root, name, version)
            if commit is None:
                reasons.append(f"{name}@{version} has no recorded tests to verify the signature of")
                continue
            kind = "commit"
            ref, what = commit, f"the commit that recorded the tests ({commit[:10]})"
        elif promotion_tag is None:
            if promotion_pending:
                continue
            reasons.append(f"stage {stage} requires a promotion tag signed by {rule.signers}")
            continue
        else:
            ref, what = f"refs/tags/{promotion_tag}", f"the promotion tag {promotion_tag}"
        signature = verify_signature(root, kind, ref, signers)
        if not signature.ok:
            reasons.append(f"{what} {signature.detail}")
        elif signature.principal not in group:
            reasons.append(
                f"{what} is signed by {signature.principal}, who is not in signer group"
                f" {rule.signers}"
            )
    return reasons
