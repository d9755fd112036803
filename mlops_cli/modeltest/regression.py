"""The `no_regression` check: score the version in a stage on the same data, compare.

Both models are scored on the very rows under test, rather than comparing with numbers
recorded on other data; the baseline is loaded through `safeload` like any model, with the
trust list it was registered with (`artifact.trusted_types` of the record at its version
tag; for a record older than that field, the model's `trusted_types` in mlops.yaml at the
commit it was registered from), never today's: widening `trusted_types` for a new model
does not widen what an old baseline may load. Either list counts only for allow-listed
classes (`modeltest/load.py`).
"""

from __future__ import annotations

from typing import Any

from mlops_cli.common.errors import MlopsError
from mlops_cli.modeltest import checks as mc
from mlops_cli.project.root import Project


def regression_checks(
    project: Project,
    name: str,
    version: str | None,
    features: Any,
    labels: Any,
    y_pred: Any,
    proba: Any,
    classes: list[Any],
) -> list[mc.CheckResult]:
    from mlops_cli.modeltest import load as safeload
    from mlops_cli.modeltest.predictor import LocalPredictor
    from mlops_cli.registry import records as registry

    model = project.config.models[name]
    rule = model.tests.no_regression
    assert rule is not None
    current = registry.state(project).get(name)
    held = current.in_stage(rule.stage) if current else None
    if held is None:
        detail = f"no version of {name} is in {rule.stage} yet: nothing to compare with"
        return [mc.CheckResult("no_regression", f"vs {rule.stage}", None, detail=detail)]
    baseline = f"{name}@{held.version}"
    if held.version == version:
        detail = f"{baseline} is the version in {rule.stage}"
        return [mc.CheckResult("no_regression", f"vs {rule.stage}", True, detail=detail)]
    try:
        resolved = registry.resolve(project, baseline)
        assert resolved.record is not None
        fmt = str(resolved.record.artifact.get("format", model.format))
        trusted = baseline_trusted_types(project, resolved.record)
        loaded = safeload.load_model(resolved.artifact, fmt, project=project, trusted_types=trusted)
    except MlopsError as exc:
        detail = f"cannot load {baseline} to compare with: {exc}"
        return [mc.CheckResult("no_regression", f"vs {baseline}", False, detail=detail)]
    base = LocalPredictor(loaded, fmt)
    base_pred = base.predict(features)
    base_proba = base.predict_proba(features) if model.task == "classification" else None
    base_classes = mc.classes_of(base, labels, base_pred)
    out = []
    for metric in rule.metrics:
        mine = mc.score(metric, labels, y_pred, proba, classes)
        theirs = mc.score(metric, labels, base_pred, base_proba, base_classes)
        check = f"{metric} vs {baseline} ({rule.stage})"
        if mine is None or theirs is None:
            out.append(mc.CheckResult("no_regression", check, False, detail="not computable"))
            continue
        if metric in mc.LOWER_IS_BETTER:
            ok, bound = mine <= theirs + rule.tolerance, f"<= {theirs:.4g} + {rule.tolerance:g}"
        else:
            ok, bound = mine >= theirs - rule.tolerance, f">= {theirs:.4g} - {rule.tolerance:g}"
        out.append(
            mc.CheckResult("no_regression", check, ok, mine, bound, f"{baseline}: {theirs:.4f}")
        )
    return out


def baseline_trusted_types(project: Project, record: Any) -> list[str]:
    """The trust list `record`'s version was registered with (see the module docstring)."""
    from mlops_cli.common.yamlio import parse_yaml
    from mlops_cli.gitio import refs as gitrefs
    from mlops_cli.project.root import CONFIG_FILE
    from mlops_cli.registry.gate import registered_record

    registered = registered_record(project, record) or record
    listed = registered.artifact.get("trusted_types")
    if isinstance(listed, list):
        return [str(t) for t in listed]
    commit = str(registered.git.get("commit") or "")
    raw = gitrefs.read_blob(project.root, commit, f"./{CONFIG_FILE}") if commit else None
    if raw is None:
        return []
    try:
        doc = parse_yaml(raw, f"{CONFIG_FILE} at {commit[:10]}").data
        then = doc["models"][record.model].get("trusted_types") or []
    except (MlopsError, KeyError, TypeError, AttributeError):
        return []
    return [str(t) for t in then] if isinstance(then, list) else []
