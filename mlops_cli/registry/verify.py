"""`mlops model verify NAME@VERSION`: who signed what, checked with keys the clone cannot write.

Four kinds of signature make a version, each checked on its own:

    version tag     `churn@v0.3.0`, git's signature on the tag object; the object must also
                    carry that very name (a ref re-pointed at another signed tag object of
                    the model fails)
    record commit   the commit that last changed what the record says (its tests, its
                    artifact), git's signature on it. Commits that only add `images:`
                    entries (`mlops image build/push`) are not signed and are skipped: image
                    entries are not covered by signatures. The record it holds must name
                    the artifact the signed registration names.
    stage tags      the assignment tag of every stage the version holds now
    model file      the model-signing bundle committed beside the record at the signed
                    registration, against the bytes of the model file (work tree or DVC
                    cache, sha256 checked against the record)

Every one must be signed and verify for the version to verify (exit 0); any that is
unsigned, bad or by a signer not allowed fails it (exit 1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlops_cli.common.errors import InputError, MlopsError
from mlops_cli.common.yamlio import parse_yaml
from mlops_cli.gitio import refs as gitrefs
from mlops_cli.gitio import run as gitrun
from mlops_cli.gitio import signing
from mlops_cli.project.root import Project
from mlops_cli.registry import tags as regtags
from mlops_cli.registry.records import (
    materialize,
    model_config,
    parse_record,
    parse_spec,
    record_path,
    signature_path,
    state,
)


@dataclass(frozen=True)
class Item:
    kind: str  # version_tag | record_commit | stage_tag | model_file
    subject: str  # the tag name, the commit id, or the model file's path
    status: str  # good | unsigned | bad | untrusted | error
    signer: str | None = None
    key: str | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "good"


@dataclass(frozen=True)
class Verified:
    model: str
    version: str
    allowed_signers: str | None  # the file used, or None when none is configured
    allowed_signers_source: str
    items: list[Item] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.items) and all(i.ok for i in self.items)

    @property
    def failed(self) -> list[Item]:
        return [i for i in self.items if not i.ok]

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "version": self.version,
            "verified": self.ok,
            "allowed_signers": self.allowed_signers,
            "allowed_signers_source": self.allowed_signers_source,
            "items": [
                {
                    "kind": i.kind,
                    "subject": i.subject,
                    "status": i.status,
                    "signer": i.signer,
                    "key": i.key,
                    "detail": i.detail,
                }
                for i in self.items
            ],
        }


def is_signed(root: Path, tag: str) -> bool:
    """Whether the tag object carries a signature (of any kind), without verifying it."""
    raw = gitrun.git(root, "cat-file", "tag", f"refs/tags/{tag}", check=False).stdout
    return b"\n-----BEGIN " in raw and b" SIGNATURE-----" in raw


def _tag_name_in_object(root: Path, ref: str) -> str | None:
    raw = gitrun.git(root, "cat-file", "tag", ref, check=False).stdout
    for line in raw.decode("utf-8", "replace").splitlines():
        if not line:
            break
        if line.startswith("tag "):
            return line[4:]
    return None


def _tag_item(root: Path, kind: str, name: str, signers: signing.AllowedSigners) -> Item:
    ref = f"refs/tags/{name}"
    sig = signing.verify(root, "tag", ref, signers)
    inner = _tag_name_in_object(root, ref)
    if inner != name:
        return Item(
            kind, name, "bad", sig.signer, sig.key,
            f"the tag object is named {inner!r}: the tag was re-pointed",
        )  # fmt: skip
    return Item(kind, name, sig.status, sig.signer, sig.key, sig.detail)


def _content(raw: bytes | None, source: str) -> dict[str, Any] | None:
    """A record's content minus `images`, which signatures do not cover."""
    if raw is None:
        return None
    try:
        data = parse_yaml(raw, source).data
    except MlopsError:
        return {"unreadable": raw.hex()}
    if isinstance(data, dict):
        data = {k: v for k, v in data.items() if k != "images"}
    return {"record": data}


def _record_commit(root: Path, rel: str, registered_at: str) -> tuple[str, bytes | None]:
    """The commit that last changed the record (images aside) and the record it holds."""
    if gitrefs.read_blob(root, "HEAD", rel) is None:
        return registered_at, gitrefs.read_blob(root, registered_at, rel)
    log = gitrun.out(root, "log", "--format=%H", "HEAD", "--", rel).split()
    for commit in log:
        mine = gitrefs.read_blob(root, commit, rel)
        parent = gitrefs.read_blob(root, f"{commit}^", rel)
        if _content(mine, rel) != _content(parent, rel):
            return commit, mine
    return registered_at, gitrefs.read_blob(root, registered_at, rel)


def _version(project: Project, spec: str) -> tuple[str, str]:
    name, version, stage = parse_spec(spec)
    model_config(project, name)
    current = state(project).get(name) or regtags.ModelState(name)
    if stage is not None:
        held = current.in_stage(stage)
        if held is None:
            raise InputError(f"no version of {name} is in stage {stage!r}")
        return name, held.version
    if version in (None, "latest", "workspace"):
        if version == "workspace":
            raise InputError("the workspace model has no signatures; verify a registered version")
        latest = current.latest()
        if latest is None:
            raise InputError(f"{name} has no registered version")
        return name, latest.version
    if version not in current.versions:
        raise InputError(
            f"{name}@{version} is not registered",
            hint=f"`mlops model list {name}` shows the registered versions",
        )
    return name, version


def verify_version(project: Project, spec: str) -> Verified:
    """Check every signature of the version `spec` names (see the module docstring)."""
    root = project.root
    name, version = _version(project, spec)
    signers = signing.allowed_signers(root)
    current = state(project)[name]
    held = current.versions[version]
    items = [_tag_item(root, "version_tag", held.tag, signers)]

    rel = record_path(name, version)
    commit, raw = _record_commit(root, rel, held.commit)
    sig = signing.verify(root, "commit", commit, signers)
    record_item = Item("record_commit", commit, sig.status, sig.signer, sig.key, sig.detail)
    registered_raw = gitrefs.read_blob(root, held.commit, rel)
    record = None
    if raw is None or registered_raw is None:
        record_item = Item("record_commit", commit, "bad", detail=f"no record {rel} there")
    else:
        try:
            record = parse_record(raw, f"{rel} at {commit[:10]}")
            registered = parse_record(registered_raw, f"{rel} at {held.tag}")
        except MlopsError as exc:
            items.append(Item("record_commit", commit, "bad", sig.signer, sig.key, exc.message))
            items.append(Item("model_file", "?", "error", detail="no readable record"))
            return Verified(name, version, _path(signers), signers.source, items)
        if (record.model, record.version, record.artifact) != (
            registered.model,
            registered.version,
            registered.artifact,
        ):
            record_item = Item(
                "record_commit", commit, "bad", sig.signer, sig.key,
                f"the record names artifact sha256 {str(record.artifact.get('sha256'))[:12]},"
                f" the registration {str(registered.artifact.get('sha256'))[:12]}",
            )  # fmt: skip
    items.append(record_item)

    for stage in current.stages_of(version):
        event = held.stages[stage]
        items.append(_tag_item(root, "stage_tag", event.tag, signers))

    items.append(_model_item(project, name, version, held.commit, record))
    return Verified(name, version, _path(signers), signers.source, items)


def _path(signers: signing.AllowedSigners) -> str | None:
    return str(signers.path) if signers.path else None


def _model_item(project: Project, name: str, version: str, registered_at: str, record: Any) -> Item:
    from mlops_cli.registry.modelsig import verify_model

    subject = str(record.artifact.get("path")) if record is not None else "?"
    if record is None:
        return Item("model_file", subject, "error", detail="no readable record")
    bundle = gitrefs.read_blob(project.root, registered_at, signature_path(name, version))
    if bundle is None:
        return Item("model_file", subject, "unsigned", detail="no model-signing bundle")
    try:
        model = materialize(project, record)
    except InputError as exc:
        return Item("model_file", subject, "error", detail=exc.message)
    check = verify_model(project.root, model, bundle)
    return Item("model_file", subject, check.status, key=check.key, detail=check.detail)
