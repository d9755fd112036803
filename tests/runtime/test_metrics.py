"""GET /metrics of a really served model, after real good and bad requests, read back with
prometheus_client's own text parser: every count exact."""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.runtime.served import Served, model_dir_of, runtime, value

ROW = {"sepal_length_cm": 6.7, "sepal_width_cm": 3.0, "petal_length_cm": 5.2, "petal_width_cm": 2.3}


def holdout(project: Path) -> Any:
    import pandas as pd

    return pd.read_csv(project / "data/prepared/holdout.csv").drop(columns=["target"])


@pytest.fixture(scope="module")
def model_dir(trained_project: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return model_dir_of(trained_project, tmp_path_factory.mktemp("model-dir"))


@pytest.fixture
def server(model_dir: Path, tmp_path: Path) -> Iterator[Served]:
    with runtime(model_dir, tmp_path / "server.log") as served:
        yield served


def test_counts_after_good_and_bad_requests_are_exact(
    server: Served, trained_project: Path
) -> None:
    import skops.io as sio

    frame = holdout(trained_project)
    path = trained_project / "models/model.skops"
    model = sio.load(path, trusted=sio.get_untrusted_types(file=path))
    batches = [frame.iloc[:10], frame.iloc[10:], frame.iloc[:1]]
    before = server.metrics()  # the start-up's health probes are in it
    assert value(before, "mlops_requests_total", endpoint="/predict", code="200") == 0
    probes = value(before, "mlops_requests_total", endpoint="/health", code="200")
    assert probes >= 1
    for batch in batches:
        status, body = server.predict(batch.to_dict("records"))
        assert status == 200, body
    for bad in (b"{not json", b"\xff\xfe[1]", b"[" + b"[" * 100 + b"]" * 101):
        assert server.request("POST", "/predict", bad)[0] in (400, 422)
    assert server.predict([{**ROW, "sepal_length_cm": "wide"}])[0] == 422  # schema
    assert server.predict([{"petal_width_cm": 1.0}])[0] == 422  # schema: missing columns
    assert server.request("GET", "/health")[0] == 200
    assert server.request("GET", "/predict")[0] == 405
    assert server.request("GET", "/nope")[0] == 404

    samples = server.metrics()
    m = lambda name, **labels: value(samples, name, **labels)  # noqa: E731
    assert m("mlops_requests_total", endpoint="/predict", code="200") == 3
    assert m("mlops_requests_total", endpoint="/predict", code="400") == 2
    assert m("mlops_requests_total", endpoint="/predict", code="422") == 3
    assert m("mlops_requests_total", endpoint="/predict", code="405") == 1
    assert m("mlops_requests_total", endpoint="/health", code="200") == probes + 1
    assert m("mlops_requests_total", endpoint="other", code="404") == 1
    # A scrape is counted once it has answered: the one before, not this one.
    assert m("mlops_requests_total", endpoint="/metrics", code="200") == 1
    assert m("mlops_request_duration_seconds_count", endpoint="/predict") == 9
    assert m("mlops_request_duration_seconds_bucket", endpoint="/predict", le="+Inf") == 9
    assert m("mlops_request_duration_seconds_sum", endpoint="/predict") > 0
    assert m("mlops_request_errors_total", kind="bad_json") == 3
    assert m("mlops_request_errors_total", kind="schema") == 2
    assert m("mlops_request_errors_total", kind="model") == 0
    assert m("mlops_request_errors_total", kind="body_too_large") == 0
    assert m("mlops_predicted_rows_total") == len(frame) + 1
    expected = Counter(str(p) for b in batches for p in model.predict(b).tolist())
    classes = {
        dict(labels)["class"]: v
        for (name, labels), v in samples.items()
        if name == "mlops_predicted_class_total"
    }
    assert classes == dict(expected)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    info = [labels for name, labels in samples if name == "mlops_model_info"]
    assert info == [(("artifact_sha256", sha), ("model", "churn"), ("version", "workspace"))]
    assert samples[("mlops_model_info", info[0])] == 1
    # No prediction log configured: nothing logged, nothing dropped.
    assert m("mlops_prediction_log_rows_total") == 0

    again = server.metrics()
    assert value(again, "mlops_requests_total", endpoint="/metrics", code="200") == 2
    assert value(again, "mlops_predicted_rows_total") == len(frame) + 1


def test_metrics_is_the_prometheus_text_format_and_get_only(server: Served) -> None:
    status, raw = server.request("GET", "/metrics")
    assert status == 200
    assert b"# TYPE mlops_requests_total counter" in raw
    assert b"# TYPE mlops_request_duration_seconds histogram" in raw
    assert b"python_gc" not in raw  # the app's own registry, not the process-wide one
    assert server.request("POST", "/metrics", b"")[0] == 405


def test_a_body_over_the_cap_is_counted(model_dir: Path, tmp_path: Path) -> None:
    with runtime(model_dir, tmp_path / "log", MLOPS_MAX_BODY_BYTES="1000") as served:
        assert served.request("POST", "/predict", b"[" + b" " * 2000 + b"]")[0] == 413
        samples = served.metrics()
    assert value(samples, "mlops_request_errors_total", kind="body_too_large") == 1
    assert value(samples, "mlops_requests_total", endpoint="/predict", code="413") == 1


def test_input_the_model_rejects_counts_as_a_model_error() -> None:
    from mlops_cli.runtime.app import App
    from tests.runtime.test_app import _plan_model
    from tests.runtime.test_runtime import call

    app = App(_plan_model())
    assert call(app, "POST", "/predict", [{"plan": "pro", "extra": 0.5}])[0] == 200
    assert call(app, "POST", "/predict", [{"plan": "purple", "extra": 0.5}])[0] == 422
    broken = _plan_model()
    broken.estimator.steps.append(("broken", object()))
    other = App(broken)
    assert call(other, "POST", "/predict", [{"plan": "pro", "extra": 0.5}])[0] == 500
    for which, rows in ((app, 1), (other, 0)):
        from prometheus_client.parser import text_string_to_metric_families

        families = {
            f.name: f for f in text_string_to_metric_families(which.metrics.render().decode())
        }
        [model_errors] = [
            s.value for s in families["mlops_request_errors"].samples if s.labels["kind"] == "model"
        ]
        assert model_errors == 1
        assert families["mlops_predicted_rows"].samples[0].value == rows


def test_a_regression_model_exposes_a_value_histogram() -> None:
    import pandas as pd
    from sklearn.linear_model import LinearRegression

    from mlops_cli.runtime.app import App
    from mlops_cli.runtime.model import Column, ServedModel
    from tests.runtime.test_runtime import call

    frame = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0]})
    estimator = LinearRegression().fit(frame, [0.0, 10.0, 20.0, 30.0])
    served = ServedModel(
        {"model": "price", "task": "regression"}, estimator, [Column("x", "float64")]
    )
    app = App(served)
    xs = [-30.0, -0.5, 0.03, 0.5, 2.5, 4.0, 200.0]  # predicted 10x: none near a bucket bound
    assert call(app, "POST", "/predict", [{"x": x} for x in xs])[0] == 200
    from prometheus_client.parser import text_string_to_metric_families

    [family] = [
        f
        for f in text_string_to_metric_families(app.metrics.render().decode())
        if f.name == "mlops_prediction_value"
    ]
    buckets = {s.labels["le"]: s.value for s in family.samples if s.name.endswith("_bucket")}
    count = next(s.value for s in family.samples if s.name.endswith("_count"))
    total = next(s.value for s in family.samples if s.name.endswith("_sum"))
    predicted = [10 * x for x in xs]
    assert count == len(xs)
    assert total == pytest.approx(sum(predicted))
    for le, n in buckets.items():
        bound = float(le)
        assert n == sum(1 for p in predicted if p <= bound), le
    assert buckets["+Inf"] == len(xs)
    assert not any(f.name == "mlops_predicted_class" for f in text_string_to_metric_families(
        app.metrics.render().decode()))  # fmt: skip


def test_the_value_buckets_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    from mlops_cli.runtime.metrics import VALUE_BUCKETS, Metrics

    def bounds() -> list[str]:
        metrics = Metrics("price", "v1", "0" * 64, "regression")
        metrics.predicted([150.0, 50.0, 1e9])
        [family] = [
            f
            for f in text_string_to_metric_families(metrics.render().decode())
            if f.name == "mlops_prediction_value"
        ]
        return [f"{s.labels['le']}={s.value:g}" for s in family.samples if "le" in s.labels]

    monkeypatch.setenv("MLOPS_PREDICTION_BUCKETS", "200, 100,inf")
    assert bounds() == ["100.0=1", "200.0=2", "+Inf=3"]
    monkeypatch.setenv("MLOPS_PREDICTION_BUCKETS", "cheap,dear")
    with caplog.at_level("WARNING", logger="mlops.runtime"):
        assert len(bounds()) == len(VALUE_BUCKETS) + 1
    assert "ignoring MLOPS_PREDICTION_BUCKETS='cheap,dear'" in caplog.text


def test_two_workers_count_together(model_dir: Path, tmp_path: Path) -> None:
    """With --workers 2 every scrape, whichever worker answers it, counts both workers'
    requests (prometheus_client's multiprocess mode in a folder of the server's own)."""
    from concurrent.futures import ThreadPoolExecutor

    tmp = tmp_path / "tmp"
    tmp.mkdir()
    with runtime(model_dir, tmp_path / "log", workers=2, TMPDIR=str(tmp)) as served:
        [folder] = list(tmp.glob("mlops-metrics-*"))
        deadline = time.monotonic() + 90
        while True:  # each worker writes its counter file once its app is made
            pids = {p.stem.rsplit("_", 1)[-1] for p in folder.glob("counter_*.db")}
            if len(pids) == 2 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert len(pids) == 2, pids
        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(lambda _: served.predict([ROW, ROW])[0], range(40)))
        assert answers == [200] * 40
        for _ in range(6):
            samples = served.metrics()
            assert value(samples, "mlops_requests_total", endpoint="/predict", code="200") == 40
            assert value(samples, "mlops_predicted_rows_total") == 80
            assert value(samples, "mlops_predicted_class_total", **{"class": "2"}) == 80
            assert len([n for n, _ in samples if n == "mlops_model_info"]) == 1
    assert not list(tmp.glob("mlops-metrics-*"))  # removed when the server stopped
