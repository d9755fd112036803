"""The `no_regression` check: score the version in a stage on the same data, compare.

Both models are scored on the very rows under test, rather than comparing with numbers
recorded on other data; the baseline is loaded through `safeload` like any model, so it gets
no more trust than the allow-list admits: mlops.yaml's `trusted_types` count only for
allow-listed classes, whatever today's file says (records keep no type list of their own).
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
        loaded = safeload.load_model(
            resolved.artifact, fmt, project=project, trusted_types=model.trusted_types
        )
    except MlopsError as exc:
        detail = f"cannot load {baseline} to compare with: {exc}"
        return [mc.CheckResult("no_regression", f"vs {baseline}", False, detail=detail)]
    base = LocalPredictor(loaded)
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
