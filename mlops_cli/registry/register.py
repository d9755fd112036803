"""`mlops model register`: capture the lineage, commit the record, tag `<name>@<version>`.

Everything from choosing the version to the tag happens under the repo lock, and the record
commit and its tag are created by one git ref transaction (`gitrefs.commit_file`): a crash,
Ctrl-C or a concurrent `register` leaves both or neither, never a tag without its record.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from mlops_cli.common.errors import InputError, UsageError
from mlops_cli.common.fs import repo_lock
from mlops_cli.common.progress import NullReporter, Reporter
from mlops_cli.gitio import refs as gitrefs
from mlops_cli.gitio.state import refuse_unsafe_state
from mlops_cli.project.root import Project
from mlops_cli.registry import lineage
from mlops_cli.registry import tags as regtags
from mlops_cli.registry.records import (
    VersionRecord,
    model_config,
    now,
    record_path,
    signature_path,
)

Bump = Literal["major", "minor", "patch"]


@dataclass(frozen=True)
class Registered:
    record: VersionRecord
    tag: str
    commit: str  # the commit holding the record, which the tag points at
    record_path: str
    pushed_to: str | None = None
    warnings: list[str] = field(default_factory=list)
    signature_path: str | None = None  # the model-signing bundle, when signed


def register(
    project: Project,
    name: str,
    *,
    version: str | None = None,
    bump: Bump | None = None,
    message: str | None = None,
    push: bool = False,
    sign: bool = False,
    reporter: Reporter | None = None,
) -> Registered:
    """Register the workspace model `name` as a new version (default: bump the patch).

    With `sign`, git signs the record commit and the tag, and the model file is signed with
    model-signing; its bundle is committed beside the record in the same commit."""
    reporter = reporter or NullReporter()
    model = model_config(project, name)
    regtags.check_name("model name", name)
    if version and bump:
        raise UsageError("give --version or --bump, not both")
    wanted = regtags.parse_version(version) if version else None
    root = project.root
    if sign:
        from mlops_cli.gitio.signing import require_signing
        from mlops_cli.registry.modelsig import signing_key

        require_signing(root)
        signing_key(root)
    with repo_lock(root, f"model register {name}", on_warning=reporter.warn):
        refuse_unsafe_state(root, "commit a version record")
        reporter.step(f"checking {name} against what is committed")
        found = lineage.capture(project, name)
        tags = gitrefs.list_tags(root)
        current = regtags.build_state(tags).get(name) or regtags.ModelState(name)
        if wanted is None:
            every = sorted(current.versions, key=regtags.semver_key)
            wanted = regtags.bump(every[-1] if every else None, bump or "patch")
        tag = regtags.register_tag(name, wanted)
        _refuse_existing(project, current, tag, wanted, {t.name for t in tags}, found)
        record = VersionRecord(
            model=name,
            version=wanted,
            created=now(),
            git={"commit": found.commit, "tag": tag},
            # The trust list it is registered with: a later load of this version as a
            # baseline (no_regression) gets this one, not what mlops.yaml says by then.
            artifact={**found.artifact, "trusted_types": list(model.trusted_types)},
            data=found.data,
            params=found.params,
            metrics=found.metrics,
            environment=found.environment,
            tests=None,
            images=[],
            message=message,
        )
        rel = record_path(name, wanted)
        tag_message = (
            f"{message or regtags.register_message(name, wanted)}\n\n"
            f"mlops record: {rel}\n"
            f"artifact: {found.artifact['path']} sha256:{found.artifact['sha256']}"
        )
        also: list[tuple[str, bytes]] = []
        if sign:
            from mlops_cli.registry.modelsig import sign_model, signed_sha256

            reporter.step(f"signing {found.artifact['path']} (model-signing)")
            bundle = sign_model(root, root / str(found.artifact["path"]))
            if signed_sha256(bundle) != found.artifact["sha256"]:
                raise InputError(
                    f"{found.artifact['path']} changed while it was being registered",
                    hint="nothing was written; run the command again",
                )
            also.append((signature_path(name, wanted), bundle))
        reporter.step(f"committing {rel} and tagging {tag}" + (" (signed)" if sign else ""))
        commit = gitrefs.commit_file(
            root,
            rel,
            record.to_yaml().encode(),
            f"mlops: register {tag}" + (f"\n\n{message}" if message else ""),
            expect_head=found.commit,
            tags=[gitrefs.NewTag(tag, tag_message)],
            also=also,
            sign=sign,
        )
    pushed = None
    if push:
        reporter.step(f"pushing the record commit and {tag}")
        pushed = gitrefs.push(root, ["HEAD", f"refs/tags/{tag}"])
    sig = signature_path(name, wanted) if sign else None
    return Registered(record, tag, commit, rel, pushed, found.warnings, sig)


def _refuse_existing(
    project: Project,
    current: regtags.ModelState,
    tag: str,
    version: str,
    tag_names: set[str],
    found: lineage.Lineage,
) -> None:
    if version in current.versions or tag in tag_names:
        raise InputError(
            f"{tag} exists already",
            hint="choose another --version, or --bump to take the next free one",
        )
    rel = record_path(current.name, version)
    if (project.root / rel).exists() or gitrefs.is_tracked(project.root, rel):
        raise InputError(
            f"{rel} exists already but no tag {tag} does",
            hint="remove the stray record (it was not written by a finished register)",
        )
    # Every tag `register` writes names its artifact's sha256 (`artifact: PATH sha256:X`):
    # the check reads the tag messages it has already, not every record. A version whose
    # tag does not say (made by hand or by GTO) is checked against its committed record.
    sha = found.artifact["sha256"]
    unknown = []
    for held in current.versions.values():
        if not held.active:
            continue
        said = _ARTIFACT_LINE.search(held.message)
        if said is None:
            unknown.append(held.version)
        elif said["sha"] == sha:
            _duplicate(current.name, held.version, sha)
    if unknown:
        from mlops_cli.gitio.objects import read_blobs
        from mlops_cli.registry.records import RecordReader

        paths = {record_path(current.name, v): v for v in unknown}
        blobs = read_blobs(project.root, "HEAD", list(paths))
        with RecordReader(project.root) as reader:
            for rel, raw in blobs.items():
                rec = reader.parse(raw, rel)
                if rec.model == current.name and rec.artifact.get("sha256") == sha:
                    _duplicate(current.name, paths[rel], sha)


_ARTIFACT_LINE = re.compile(r"^artifact: .* sha256:(?P<sha>[0-9a-f]{64})$", re.MULTILINE)


def _duplicate(name: str, version: str, sha: str) -> None:
    raise InputError(
        f"{name}@{version} registers this very artifact already (sha256 {sha[:12]})",
        hint="train a new model before registering another version",
    )
