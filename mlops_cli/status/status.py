"""`mlops status`: data, models, tests, stages, images and git, joined in one view.

Each layer is read from its own source of truth: data from the `.dvc` files and `dvc.lock`
(with stat-cached hashes, never importing DVC), versions and stages from the git tags,
lineage from the committed records. A `Finding` is something stale or broken, with the
command that fixes it; `--check` fails on any finding whose `blocking` is true.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from mlops_cli.common.errors import MlopsError
from mlops_cli.common.fs import sha256_file
from mlops_cli.common.progress import NullReporter, Reporter
from mlops_cli.gitio import objects as gitobjects
from mlops_cli.gitio import refs as gitrefs
from mlops_cli.project.root import Project
from mlops_cli.registry import tags as regtags

Area = Literal["data", "model", "git"]

# Files whose uncommitted changes mean the metadata in git is not what the work tree says.
METADATA = ["mlops.yaml", "dvc.yaml", "dvc.lock", "params.yaml", ".mlops/models", "schemas"]


@dataclass(frozen=True)
class Finding:
    area: Area
    subject: str
    problem: str
    fix: str
    blocking: bool = True

    @property
    def line(self) -> str:
        return f"{self.subject}: {self.problem} -> {self.fix}"


@dataclass(frozen=True)
class ModelStatus:
    name: str
    latest: str | None
    stages: dict[str, str]  # stage -> version
    tests: str  # passed | failed | missing | stale | n/a
    images: dict[str, str]  # version -> none | built | pushed (for the latest and stage holders)
    warnings: list[str] = field(default_factory=list)  # lightweight tags, tags not by mlops


@dataclass(frozen=True)
class StatusReport:
    datasets: list[Any]  # datastatus.DatasetStatus
    models: list[ModelStatus]
    findings: list[Finding] = field(default_factory=list)

    @property
    def stale(self) -> list[Finding]:
        return [f for f in self.findings if f.blocking]


def project_status(
    project: Project, *, remote: bool = False, reporter: Reporter | None = None
) -> StatusReport:
    from mlops_cli.data import status as datastatus

    reporter = reporter or NullReporter()
    findings: list[Finding] = []
    try:
        rows = datastatus.status(project, remote=remote, reporter=reporter)
    except MlopsError as exc:
        if not remote:
            raise
        # The remote cannot be asked (none configured, unreachable): say so, show the rest.
        findings.append(Finding("data", "remote", exc.message, exc.hint or "mlops doctor"))
        rows = datastatus.status(project, reporter=reporter)
    findings += _data_findings(rows)
    findings += _pipeline_findings(project.root, {r.path for r in rows if r.state != "ok"})
    if remote:
        findings += [f for f in _remote_findings(project, reporter) if f not in findings]
    current_md5 = {r.dataset: r.md5 for r in rows}
    models = _models(project, current_md5, findings)
    findings += _git_findings(project, remote)
    return StatusReport(rows, models, findings)


def _data_findings(rows: list[Any]) -> list[Finding]:
    out = []
    for r in rows:
        by_pipeline = (r.tracked_by or "").startswith("dvc.lock")
        if r.state == "modified":
            fix = "dvc repro" if by_pipeline else f"mlops data add {r.path}"
            out.append(
                Finding("data", r.dataset, "workspace differs from the committed version", fix)
            )
        elif r.state == "missing":
            fix = "dvc repro" if by_pipeline and not r.in_cache else "mlops data pull"
            out.append(Finding("data", r.dataset, f"{r.path} is missing", fix))
        elif r.state == "untracked":
            out.append(
                Finding("data", r.dataset, f"{r.path} is not versioned", f"mlops data add {r.path}")
            )
        if r.dvc_file and r.dvc_file != "committed":
            src = (r.tracked_by or "").split(":")[0]
            out.append(Finding("data", r.dataset, f"{src} is {r.dvc_file}", f"git commit {src}"))
    return out


def _pipeline_findings(root: Path, reported: set[str]) -> list[Finding]:
    """A stage `dvc repro` would run again for what the data rows do not show: its code,
    params or command changed, an output that is not a data set changed."""
    from mlops_cli.status.pipeline import changed_stages

    return [
        Finding("data", f"stage {s.stage}", f"{'; '.join(s.changes)} (since dvc.lock)", "dvc repro")
        for s in changed_stages(root, reported)
    ]


def _remote_findings(project: Project, reporter: Reporter) -> list[Finding]:
    """What the DVC remote lacks of what this clone owes it (obligations.py: the workspace,
    the commits no git remote has, every registry-tagged commit): the same definition the
    pre-push hook (`data check-pushed`) and `data push` use, so models count as well."""
    from mlops_cli.data import status as datastatus

    try:
        result = datastatus.remote_obligations(project, workspace=True, reporter=reporter)
    except MlopsError as exc:
        # The remote cannot be asked (none configured, unreachable): say so, show the rest.
        return [Finding("data", "remote", exc.message, exc.hint or "mlops doctor")]
    by_path: dict[str, set[str]] = {}
    for m in result.missing:
        by_path.setdefault(m.path, set()).add(m.rev)
    from mlops_cli.dvc.files import join_posix

    names = {join_posix(".", m.path): ("model", n) for n, m in project.config.models.items()}
    names.update({join_posix(".", d.path): ("data", n) for n, d in project.config.datasets.items()})
    out = []
    for path, revs in sorted(by_path.items()):
        area, subject = names.get(path, ("data", path))
        label = subject if subject == path else f"{subject} ({path})"
        out.append(
            Finding(
                area,  # type: ignore[arg-type]
                label,
                f"not on DVC remote {result.remote} (needed by {', '.join(sorted(revs))})",
                "mlops data push",
            )
        )
    return out


def _models(
    project: Project, current_md5: dict[str, str | None], findings: list[Finding]
) -> list[ModelStatus]:
    """Every declared model's row. The records of all their versions are read first, in
    one `ls-tree` and one `git cat-file --batch` for those at HEAD, and parsed through one
    record cache; then the registered records (at their tags: what the gate compares
    with) of the versions the gate will be asked about, in one more `cat-file --batch`.
    A thousand versions cost a few git calls, not a few per model or one per version."""
    from mlops_cli.registry import gate
    from mlops_cli.registry.records import RECORDS_DIR, RecordReader

    every = _tags(project)
    names = list(project.config.models)
    states = {n: every.get(n) or regtags.ModelState(n) for n in names}
    at_head = gitrefs.ls_tree_ids(project.root, "HEAD", RECORDS_DIR)  # one call, all models
    blobs = _record_blobs(project.root, [every[n] for n in names if n in every], at_head)
    warnings = regtags.tag_warnings(_tag_list(project))  # one pass over the tags, all models
    with RecordReader(project.root) as reader:
        read: dict[str, tuple[_Records, list[Finding]]] = {}
        for name in names:
            own: list[Finding] = []
            read[name] = (_records(name, states[name], blobs.get(name, {}), reader, own), own)
        gate.read_registered(
            project,
            [every[n] for n in names if n in every],
            only={(n, v) for n in names for v in _gated(project, states[n], read[n][0])},
        )
        out = []
        for name in names:
            records, own = read[name]
            findings += own
            committed = [p for p in at_head if p.startswith(f"{RECORDS_DIR}/{name}/")]
            out.append(
                _model(
                    project, name, current_md5, findings, reader, records, committed,
                    warnings.get(name, []),
                )
            )  # fmt: skip
        return out


def _gated(project: Project, state: regtags.ModelState, records: _Records) -> set[str]:
    """The versions `_model` will ask the gate about (so their registered records are read
    in one batch): the latest, the stage holders, and those whose tests might pass (the
    newest passing one is looked for; a version whose recorded tests failed is not)."""
    versions = state.active_versions()
    wanted = {versions[0].version} if versions else set()
    wanted |= {h.version for s in project.config.stages if (h := state.in_stage(s))}
    wanted |= {v.version for v in versions if not records.tests_failed(v.version)}
    return wanted


class _Records:
    """version -> its record, for the versions whose record is readable. A record the
    record cache has seen is only decoded when asked for (`get`): `status` needs the whole
    record of a few versions (the latest, the stage holders, the newest passing), and of
    the others only whether their tests failed, which the cache's summary says."""

    def __init__(self, reader: Any, name: str) -> None:
        self.reader = reader
        self.name = name
        self.parsed: dict[str, Any] = {}
        self.lazy: dict[str, bytes] = {}
        self.failed: dict[str, bool] = {}

    def __contains__(self, version: object) -> bool:
        return version in self.parsed or version in self.lazy

    def get(self, version: str) -> Any:
        if version in self.lazy:
            from mlops_cli.registry.records import record_path

            raw = self.lazy.pop(version)
            got = self.reader.parse_each({0: (raw, record_path(self.name, version))})[0]
            if not isinstance(got, MlopsError):  # it parsed before: it does again
                self.parsed[version] = got
        return self.parsed.get(version)

    def tests_failed(self, version: str) -> bool:
        """`records.tests_failed` of the version's record; True when it has none."""
        from mlops_cli.registry.records import tests_failed

        if version in self.failed:
            return self.failed[version]
        record = self.get(version)
        return record is None or tests_failed(record)


def _model(
    project: Project,
    name: str,
    current_md5: dict[str, str | None],
    findings: list[Finding],
    reader: Any,
    records: _Records,
    committed: list[str],
    warnings: list[str],
) -> ModelStatus:
    """One model's row, its findings appended to `findings` in a fixed order (after those
    of its records, which `_models` appended): tag warnings and its stages' gate and
    policy, then (for the latest version) its artifact, data and tests, then its stages'
    images, then a last stage lagging behind a passing version, then the signatures of
    signed stages."""
    from mlops_cli.registry import gate

    every = _tags(project)
    model_state = every.get(name) or regtags.ModelState(name)

    verdicts: dict[str, str | None] = {}

    def gate_problem(record: Any) -> str | None:
        # Asked up to three times per version (its stage, its tests, the newest passing):
        # each answer reads the registered record at the tag, so it is remembered.
        if record.version not in verdicts:
            verdicts[record.version] = gate.gate_problem(project, record, every, reader)
        return verdicts[record.version]

    versions = model_state.active_versions()
    _untagged_records(name, model_state, committed, findings)
    stages = {s: h.version for s in project.config.stages if (h := model_state.in_stage(s))}
    for warning in warnings:
        findings.append(Finding("model", name, warning, "mlops model list", blocking=False))
    _stage_findings(project, name, model_state, stages, records, gate_problem, findings)
    latest = versions[0].version if versions else None
    if latest is None:
        findings.append(
            Finding(
                "model",
                name,
                "no registered version",
                f"mlops model register {name}",
                blocking=False,
            )
        )
        return ModelStatus(name, None, stages, "n/a", {}, warnings)
    record = records.get(latest)
    tests = "missing"
    if record is not None:
        _artifact_finding(project, name, record, findings)
        _data_drift(name, latest, record, current_md5, findings)
        tests = _tests_state(name, latest, record, gate_problem, findings)
    images = _stage_images(name, stages, records, findings)
    _newer_passing(name, project.config.stages, stages, versions, records, gate_problem, findings)
    _signature_findings(project, name, stages, model_state, findings)
    return ModelStatus(name, latest, stages, tests, images, warnings)


def _records(
    name: str,
    model_state: regtags.ModelState,
    raws: dict[str, bytes],
    reader: Any,
    findings: list[Finding],
) -> _Records:
    """The readable records of the tagged versions (`raws`: version -> its bytes); a
    finding for each tag without a record or with an unreadable one. `reader`: the record
    cache: a record it has seen parsed is readable, and decoded only when asked for."""
    from mlops_cli.registry.recordcache import blob_id
    from mlops_cli.registry.records import record_path

    records = _Records(reader, name)
    oids = {ver: blob_id(raw) for ver, raw in raws.items()}
    known = reader.store.summaries(oids.values())
    for ver, oid in oids.items():
        if oid in known and isinstance(known[oid].get("tests_failed"), bool):
            records.lazy[ver] = raws[ver]
            records.failed[ver] = known[oid]["tests_failed"]
    parsed = reader.parse_each(
        {ver: (raw, record_path(name, ver)) for ver, raw in raws.items() if ver not in records}
    )
    for v in model_state.versions.values():
        rel = record_path(name, v.version)
        got = parsed.get(v.version)
        if v.version in records:
            continue
        if got is None:
            findings.append(
                Finding(
                    "model",
                    f"{name}@{v.version}",
                    f"tag {v.tag} has no record {rel}",
                    f"git tag -d {v.tag} (then register again), or restore {rel}",
                )
            )
        elif isinstance(got, MlopsError):
            findings.append(
                Finding(
                    "model",
                    f"{name}@{v.version}",
                    f"record unreadable: {got.message}",
                    f"git checkout {v.tag} -- {rel}",
                )
            )
        else:
            records.parsed[v.version] = got
    return records


def _untagged_records(
    name: str, model_state: regtags.ModelState, committed: list[str], findings: list[Finding]
) -> None:
    """A finding for each record committed at HEAD (`committed`: the model's files under
    the records folder) whose version has no tag."""
    for rel in sorted(set(committed)):
        version = Path(rel).stem
        if rel.endswith(".yaml") and version not in model_state.versions:
            findings.append(
                Finding(
                    "model",
                    f"{name}@{version}",
                    f"record {rel} has no tag {name}@{version}",
                    f"tag its commit (git tag -a {name}@{version}), or git rm {rel}",
                )
            )


def _data_drift(
    name: str,
    latest: str,
    record: Any,
    current_md5: dict[str, str | None],
    findings: list[Finding],
) -> None:
    """A finding for each data set whose content changed since `latest` was trained on it."""
    for ds, info in record.data.items():
        now = current_md5.get(ds)
        if now and info.get("md5") and now != info["md5"]:
            findings.append(
                Finding(
                    "model",
                    f"{name}@{latest}",
                    f"data set {ds} changed since it was trained"
                    f" ({str(info['md5'])[:8]} -> {now[:8]})",
                    f"dvc repro, then mlops model register {name}",
                )
            )


def _tests_state(
    name: str, latest: str, record: Any, gate_problem: Any, findings: list[Finding]
) -> str:
    """passed | failed | missing | stale for the latest version; a finding unless passed."""
    problem = gate_problem(record)
    tests = (
        "passed"
        if problem is None
        else (
            "failed"
            if (record.tests or {}).get("passed") is False
            else "missing"
            if not record.tests
            else "stale"
        )
    )
    if problem:
        findings.append(
            Finding(
                "model",
                f"{name}@{latest}",
                f"tests: {problem}",
                f"mlops test {name}@{latest} --record",
            )
        )
    return tests


def _stage_images(
    name: str, stages: dict[str, str], records: _Records, findings: list[Finding]
) -> dict[str, str]:
    """version -> none | built | pushed for each stage holder with a record; a finding for
    each stage whose version has no pushed image."""
    images: dict[str, str] = {}
    for stage, version in stages.items():
        rec = records.get(version)
        if rec is None:
            continue
        state = (
            "pushed"
            if any(i.get("pushed") for i in rec.images)
            else "built"
            if rec.images
            else "none"
        )
        images[version] = state
        if state != "pushed":
            fix = (
                f"mlops image push {name}@{version}"
                if state == "built"
                else f"mlops image build {name}@{version} && mlops image push {name}@{version}"
            )
            findings.append(
                Finding("model", f"{name}#{stage}", f"{version} has no pushed image", fix)
            )
    return images


def _signature_findings(
    project: Project,
    name: str,
    stages: dict[str, str],
    model_state: regtags.ModelState,
    findings: list[Finding],
) -> None:
    """A stage held by a signed version (its version tag or stage tag is signed) whose
    signatures do not verify is stale (`mlops model verify`). Without allowed signers
    configured here, an otherwise intact signature is reported but does not block."""
    from mlops_cli.registry.verify import verify_version

    root = project.root
    by_name = {t.name: t for t in _tag_list(project)}
    for stage, version in stages.items():
        held = model_state.versions[version]
        event = held.stages.get(stage)
        if not (
            signed_tag(root, by_name, held.tag)
            or (event is not None and signed_tag(root, by_name, event.tag))
        ):
            continue
        subject, fix = f"{name}#{stage}", f"mlops model verify {name}@{version}"
        try:
            done = verify_version(project, f"{name}@{version}")
        except MlopsError as exc:
            findings.append(
                Finding("model", subject, f"signatures not checked: {exc.message}", fix)
            )
            continue
        if done.ok:
            continue
        what = ", ".join(f"{i.kind.replace('_', ' ')} {i.status}" for i in done.failed)
        blocking = any(i.status in ("bad", "unsigned") for i in done.failed) or (
            done.allowed_signers is not None and any(i.status == "untrusted" for i in done.failed)
        )
        findings.append(
            Finding(
                "model",
                subject,
                f"{version}'s signatures do not verify ({what})",
                fix,
                blocking=blocking,
            )
        )


def signed_tag(root: Path, tags: dict[str, gitrefs.TagInfo], tag: str) -> bool:
    """`verify.is_signed(root, tag)`, mostly without a git call: the tag list holds each tag
    object's whole message (for-each-ref's `%(contents)`, a signature block included), and
    a message without `-----BEGIN ` has no signature (the header lines of a tag object cannot
    start with it). A message with it, or a tag not in the list, is asked of git itself."""
    from mlops_cli.registry.verify import is_signed

    info = tags.get(tag)
    if info is not None and (not info.annotated or "-----BEGIN " not in info.message):
        return False
    return is_signed(root, tag)


def _stage_findings(
    project: Project,
    name: str,
    model_state: regtags.ModelState,
    stages: dict[str, str],
    records: _Records,
    gate_problem: Any,
    findings: list[Finding],
) -> None:
    """A stage is stale when its version's record no longer passes the gate (the declared
    checks grew, the record was edited) or its policy's signatures do not verify."""
    from mlops_cli.registry.policy import check_policy
    from mlops_cli.registry.records import recorded_drift

    for stage, version in stages.items():
        subject, rec = f"{name}#{stage}", records.get(version)
        problem = gate_problem(rec) if rec is not None else None
        if problem:
            findings.append(
                Finding(
                    "model",
                    subject,
                    f"{version}: {problem}",
                    f"mlops test {name}@{version} --record",
                )
            )
        drift = recorded_drift(rec) if rec is not None else None
        if drift and drift.get("dataset_drift"):
            columns = drift.get("drifted_columns") or []
            findings.append(
                Finding(
                    "model",
                    subject,
                    f"{version}: data set drift recorded {drift.get('at', '')}:"
                    f" {len(columns)} column(s) drifted from its training data",
                    f"retrain on current data, then `mlops model register {name}`,"
                    f" `mlops test {name}@vX.Y.Z --record`, `mlops model promote {name}"
                    f" vX.Y.Z {stage}`",
                )
            )
        held = model_state.versions[version].stages[stage]
        try:
            reasons = check_policy(project, name, version, stage, promotion_tag=held.tag)
        except MlopsError as exc:  # an allowed-signers path the repository could write
            reasons = [f"not checked: {exc.message}"]
        for reason in reasons:
            findings.append(
                Finding(
                    "model",
                    subject,
                    f"{version}: policy: {reason}",
                    "sign it (docs/security.md#stage-policies)",
                )
            )


def _record_blobs(
    root: Path, states: list[regtags.ModelState], ids: dict[str, str]
) -> dict[str, dict[str, bytes]]:
    """model -> version -> its record's bytes at HEAD (`ids`: path -> blob id there), else
    (absent or empty there) at the version's tag: at most two `git cat-file --batch` calls
    for all models, not one or two per model or per version. HEAD's records are asked for
    by blob id: git resolves each `HEAD:PATH` by walking the tree again (4.4 s for 10,000
    records in folders of 1,000, against 0.1 s by id)."""
    from mlops_cli.registry.records import record_path

    at_head = {
        (m.name, v.version): oid
        for m in states
        for v in m.versions.values()
        if (oid := ids.get(record_path(m.name, v.version)))
    }
    found = gitobjects.read_objects(root, list(at_head.values()))
    raws = {key: found[oid] for key, oid in at_head.items() if found.get(oid)}
    at_tag = {
        (m.name, v.version): f"refs/tags/{v.tag}:{record_path(m.name, v.version)}"
        for m in states
        for v in m.versions.values()
        if (m.name, v.version) not in raws
    }
    found = gitobjects.read_objects(root, list(at_tag.values()))
    raws.update({key: found[spec] for key, spec in at_tag.items() if spec in found})
    out: dict[str, dict[str, bytes]] = {}
    for (name, version), raw in raws.items():
        out.setdefault(name, {})[version] = raw
    return out


def _tag_list(project: Project) -> list[gitrefs.TagInfo]:
    cache = getattr(project, "_status_tag_list", None)
    if cache is None:
        cache = gitrefs.list_tags(project.root)
        object.__setattr__(project, "_status_tag_list", cache)
    return cache


def _tags(project: Project) -> dict[str, regtags.ModelState]:
    cache = getattr(project, "_status_tags", None)
    if cache is None:
        cache = regtags.build_state(_tag_list(project))
        object.__setattr__(project, "_status_tags", cache)
    return cache


def _artifact_finding(project: Project, name: str, record: Any, findings: list[Finding]) -> None:
    path = project.root / str(record.artifact.get("path", ""))
    if not path.is_file():
        return  # not pulled: the data findings say so for data; a model file is fetched on use
    size = record.artifact.get("bytes")
    differs = (size is not None and path.stat().st_size != size) or (
        sha256_file(path)[0] != record.artifact.get("sha256")
    )
    if differs:
        findings.append(
            Finding(
                "model",
                name,
                f"workspace model differs from {name}@{record.version}",
                f"mlops model register {name}",
            )
        )


def _newer_passing(
    name: str,
    stage_order: list[str],
    stages: dict[str, str],
    versions: list[Any],
    records: _Records,
    gate_problem: Any,
    findings: list[Finding],
) -> None:
    """The last stage (prod by default) should not lag behind a version whose tests pass."""
    if not stage_order:
        return
    top = stage_order[-1]
    held = stages.get(top)
    for v in versions:  # newest first
        if records.tests_failed(v.version):
            continue  # refused by the gate whatever its registered record says
        rec = records.get(v.version)
        if rec is None or gate_problem(rec) is not None:
            continue
        if held is None or regtags.semver_key(v.version) > regtags.semver_key(held):
            where = f"{top} holds {held}" if held else f"nothing is in {top}"
            findings.append(
                Finding(
                    "model",
                    f"{name}#{top}",
                    f"{where}, but {v.version} passed its tests",
                    f"mlops model promote {name} {v.version} {top}",
                    blocking=held is not None,
                )
            )
        return


def _git_findings(project: Project, remote: bool) -> list[Finding]:
    root = project.root
    # Two calls, not one split here: git prints paths from the top of the git work tree,
    # which is not the project's root when the project is a folder of a larger repo.
    out = [
        Finding("git", path, what, f"git add {path} && git commit")
        for path, what in gitrefs.dirty_paths(
            root, [p for p in METADATA if (root / p).exists()]
        ).items()
    ]
    for dvc_file, what in gitrefs.dirty_paths(root, ["*.dvc", "**/*.dvc"]).items():
        out.append(Finding("git", dvc_file, what, f"git add {dvc_file} && git commit"))
    if remote:
        out += _unpushed_tags(project)
    return out


def _unpushed_tags(project: Project) -> list[Finding]:
    root = project.root
    remotes = gitrefs.remotes(root)
    if not remotes:
        return [
            Finding(
                "git",
                "tags",
                "the repository has no git remote",
                "git remote add origin URL",
                blocking=False,
            )
        ]
    remote = "origin" if "origin" in remotes else remotes[0]
    theirs = gitrefs.remote_tags(root, remote)
    if theirs is None:
        return [
            Finding(
                "git",
                "tags",
                f"cannot list the tags of {remote}",
                f"git ls-remote {remote}",
                blocking=False,
            )
        ]
    names = set(project.config.models)
    ours = [t.name for t in gitrefs.list_tags(root) if t.name.split("@")[0].split("#")[0] in names]
    missing = sorted(set(ours) - theirs)
    if not missing:
        return []
    return [
        Finding(
            "git",
            "tags",
            f"{len(missing)} registry tag(s) not on {remote}: {', '.join(missing[:5])}",
            f"git push {remote} --tags",
        )
    ]
