"""Access control for stages: the signatures `policy:` in mlops.yaml requires (docs/security.md).

    check_policy(project, name, version, stage, *, promotion_tag=None) -> list[str]
        why `name@version` may not count as being in `stage` (empty: it may). `promote`
        and `status --check` both ask this one function.

Signatures are verified by gitio/signing.py (`signing.verify`), the one verifier of git
signatures, which `mlops model verify` uses too; a policy asks it for GPG trust of at least
`fully` (POLICY_TRUST).

Who may sign comes from two places, and only one of them is the repository's: the policy
in mlops.yaml names groups of principals, but a principal counts only when the signing key
is listed for it in an allowed-signers file that the local user or the CI provides:
`MLOPS_ALLOWED_SIGNERS`, else `gpg.ssh.allowedSignersFile` of the user's global or system
git config. The repository's own `.git/config` and work tree are never read for it (a clone
writes them; a relative path or one inside the repository is refused, exit 4), and git is
told the file and the programs it runs on its command line, which outranks every config
file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from mlops_cli.common.errors import MlopsError
from mlops_cli.common.yamlio import parse_yaml
from mlops_cli.gitio import objects as gitobjects
from mlops_cli.gitio import run as gitrun
from mlops_cli.gitio import signing
from mlops_cli.project.root import Project
from mlops_cli.registry import tags as regtags
from mlops_cli.registry.layout import record_path

ALLOWED_SIGNERS_ENV = signing.ALLOWED_ENV
# A GPG key counts for a policy only when the user's keyring trusts it fully (or more, if
# the user's own gpg.minTrustLevel asks more); an SSH key only when the file lists it.
POLICY_TRUST = "fully"


def _reason(what: str, signature: signing.Signature, signers: Path) -> str:
    """Why `what` does not count, from a signature that is not good."""
    if signature.status == "unsigned":
        if signature.detail == signing.LIGHTWEIGHT:
            return f"{what} is {signing.LIGHTWEIGHT}"
        return f"{what} is not signed"
    if signature.status == "untrusted":
        if signature.signer is None:  # SSH: a valid signature, no principal for its key
            return f"{what} is signed by a key that {signers} does not list"
        return (
            f"{what} is signed by {signature.signer}, whose key your GPG keyring does not"
            " trust enough (gpg.minTrustLevel)"
        )
    return f"{what} does not verify ({signature.detail})"


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
    configured = signing.configured_signers(project.root, min_trust=POLICY_TRUST)
    signers = configured.path
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
        signature = signing.verify(root, kind, ref, configured)
        if signature.status != "good":
            reasons.append(_reason(what, signature, signers))
        elif signature.principal not in group:
            reasons.append(
                f"{what} is signed by {signature.principal}, who is not in signer group"
                f" {rule.signers}"
            )
    return reasons
