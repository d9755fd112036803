"""The promotion gate: recompute, from mlops.yaml and the registered version, whether a
version's recorded tests allow it into a stage. A record's own `passed: true` is a claim,
not a verdict; a record is a file anyone with commit access can write.

The gate checks that

* the recorded checks cover every check mlops.yaml declares for the model today (a record
  with `checks: []` covers nothing), and every judged one passed;
* no recorded check failed, whatever the record's `passed` says;
* the tests were recorded for exactly this version: the artifact sha256 and the data hashes
  of the record equal those of the record committed by `mlops model register` (at the
  version's tag `<name>@<version>`), and the tests ran on the registered test data;
* `no_regression`, when declared, compared with the version that holds its stage now.

The names of the declared checks mirror `modeltest/` (which sits above this package and
cannot be imported here); tests/registry/test_gate.py runs a real `mlops test` and checks
that what it records covers `declared_checks`, so the two cannot drift apart unseen.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlops_cli.common.errors import MlopsError
from mlops_cli.gitio import refs as gitrefs
from mlops_cli.project.root import Project
from mlops_cli.registry import tags as regtags
from mlops_cli.registry.records import RecordReader, VersionRecord, parse_record, record_path

if TYPE_CHECKING:  # a type only: importing it loads pydantic, 40% of a clean `status`
    from mlops_cli.project.config import Model


@dataclass(frozen=True)
class Declared:
    """One check mlops.yaml declares: `family: name`, matched by `matches`."""

    family: str
    label: str
    judged: bool  # must have passed (True); False: may be reported, not judged (None)
    matches: Callable[[str], bool]

    def __str__(self) -> str:
        return f"{self.family}: {self.label}"


def _exact(name: str) -> Callable[[str], bool]:
    return lambda found: found == name


def _slice(column: str, metric: str) -> Callable[[str], bool]:
    # One check per value of the column (`plan=basic f1`): the values are the data's.
    return lambda found: found.startswith(f"{column}=") and found.endswith(f" {metric}")


def declared_checks(
    project: Project, name: str, model: Model, holder: str | None = None
) -> list[Declared]:
    """The checks `mlops test` runs for `model` (those that do not depend on the data's
    values); `holder` is the version in the no_regression stage other than the one gated."""
    tests = model.tests
    out: list[Declared] = []
    dataset = project.config.datasets.get(model.test_data or "")
    if dataset is not None and dataset.schema_:
        out.append(Declared("schema", dataset.schema_, True, _exact(dataset.schema_)))
    for metric in tests.metrics:
        out.append(Declared("metrics", metric, True, _exact(metric)))
    rows = "one prediction per row"
    out.append(Declared("output", rows, True, _exact(rows)))
    contract = tests.output
    if contract is None or contract.no_nan:
        out.append(Declared("output", "no NaN", True, _exact("no NaN")))
    if contract is not None and contract.classes is not None:
        out.append(Declared("output", "classes", True, _exact("classes")))
    rule = tests.no_regression
    if rule is not None:
        if holder is None:
            out.append(Declared("no_regression", f"vs {rule.stage}", False, lambda _: True))
        for metric in rule.metrics if holder is not None else []:
            label = f"{metric} vs {name}@{holder} ({rule.stage})"
            out.append(Declared("no_regression", label, True, _exact(label)))
    for sl in tests.slices:
        for metric in sl.metrics:
            label = f"{sl.column}=* {metric}"
            out.append(Declared("slices", label, False, _slice(sl.column, metric)))
    for inv in tests.invariance:
        label = f"{inv.column} {inv.perturbation}" + (
            f" x{inv.scale:g}" if inv.perturbation == "noise" else ""
        )
        out.append(Declared("invariance", label, True, _exact(label)))
    if tests.latency:
        for size in tests.latency.batch_sizes:
            for pct, limit in (("p50", tests.latency.p50_ms), ("p95", tests.latency.p95_ms)):
                label = f"{pct} batch {size}"
                out.append(Declared("latency", label, limit is not None, _exact(label)))
    if tests.max_size_mb is not None:
        label = "artifact size MB"
        out.append(Declared("size", label, True, _exact(label)))
    return out


# (root, commit, path) -> the bytes of the record committed there (None: not there), and
# what they parse to: a commit's files never change, so an entry is never stale.
_RAW_AT: dict[tuple[str, str, str], bytes | None] = {}
_PARSED_AT: dict[tuple[str, str, str], VersionRecord | None] = {}


def registered_record(
    project: Project,
    record: VersionRecord,
    models: dict[str, regtags.ModelState] | None = None,
    reader: RecordReader | None = None,
) -> VersionRecord | None:
    """The record as `mlops model register` committed it, read at the version's own tag.

    With `models` (the registry state the caller has read), the commit of the version's
    tag is taken from it, and the first call reads the registered records of every version
    of the model in one `git cat-file --batch` (each parsed when asked for, through the
    record cache): `mlops status` gates a thousand versions with one git call, not a
    thousand. `reader`: the caller's open record cache (one for a whole `status`, not one
    per record); else one is opened for this record."""
    state = (models or {}).get(record.model)
    held = state.versions.get(record.version) if state is not None else None
    if state is None or held is None:
        return _registered_at_tag(project, record)
    rel = record_path(record.model, record.version)
    key = (str(project.root), held.commit, rel)
    if key not in _RAW_AT:
        read_registered(project, [state])
    if key not in _PARSED_AT:
        raw = _RAW_AT.get(key)
        tag = regtags.register_tag(record.model, record.version)
        source = f"{rel} at {tag}"
        _PARSED_AT[key] = None if raw is None else _parse_or_none(project, raw, source, reader)
    return _PARSED_AT[key]


def read_registered(
    project: Project,
    states: Iterable[regtags.ModelState],
    only: set[tuple[str, str]] | None = None,
) -> None:
    """Read the registered record (at its tag's commit) of every version of `states` (or
    of those (model, version) in `only`) not read yet, in one `git cat-file --batch`
    (`status` asks for all its models at once)."""
    from mlops_cli.gitio.objects import read_objects

    root = str(project.root)
    specs = {}
    for state in states:
        for v in state.versions.values():
            if only is not None and (state.name, v.version) not in only:
                continue
            rel = record_path(state.name, v.version)
            if (root, v.commit, rel) not in _RAW_AT:
                specs[(root, v.commit, rel)] = f"{v.commit}:{rel}"
    blobs = read_objects(project.root, list(specs.values()))
    for key, spec in specs.items():
        _RAW_AT[key] = blobs.get(spec)


def _parse_or_none(
    project: Project, raw: bytes, source: str, reader: RecordReader | None
) -> VersionRecord | None:
    try:
        if reader is not None:
            return reader.parse(raw, source)
        with RecordReader(project.root) as own:
            return own.parse(raw, source)
    except MlopsError:
        return None


def _registered_at_tag(project: Project, record: VersionRecord) -> VersionRecord | None:
    tag = regtags.register_tag(record.model, record.version)
    rel = record_path(record.model, record.version)
    raw = gitrefs.read_blob(project.root, f"refs/tags/{tag}", rel)
    if raw is None:
        return None
    try:
        return parse_record(raw, f"{rel} at {tag}")
    except MlopsError:
        return None


def _few(items: list[str], n: int = 6) -> str:
    shown = ", ".join(items[:n])
    return shown + (f" and {len(items) - n} more" if len(items) > n else "")


def gate_problem(
    project: Project,
    record: VersionRecord,
    models: dict[str, regtags.ModelState] | None = None,
    reader: RecordReader | None = None,
) -> str | None:
    """Why `record`'s tests do not allow promotion (one line), or None when they do.
    `models` is the registry state (read from the tags when not given); `reader` an open
    record cache (`registered_record`)."""
    spec = f"{record.model}@{record.version}"
    rerun = f"run `mlops test {spec} --record`"
    tests = record.tests
    if not tests:
        return f"it has no recorded tests; {rerun}"
    if problem := _binding_problem(project, record, tests, models, reader):
        return f"{problem}; {rerun}"
    checks = [c for c in tests.get("checks") or [] if isinstance(c, dict)]
    failed = [str(c.get("name")) for c in checks if c.get("passed") is False]
    if failed or tests.get("passed") is not True:
        return f"its recorded tests failed ({_few(failed) or 'see the record'})"
    model = project.config.models.get(record.model)
    if model is None:
        return f"{record.model} is not declared in mlops.yaml"
    if models is None:
        models = regtags.build_state(gitrefs.list_tags(project.root))
    holder = None
    if model.tests.no_regression is not None:
        state = models.get(record.model)
        held = state.in_stage(model.tests.no_regression.stage) if state else None
        holder = held.version if held is not None and held.version != record.version else None
    missing, unjudged = [], []
    for want in declared_checks(project, record.model, model, holder):
        found = [
            c for c in checks if c.get("family") == want.family and want.matches(str(c.get("name")))
        ]
        if not found:
            missing.append(str(want))
        elif want.judged and not all(c.get("passed") is True for c in found):
            unjudged.append(str(want))
    if missing:
        return (
            f"its recorded tests do not cover {len(missing)} check(s) mlops.yaml declares:"
            f" {_few(missing)}; {rerun}"
        )
    if unjudged:
        return f"its recorded tests did not judge {_few(unjudged)}; {rerun}"
    return None


def _binding_problem(
    project: Project,
    record: VersionRecord,
    tests: dict[str, Any],
    models: dict[str, regtags.ModelState] | None,
    reader: RecordReader | None = None,
) -> str | None:
    """The tests must be bound to exactly the registered version's artifact and data."""
    registered = registered_record(project, record, models, reader) or record
    sha = str(registered.artifact.get("sha256", ""))
    if str(record.artifact.get("sha256", "")) != sha:
        return (
            f"its record names artifact sha256 {str(record.artifact.get('sha256'))[:12]}, but"
            f" {record.model}@{record.version} was registered with {sha[:12]}"
        )
    hashes = {k: v.get("md5") for k, v in registered.data.items()}
    if {k: v.get("md5") for k, v in record.data.items()} != hashes:
        return (
            f"its record's data hashes differ from those {record.model}@{record.version}"
            " was registered with"
        )
    tested = str(tests.get("artifact_sha256", ""))
    if tested != sha:
        return (
            f"its tests were recorded for artifact sha256 {tested[:12] or '?'}, not for its"
            f" artifact {sha[:12]}"
        )
    test_data = [d for d in registered.data.values() if d.get("role") == "test" and d.get("md5")]
    if test_data and tests.get("data_md5") != test_data[0]["md5"]:
        return (
            f"its tests ran on test data md5 {str(tests.get('data_md5'))[:12]}, not on its"
            f" own ({test_data[0]['path']}, md5 {str(test_data[0]['md5'])[:12]})"
        )
    model = project.config.models.get(record.model)
    declared = model.test_data if model is not None else None
    if declared and tests.get("dataset") != declared:
        return f"its tests ran on data set {tests.get('dataset')!r}, not on test_data {declared!r}"
    return None
