"""`mlops model diff`: two versions (or a version and a stage, or the workspace) side by side.

Everything is read from the committed records (`records.load_record`) and tags; the
workspace side is what `model register` would record now (`lineage.capture`), with what
differs from the commit as warnings. Nothing is written: no record cache, no artifact copy,
no git index refresh (`gitio/porcelain.py`).

Tolerance is the one `no_regression` declares in mlops.yaml (the model of B): a metric it
lists (by name: `accuracy`, or a record key whose last part is that name) moved past it
when B is worse than A by more than `tolerance`: lower for most metrics, higher for the
error metrics (mae, rmse, mape). A is the baseline, B the candidate, as in the check.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mlops_cli.project.root import Project
from mlops_cli.registry.records import (
    WORKSPACE,
    VersionRecord,
    load_record,
    model_config,
    now,
    registered_version,
)
from mlops_cli.registry.records import parse_spec as _parse_spec

if TYPE_CHECKING:  # a type only: importing it loads pydantic
    from mlops_cli.project.config import NoRegression

# modeltest/checks.py LOWER_IS_BETTER (above this package; tests/registry/test_diff.py
# checks the two are equal).
LOWER_IS_BETTER = frozenset({"mae", "rmse", "mape"})
_EPSILON = 1e-12  # float noise in a recorded value is not a move past a tolerance


@dataclass(frozen=True)
class Side:
    """One side of the diff: what SPEC resolved to."""

    spec: str
    record: VersionRecord
    workspace: bool  # the workspace model: no tag, no tests, no images
    stages: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        r = self.record
        return {
            "spec": self.spec,
            "model": r.model,
            "version": None if self.workspace else r.version,
            "workspace": self.workspace,
            "stages": self.stages,
            "commit": r.git.get("commit"),
            "created": None if self.workspace else r.created,
            "artifact": {k: r.artifact.get(k) for k in ("path", "format", "sha256", "bytes")},
        }


@dataclass(frozen=True)
class ModelDiff:
    a: Side
    b: Side
    artifact: dict[str, Any]
    params: list[dict[str, Any]]
    metrics: list[dict[str, Any]]
    data: list[dict[str, Any]]
    environment: dict[str, Any]
    tests: dict[str, Any]
    images: dict[str, Any]
    warnings: list[str] = field(default_factory=list)

    @property
    def past_tolerance(self) -> list[str]:
        return [m["name"] for m in self.metrics if m["past_tolerance"]]

    @property
    def changed(self) -> list[str]:
        """The sections that differ between A and B."""
        out = []
        if self.artifact["changed"]:
            out.append("artifact")
        for name, rows in (("params", self.params), ("metrics", self.metrics)):
            if any(r["changed"] for r in rows):
                out.append(name)
        if any(d["changed"] for d in self.data):
            out.append("data")
        if self.environment["changed"]:
            out.append("environment")
        if self.tests["changed"]:
            out.append("tests")
        if self.images["changed"]:
            out.append("images")
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "a": self.a.to_dict(),
            "b": self.b.to_dict(),
            "changed": self.changed,
            "past_tolerance": self.past_tolerance,
            "artifact": self.artifact,
            "params": self.params,
            "metrics": self.metrics,
            "data": self.data,
            "environment": self.environment,
            "tests": self.tests,
            "images": self.images,
            "warnings": self.warnings,
        }


def side(project: Project, spec: str, warnings: list[str]) -> Side:
    """`spec` as `model show` reads it, except that a bare NAME is the workspace model (as
    in `mlops test NAME`); InputError (exit 3) when it names nothing."""
    name, version, stage = _parse_spec(spec)
    model_config(project, name)
    if stage is None and version in (None, WORKSPACE):
        return Side(spec, _workspace_record(project, name, warnings), True)
    version, current = registered_version(project, name, version, stage)
    record = load_record(project, name, version)
    return Side(spec, record, False, current.stages_of(version))


def _workspace_record(project: Project, name: str, warnings: list[str]) -> VersionRecord:
    """What `model register` would record for the work tree now, without writing it."""
    from mlops_cli.registry.lineage import capture, dvc_hash

    found = capture(project, name, strict=False)
    warnings += [f"workspace: {w}" for w in found.warnings]
    data = {}
    for ds_name, entry in found.data.items():
        path = project.root / str(entry["path"])
        if entry["path"] in found.differs and path.exists():
            # The record would hold the committed hash; the diff shows the work tree's.
            entry = {**entry, "md5": dvc_hash(path)}
        data[ds_name] = entry
    return VersionRecord(
        model=name,
        version=WORKSPACE,
        created=now(),
        git={"commit": found.commit},
        artifact=found.artifact,
        data=data,
        params=found.params,
        metrics=found.metrics,
        environment=found.environment,
    )


def diff(project: Project, spec_a: str, spec_b: str) -> ModelDiff:
    """A and B side by side: params, metrics (with tolerance), data, environment, tests,
    images, from their records."""
    warnings: list[str] = []
    a, b = side(project, spec_a, warnings), side(project, spec_b, warnings)
    rule = project.config.models[b.record.model].tests.no_regression
    return compare(a, b, rule, warnings)


def compare(
    a: Side, b: Side, rule: NoRegression | None, warnings: list[str] | None = None
) -> ModelDiff:
    """The diff of two resolved sides, judged by `rule` (B's no_regression)."""
    ra, rb = a.record, b.record
    return ModelDiff(
        a=a,
        b=b,
        artifact=_artifact(ra, rb),
        params=_values(_flat(ra.params), _flat(rb.params)),
        metrics=metric_rows(rule, ra, rb),
        data=_data(ra, rb),
        environment=_environment(ra, rb),
        tests=_tests(ra, rb),
        images=_images(ra, rb),
        warnings=list(warnings or []),
    )


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return None if math.isnan(value) else float(value)


def _delta(a: Any, b: Any) -> float | int | None:
    x, y = _number(a), _number(b)
    if x is None or y is None:
        return None
    if isinstance(a, int) and isinstance(b, int):
        return b - a  # counts (rows, bytes) stay whole numbers
    return round(y - x, 12)


def _flat(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _values(a: dict[str, Any], b: dict[str, Any]) -> list[dict[str, Any]]:
    keys = list(dict.fromkeys([*a, *b]))
    return [
        {
            "name": k,
            "a": a.get(k),
            "b": b.get(k),
            "delta": _delta(a.get(k), b.get(k)),
            "changed": k not in a or k not in b or a[k] != b[k],
        }
        for k in keys
    ]


def metric_rows(
    rule: NoRegression | None, ra: VersionRecord, rb: VersionRecord
) -> list[dict[str, Any]]:
    """The record's metrics (the training stage's file) and the ones `mlops test` measured
    on the test data (its `metrics` checks), each with the tolerance `rule` gives it."""
    tolerated = set(rule.metrics) if rule else set()
    rows = []
    for source, a, b in (
        ("record", _flat(ra.metrics), _flat(rb.metrics)),
        ("tests", _tested(ra), _tested(rb)),
    ):
        for row in _values(a, b):
            leaf = row["name"].rsplit(".", 1)[-1]
            lower = leaf in LOWER_IS_BETTER
            tolerance = rule.tolerance if rule and leaf in tolerated else None
            past = None
            x, y = _number(row["a"]), _number(row["b"])
            if tolerance is not None and x is not None and y is not None:
                worse = (y - x) if lower else (x - y)
                past = worse > tolerance + _EPSILON
            rows.append(
                {
                    **row,
                    "source": source,
                    # Said only where a tolerance judges it: `rows` is neither.
                    "better": None if tolerance is None else "lower" if lower else "higher",
                    "tolerance": tolerance,
                    "past_tolerance": past,
                }
            )
    return rows


def _tested(record: VersionRecord) -> dict[str, Any]:
    checks = (record.tests or {}).get("checks") or []
    return {
        str(c.get("name")): c.get("value")
        for c in checks
        if isinstance(c, dict) and c.get("family") == "metrics"
    }


def _artifact(ra: VersionRecord, rb: VersionRecord) -> dict[str, Any]:
    a, b = ra.artifact, rb.artifact
    return {
        "a": {k: a.get(k) for k in ("path", "format", "sha256", "bytes")},
        "b": {k: b.get(k) for k in ("path", "format", "sha256", "bytes")},
        "bytes_delta": _delta(a.get("bytes"), b.get("bytes")),
        "changed": a.get("sha256") != b.get("sha256"),
    }


def _data(ra: VersionRecord, rb: VersionRecord) -> list[dict[str, Any]]:
    out = []
    for name in dict.fromkeys([*ra.data, *rb.data]):
        da, db = ra.data.get(name), rb.data.get(name)
        pick = ("path", "md5", "rows", "role")
        out.append(
            {
                "name": name,
                "a": {k: da.get(k) for k in pick} if da else None,
                "b": {k: db.get(k) for k in pick} if db else None,
                "rows_delta": _delta((da or {}).get("rows"), (db or {}).get("rows")),
                "changed": da is None
                or db is None
                or (da.get("md5"), da.get("path")) != (db.get("md5"), db.get("path")),
            }
        )
    return out


def _environment(ra: VersionRecord, rb: VersionRecord) -> dict[str, Any]:
    ea, eb = ra.environment, rb.environment
    pa, pb = dict(ea.get("packages") or {}), dict(eb.get("packages") or {})
    packages = []
    for name in sorted(set(pa) | set(pb), key=str.lower):
        if name not in pa:
            change = "added"
        elif name not in pb:
            change = "removed"
        else:
            change = "unchanged" if str(pa[name]) == str(pb[name]) else "changed"
        packages.append({"name": name, "a": pa.get(name), "b": pb.get(name), "change": change})
    code_a, code_b = ea.get("project_code") or {}, eb.get("project_code") or {}
    python = {"a": ea.get("python"), "b": eb.get("python")}
    code = {"a": code_a.get("sha256"), "b": code_b.get("sha256")}
    return {
        "python": python,
        "project_code": code,
        "packages": packages,
        "changed": python["a"] != python["b"]
        or code["a"] != code["b"]
        or any(p["change"] != "unchanged" for p in packages),
    }


def _tests(ra: VersionRecord, rb: VersionRecord) -> dict[str, Any]:
    def summary(record: VersionRecord) -> dict[str, Any] | None:
        t = record.tests
        if not t:
            return None
        checks = [c for c in t.get("checks") or [] if isinstance(c, dict)]
        return {
            "passed": bool(t.get("passed")),
            "ran": t.get("ran"),
            "dataset": t.get("dataset"),
            "data_md5": t.get("data_md5"),
            "checks": len(checks),
            "failed": [
                f"{c.get('family')}: {c.get('name')}" for c in checks if c.get("passed") is False
            ],
        }

    def by_key(record: VersionRecord) -> dict[tuple[str, str], dict[str, Any]]:
        checks = (record.tests or {}).get("checks") or []
        return {
            (str(c.get("family")), str(c.get("name"))): c for c in checks if isinstance(c, dict)
        }

    ca, cb = by_key(ra), by_key(rb)
    checks: list[dict[str, Any]] = []
    for family, name in dict.fromkeys([*ca, *cb]):
        x, y = ca.get((family, name)), cb.get((family, name))
        checks.append(
            {
                "family": family,
                "name": name,
                "a": {"passed": x.get("passed"), "value": x.get("value")} if x else None,
                "b": {"passed": y.get("passed"), "value": y.get("value")} if y else None,
                "changed": x is None
                or y is None
                or (x.get("passed"), x.get("value")) != (y.get("passed"), y.get("value")),
            }
        )
    sa, sb = summary(ra), summary(rb)
    # A verdict that differs is a change; a check only one side ran (the no_regression
    # baseline names the version in the stage then) or a new latency figure is not.
    changed = (
        (sa is None) != (sb is None)
        or (sa is not None and sb is not None and sa["passed"] != sb["passed"])
        or any(c["a"] and c["b"] and c["a"]["passed"] != c["b"]["passed"] for c in checks)
    )
    return {"a": sa, "b": sb, "checks": checks, "changed": changed}


def _images(ra: VersionRecord, rb: VersionRecord) -> dict[str, Any]:
    def entries(record: VersionRecord) -> list[dict[str, Any]]:
        return [
            {
                "ref": i.get("ref"),
                "digest": i.get("digest"),
                "size": i.get("size", i.get("bytes")),
                "pushed": i.get("pushed"),
            }
            for i in record.images
        ]

    a, b = entries(ra), entries(rb)
    digests_a, digests_b = (sorted(str(i["digest"]) for i in side) for side in (a, b))
    return {"a": a, "b": b, "changed": digests_a != digests_b}
