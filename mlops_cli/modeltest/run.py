"""`mlops test`: the checks declared under `models.<name>.tests` in mlops.yaml.

Contract for other runners (e.g. `mlops test --image`, which posts to a container):

    run_checks(project, name, predictor, *, artifact, version=None, reporter=None)
        -> TestReport
    `predictor` is any `modelchecks.Predictor` (predict(frame) -> array, predict_proba(frame)
    -> array | None, optional `classes`); `LocalPredictor` wraps a loaded estimator, and an
    HTTP implementation can wrap a served model. `artifact` is {path, sha256, bytes} of the
    model under test (the size check and `--record` use it).

    test_model(project, spec, *, trust=False, reporter=None) -> TestReport
        resolves `spec` (a bare name is the workspace model), loads it through `safeload`,
        and runs the checks on a `LocalPredictor`.

Order: the test data set is validated against its schema first (a failing schema stops
the run); then metric floors, output contract, no regression against the version in a
stage, slices, invariance, latency and size. `TestReport.to_record()` is what `--record`
stores, bound to the artifact's sha256 and the test data's md5.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops_cli import __version__
from mlops_cli.common.errors import ConfigError, InputError
from mlops_cli.common.fs import atomic_write_bytes
from mlops_cli.common.progress import NullReporter, Reporter
from mlops_cli.modeltest import checks as mc
from mlops_cli.modeltest.predictor import LocalPredictor
from mlops_cli.project.root import Project

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class TestReport:
    model: str
    version: str | None
    target: str  # what was tested, as the user named it: churn@v0.2.0, churn (workspace)
    artifact: dict[str, Any]  # {path, sha256, bytes}
    data: dict[str, Any]  # {dataset, path, md5, rows}
    checks: list[mc.CheckResult]
    ran: str
    seconds: float
    warnings: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(c.passed is not False for c in self.checks)

    @property
    def failed(self) -> list[mc.CheckResult]:
        return [c for c in self.checks if c.passed is False]

    def to_dict(self) -> dict[str, Any]:
        """The `--json` document's body."""
        return {
            "model": self.model,
            "version": self.version,
            "target": self.target,
            "passed": self.passed,
            "artifact": self.artifact,
            "data": self.data,
            "ran": self.ran,
            "seconds": round(self.seconds, 3),
            "checks": [c.to_dict() for c in self.checks],
            "warnings": self.warnings,
        }

    def to_record(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "artifact_sha256": self.artifact.get("sha256"),
            "data_md5": self.data.get("md5"),
            "dataset": self.data.get("dataset"),
            "ran": self.ran,
            "seconds": round(self.seconds, 3),
            "mlops": __version__,
            "checks": [c.to_dict() for c in self.checks],
        }


def _now() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _read_frame(path: Path) -> pd.DataFrame:
    import pandas as pd

    if path.suffix.lower() == ".parquet":
        return pd.read_parquet(path)
    return pd.read_csv(path, sep="\t" if path.suffix.lower() == ".tsv" else ",")


def _schema_check(
    project: Project, dataset: str, path: Path, schema: str | None, reporter: Reporter
) -> mc.CheckResult:
    if schema is None:
        return mc.CheckResult("schema", "test data schema", None, detail="no schema declared")
    from mlops_cli.validation.junit import describe
    from mlops_cli.validation.validate import validate_file

    result = validate_file(
        path, project.root / schema, root=project.root, dataset=dataset, reporter=reporter
    )
    detail = "; ".join(describe(f) for f in result.failures[:3])
    return mc.CheckResult("schema", schema, bool(result.passed), detail=detail)


def run_checks(
    project: Project,
    name: str,
    predictor: mc.Predictor,
    *,
    artifact: dict[str, Any],
    version: str | None = None,
    target: str | None = None,
    reporter: Reporter | None = None,
) -> TestReport:
    """Run every check declared for `name` against `predictor` (see the module docstring)."""
    from mlops_cli.registry.lineage import digests

    reporter = reporter or NullReporter()
    started, ran = time.perf_counter(), _now()
    model = project.config.models[name]
    tests = model.tests
    if model.test_data is None:
        raise ConfigError(
            f"models.{name}.test_data is not set in mlops.yaml, so there is no data to test on",
            hint="name one of the data sets under `datasets:`",
        )
    dataset = project.config.datasets[model.test_data]
    path = project.root / dataset.path
    if not path.is_file():
        raise InputError(
            f"{dataset.path}: no such file (the test data set {model.test_data!r})",
            hint="produce it (`dvc repro`) or fetch it (`dvc pull`)",
        )
    data: dict[str, Any] = {
        "dataset": model.test_data,
        "path": dataset.path,
        "md5": digests(path).md5,
        "rows": None,
    }
    label = target or (f"{name}@{version}" if version else f"{name} (workspace)")

    def report(checks: list[mc.CheckResult], warnings: list[str]) -> TestReport:
        return TestReport(
            name,
            version,
            label,
            artifact,
            data,
            checks,
            ran,
            time.perf_counter() - started,
            warnings,
        )

    reporter.step(f"validating {dataset.path} against its schema")
    checks = [_schema_check(project, model.test_data, path, dataset.schema_, reporter)]
    if checks[0].passed is False:
        return report(checks, ["the test data fails its schema; no other check ran"])
    frame = _read_frame(path)
    data["rows"] = len(frame)
    _check_columns(name, model, frame)
    features, labels = frame.drop(columns=[model.target]), frame[model.target]

    _task_contract(name, model.task, predictor)
    _input_contract(name, predictor, features)
    reporter.step(f"scoring {label} on {len(frame)} rows of {model.test_data}")
    y_pred = predictor.predict(features)
    proba = predictor.predict_proba(features) if model.task == "classification" else None
    classes = mc.classes_of(predictor, labels, y_pred)
    checks += mc.metric_checks(tests.metrics, labels, y_pred, proba, classes)
    checks += mc.output_checks(tests.output, len(frame), y_pred, proba, model.task)
    if tests.no_regression:
        from mlops_cli.modeltest.regression import regression_checks

        checks += regression_checks(
            project, name, version, features, labels, y_pred, proba, classes
        )
    for sl in tests.slices:
        checks += _slice_checks(sl, frame, labels, y_pred, proba, classes)
    for inv in tests.invariance:
        checks.append(mc.invariance_check(model.task, predictor, features, y_pred, inv))
    if tests.latency:
        reporter.step("measuring latency")
        checks += mc.latency_checks(predictor, features, tests.latency)
    if tests.max_size_mb is not None and artifact.get("bytes") is not None:
        checks.append(mc.size_check(int(artifact["bytes"]), tests.max_size_mb))
    return report(checks, [])


CONTRACT_HINT = (
    "the model must take the data set's columns: wrap preprocessing and estimator in one"
    " Pipeline (sklearn.pipeline.make_pipeline) and train that on the raw columns"
)


def _input_contract(name: str, predictor: mc.Predictor, features: pd.DataFrame) -> None:
    """Before scoring: the model must accept the data set's own columns (exit 3 if not).

    A model trained on preprocessed arrays fails deep inside scikit-learn ("could not
    convert string to float"); that is a mismatch between the model and its data set,
    not a bug, and the message says what the model expected and what it was given.
    """
    from mlops_cli.common.errors import MlopsError

    estimator = getattr(predictor, "model", None)
    given = [str(c) for c in features.columns]
    expected = getattr(predictor, "input_columns", None)
    if expected is None:
        expected = getattr(estimator, "feature_names_in_", None)
    n_expected = getattr(estimator, "n_features_in_", None)
    detail = ""
    if expected is not None:
        want = [str(c) for c in expected]
        missing = [c for c in want if c not in given]
        extra = [c for c in given if c not in want]
        if missing:
            detail = f"; it expects columns {_few(want)} (missing: {_few(missing)})"
            if extra:
                detail += f", given {_few(given)}"
    elif isinstance(n_expected, int) and n_expected != len(given):
        detail = f"; it expects {n_expected} feature(s), the data set gives {len(given)}"
    try:
        predictor.predict(features.head(5))
    except MlopsError:
        raise
    except Exception as exc:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(
            f"model {name!r} cannot predict on the columns of its test data"
            f" ({type(exc).__name__}: {text[:300]}){detail}",
            hint=CONTRACT_HINT,
        ) from None
    if detail and expected is not None:
        raise InputError(f"model {name!r} does not take its test data's columns{detail}",
                         hint=CONTRACT_HINT)  # fmt: skip


def _task_contract(name: str, task: str, predictor: mc.Predictor) -> None:
    """A model file that says it is a classifier must not be tested as a regressor (exit 3)."""
    kind = getattr(predictor, "kind", None)
    wanted = {"classification": "classifier", "regression": "regressor"}[task]
    if kind is not None and kind != wanted:
        raise InputError(
            f"models.{name}.task is {task}, but the model file holds a {kind}",
            hint=f"set `task: {'classification' if kind == 'classifier' else 'regression'}`"
            " for this model in mlops.yaml, or point `path` at the right file",
        )


def _few(items: list[str], n: int = 8) -> str:
    shown = ", ".join(items[:n])
    return shown + (f" and {len(items) - n} more" if len(items) > n else "")


def _check_columns(name: str, model: Any, frame: pd.DataFrame) -> None:
    needed = [("target", model.target)]
    needed += [("slices.column", s.column) for s in model.tests.slices]
    needed += [("invariance.column", i.column) for i in model.tests.invariance]
    for key, column in needed:
        if column not in frame.columns:
            raise ConfigError(
                f"models.{name}.tests: {key} {column!r} is not a column of the test data",
                hint=f"columns: {', '.join(map(str, frame.columns[:12]))}",
            )
    for inv in model.tests.invariance:
        import pandas as pd

        if inv.perturbation == "noise" and not pd.api.types.is_numeric_dtype(frame[inv.column]):
            raise ConfigError(
                f"models.{name}.tests.invariance: noise needs a numeric column, and "
                f"{inv.column!r} is not; use perturbation: shuffle or constant"
            )
    wrong = mc.REGRESSION if model.task == "classification" else mc.CLASSIFICATION
    asked = set(model.tests.metrics) | {m for s in model.tests.slices for m in s.metrics}
    if model.tests.no_regression:
        asked |= set(model.tests.no_regression.metrics)
    if bad := sorted(asked & set(wrong)):
        raise ConfigError(
            f"models.{name}.tests: {', '.join(bad)} do not apply to a {model.task} model"
        )
    contract = model.tests.output
    if contract is not None:
        if model.task == "regression" and contract.classes is not None:
            raise ConfigError(
                f"models.{name}.tests.output.classes does not apply to a regression model",
                hint="bound the predictions with output.min and output.max instead",
            )
        if model.task == "classification" and (contract.min, contract.max) != (None, None):
            raise ConfigError(
                f"models.{name}.tests.output.min/max apply to a regression model, not to a"
                " classification one",
                hint="list the allowed labels under output.classes instead",
            )


def _slice_checks(
    sl: Any, frame: pd.DataFrame, labels: Any, y_pred: Any, proba: Any, classes: list[Any]
) -> list[mc.CheckResult]:
    import numpy as np

    out = []
    column = frame[sl.column]
    for value in sorted(column.dropna().unique().tolist(), key=str):
        mask = (column == value).to_numpy()
        rows = int(mask.sum())
        for metric, bound in sl.metrics.items():
            name = f"{sl.column}={value} {metric}"
            if rows < sl.min_rows:
                detail = f"{rows} rows < min_rows {sl.min_rows}: reported, not judged"
                out.append(mc.CheckResult("slices", name, None, None, mc.describe(bound), detail))
                continue
            sub_proba = np.asarray(proba)[mask] if proba is not None else None
            value_ = mc.score(
                metric, labels.to_numpy()[mask], np.asarray(y_pred)[mask], sub_proba, classes
            )
            out.append(mc.judge("slices", name, value_, bound, f"{rows} rows"))
    return out


def test_model(
    project: Project, spec: str, *, trust: bool = False, reporter: Reporter | None = None
) -> TestReport:
    """Load the model `spec` names (a bare name: the workspace model) and run its checks."""
    from mlops_cli.modeltest import load as safeload
    from mlops_cli.registry import records as registry

    reporter = reporter or NullReporter()
    name = spec.partition("@")[0].partition("#")[0]
    resolved = registry.resolve(project, spec if spec != name else f"{name}@workspace")
    model = project.config.models[name]
    fmt = str(resolved.record.artifact.get("format")) if resolved.record else model.format
    from mlops_cli.project.code import activate

    activate(project)  # the model may reference the project's own code (code: in mlops.yaml)
    reporter.step(f"loading {resolved.artifact}")
    check = safeload.check_loadable(
        resolved.artifact, fmt, project=project, trusted_types=model.trusted_types, trust=trust
    )
    estimator = safeload.load_model(
        resolved.artifact, fmt, project=project, trusted_types=model.trusted_types, trust=trust
    )
    artifact = {"path": model.path, "sha256": check.sha256, "bytes": check.bytes}
    report = run_checks(
        project,
        name,
        LocalPredictor(estimator, fmt),
        artifact=artifact,
        version=resolved.version,
        reporter=reporter,
    )
    if resolved.record:
        wanted = next((d for d in resolved.record.data.values() if d.get("role") == "test"), None)
        if wanted and wanted.get("md5") and wanted["md5"] != report.data["md5"]:
            report.warnings.append(
                f"{report.data['path']} is not the test data of {name}@{resolved.version}"
                f" (md5 {str(wanted['md5'])[:12]}); results recorded from it will not allow"
                " promotion"
            )
    return report


def write_junit(report: TestReport, path: Path) -> None:
    """A JUnit XML file (one testsuite, one testcase per check), written atomically."""
    import xml.etree.ElementTree as ET

    failures = len(report.failed)
    skipped = sum(c.passed is None for c in report.checks)
    suites = ET.Element("testsuites", name="mlops test")
    suite = ET.SubElement(
        suites,
        "testsuite",
        name=report.target,
        tests=str(len(report.checks)),
        failures=str(failures),
        errors="0",
        skipped=str(skipped),
        time=f"{report.seconds:.3f}",
        timestamp=report.ran,
    )
    props = ET.SubElement(suite, "properties")
    for key, value in (
        ("artifact_sha256", report.artifact.get("sha256")),
        ("data_md5", report.data.get("md5")),
        ("dataset", report.data.get("dataset")),
    ):
        ET.SubElement(props, "property", name=key, value=str(value))
    for check in report.checks:
        case = ET.SubElement(
            suite, "testcase", classname=f"{report.model}.{check.family}", name=check.name
        )
        shown = f"{check.name}: {_fmt(check.value)} (want {check.bound or 'n/a'})"
        if check.passed is False:
            failure = ET.SubElement(case, "failure", message=shown)
            failure.text = check.detail or shown
        elif check.passed is None:
            ET.SubElement(case, "skipped", message=check.detail or "reported, not judged")
    ET.indent(suites)
    body = ET.tostring(suites, encoding="unicode")
    atomic_write_bytes(path, f'<?xml version="1.0" encoding="utf-8"?>\n{body}\n'.encode())


def _fmt(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
