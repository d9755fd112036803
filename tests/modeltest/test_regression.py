"""`no_regression` loads the baseline with the trust list it was registered with (issue 13
item 4), on a real trained project whose model holds a type skops does not trust by
default (`numpy.dtype`, an allow-listed class, so mlops.yaml may trust it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mlops_cli.modeltest.regression import baseline_trusted_types
from mlops_cli.project.root import open_project
from mlops_cli.registry import records as registry
from tests.modelproject import NAME, commit_all, copy_of, edit_config, run, tool, trained

FIT = "    model = build_model(params).fit(features, labels)\n"


def with_a_dtype_in_the_model(project: Path) -> None:
    """Retrain so the fitted model carries a `numpy.dtype` (skops: not trusted by default)."""
    train = project / "src/train.py"
    text = train.read_text()
    assert FIT in text
    extra = '    import numpy\n    model.steps[-1][1].dtype_hint_ = numpy.dtype("float64")\n'
    train.write_text(text.replace(FIT, FIT + extra, 1))
    evaluate = project / "src/evaluate.py"
    text = evaluate.read_text()
    marker = '        "sklearn.pipeline.Pipeline",\n'
    assert marker in text
    evaluate.write_text(text.replace(marker, marker + '        "numpy.dtype",\n', 1))
    run([tool("dvc"), "repro", "-q"], project)
    commit_all(project, "a model holding a numpy.dtype")


@pytest.fixture
def project(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Path:
    return copy_of(trained(tmp_path_factory), tmp_path)


def test_widening_trusted_types_today_does_not_widen_the_baseline(cli: Any, project: Path) -> None:
    m = lambda *a: cli("-C", str(project), *a)  # noqa: E731
    with_a_dtype_in_the_model(project)
    # v1.0.0 registered while mlops.yaml trusted nothing extra: it never could be loaded
    # then, so it reached prod only by force.
    assert m("model", "register", NAME, "--version", "v1.0.0").exit_code == 0
    refused = m("test", f"{NAME}@v1.0.0")
    assert refused.exit_code == 4 and "numpy.dtype" in refused.stderr
    forced = m("model", "promote", NAME, "v1.0.0", "prod", "--force", "--reason", "INC-1")
    assert forced.exit_code == 0, forced.stderr
    record = registry.load_record(open_project(project), NAME, "v1.0.0")
    assert record.artifact["trusted_types"] == []

    # Today's mlops.yaml trusts numpy.dtype: the workspace model loads, the baseline not.
    edit_config(project, "    format: skops", "    trusted_types: [numpy.dtype]\n    format: skops")
    commit_all(project, "trust numpy.dtype")
    opened = open_project(project)
    assert baseline_trusted_types(opened, record) == []
    doc = m("test", NAME, "--json").json()
    regression = [c for c in doc["checks"] if c["family"] == "no_regression"]
    assert [c["passed"] for c in regression] == [False]
    assert f"cannot load {NAME}@v1.0.0 to compare with" in regression[0]["detail"]
    assert "numpy.dtype" in regression[0]["detail"]
    others = [c for c in doc["checks"] if c["family"] != "no_regression"]
    assert all(c["passed"] is not False for c in others), others
