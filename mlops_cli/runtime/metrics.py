"""`GET /metrics`: the served model's Prometheus metrics (docs/monitoring.md lists them).

One `CollectorRegistry` per app, never prometheus_client's global one: the process-wide
defaults (GC, platform) stay out, and two apps in one process (the tests) count apart.

With $MLOPS_WORKERS > 1 a scrape reaches one worker, so `serve` points
$PROMETHEUS_MULTIPROC_DIR at a fresh folder (prometheus_client's multiprocess mode): every
worker writes its counts there and whichever answers /metrics adds them all up.
"""

from __future__ import annotations

import math
import os
import threading
from collections import Counter as Tally
from collections.abc import Iterable, Iterator
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.core import HistogramMetricFamily, InfoMetricFamily
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample

BUCKETS_ENV = "MLOPS_PREDICTION_BUCKETS"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"  # prometheus_client's own name for it
ENDPOINTS = ("/health", "/metadata", "/metrics", "/predict")
# Why a request failed, as `mlops_request_errors_total{kind}` names it.
ERROR_KINDS = ("body_too_large", "bad_json", "schema", "model", "internal")
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
# A regression model's predicted values: its scale is unknown, so decades either side of
# zero by default; $MLOPS_PREDICTION_BUCKETS (comma-separated upper bounds) sets the model's own.
_DECADES = [10.0**e for e in range(-2, 7)]
VALUE_BUCKETS = (*(-d for d in reversed(_DECADES)), 0.0, *_DECADES)
CONTENT_TYPE = CONTENT_TYPE_LATEST


class ValueHistogram(Collector):
    """A histogram of predicted values, counted a whole batch at a time.

    prometheus_client's Histogram observes one value per call; a 100,000-row batch would be
    100,000 locked calls. This counts a batch with numpy and exposes the same family.
    """

    def __init__(self, name: str, documentation: str, buckets: Iterable[float]) -> None:
        self.name, self.documentation = name, documentation
        self.bounds = sorted(set(buckets))
        self.counts = [0] * (len(self.bounds) + 1)  # the last one is +Inf
        self.total = 0.0
        self.lock = threading.Lock()

    def observe_many(self, values: list[Any]) -> None:
        import numpy as np

        numbers = np.asarray(
            [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)],
            dtype=float,
        )
        numbers = numbers[np.isfinite(numbers)]
        if not numbers.size:
            return
        # Prometheus buckets are `le` (upper bound included): side="left" puts a value equal
        # to a bound into that bound's bucket.
        index = np.searchsorted(np.asarray(self.bounds), numbers, side="left")
        per_bucket = np.bincount(index, minlength=len(self.counts))
        with self.lock:
            for i, n in enumerate(per_bucket.tolist()):
                self.counts[i] += n
            self.total += float(numbers.sum())

    def collect(self) -> Iterator[HistogramMetricFamily]:
        with self.lock:
            counts, total = list(self.counts), self.total
        cumulative, buckets = 0, []
        for bound, n in zip([*self.bounds, math.inf], counts, strict=True):
            cumulative += n
            buckets.append(("+Inf" if bound == math.inf else repr(float(bound)), cumulative))
        family = HistogramMetricFamily(self.name, self.documentation)
        family.add_metric([], buckets, None)
        # add_metric leaves _count and _sum out when a bucket is negative (the sum can then
        # go down); the mean of the predictions is worth more here than that rule, and
        # prometheus_client's own Histogram writes both whatever it observed.
        family.samples.append(Sample(f"{self.name}_count", {}, float(cumulative)))
        family.samples.append(Sample(f"{self.name}_sum", {}, total))
        yield family


class ModelInfo(Collector):
    """`mlops_model_info`: the same in every worker, so a plain collector also serves the
    multiprocess mode (where prometheus_client's Info is not supported)."""

    def __init__(self, labels: dict[str, str]) -> None:
        self.labels = labels

    def collect(self) -> Iterator[InfoMetricFamily]:
        yield InfoMetricFamily(
            "mlops_model", "The served model: name, version, artifact sha256.", value=self.labels
        )


class Metrics:
    """Every metric of one served model, in its own registry."""

    def __init__(self, model: str, version: str | None, sha256: str, task: str) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.shared = bool(os.environ.get(MULTIPROC_ENV))
        # Multiprocess mode: the values live in the folder's files, and the registry reads
        # every worker's; the metric objects themselves are registered nowhere.
        r = None if self.shared else self.registry
        if self.shared:
            from prometheus_client.multiprocess import MultiProcessCollector

            MultiProcessCollector(self.registry)  # type: ignore[no-untyped-call]
        self.task = task
        self.registry.register(
            ModelInfo(
                {"model": model, "version": version or "workspace", "artifact_sha256": sha256}
            )
        )
        self.requests = Counter(
            "mlops_requests",
            "HTTP requests answered, by endpoint and status code.",
            ["endpoint", "code"],
            registry=r,
        )
        self.latency = Histogram(
            "mlops_request_duration_seconds",
            "Time from request to the last byte of the answer, by endpoint.",
            ["endpoint"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.errors = Counter(
            "mlops_request_errors",
            "Requests refused or failed, by kind: " + ", ".join(ERROR_KINDS) + ".",
            ["kind"],
            registry=r,
        )
        for kind in ERROR_KINDS:  # every kind shows from the start, at 0
            self.errors.labels(kind=kind)
        self.rows = Counter("mlops_predicted_rows", "Rows predicted.", registry=r)
        self.classes: Counter | None = None
        self.values: ValueHistogram | None = None
        self.shared_values: Histogram | None = None
        value_doc = "Predicted values (regression)."
        if task == "classification":
            self.classes = Counter(
                "mlops_predicted_class", "Predicted rows, by class.", ["class"], registry=r
            )
        elif self.shared:  # one observe per value, but counted across the workers
            buckets = _value_buckets()
            self.shared_values = Histogram("mlops_prediction_value", value_doc, buckets=buckets)
        else:
            self.values = ValueHistogram("mlops_prediction_value", value_doc, _value_buckets())
            self.registry.register(self.values)
        self.log_rows = Counter(
            "mlops_prediction_log_rows", "Rows written to the prediction log.", registry=r
        )
        self.log_dropped = Counter(
            "mlops_prediction_log_dropped_rows",
            "Sampled rows the prediction log did not write, by reason: queue_full, too_large,"
            " write_error.",
            ["reason"],
            registry=r,
        )

    def request(self, path: str, code: int, seconds: float) -> None:
        endpoint = path if path in ENDPOINTS else "other"
        self.requests.labels(endpoint=endpoint, code=str(code)).inc()
        self.latency.labels(endpoint=endpoint).observe(seconds)

    def error(self, kind: str) -> None:
        self.errors.labels(kind=kind).inc()

    def predicted(self, predictions: list[Any]) -> None:
        self.rows.inc(len(predictions))
        if self.classes is not None:
            for label, n in Tally(str(p) for p in predictions).items():
                self.classes.labels(**{"class": label}).inc(n)
        elif self.values is not None:
            self.values.observe_many(predictions)
        elif self.shared_values is not None:
            for p in predictions:
                if isinstance(p, int | float) and not isinstance(p, bool) and math.isfinite(p):
                    self.shared_values.observe(p)

    def render(self) -> bytes:
        from prometheus_client import generate_latest

        return generate_latest(self.registry)


def _value_buckets() -> tuple[float, ...]:
    text = os.environ.get(BUCKETS_ENV, "").strip()
    if not text:
        return VALUE_BUCKETS
    try:
        bounds = tuple(sorted({float(part) for part in text.split(",") if part.strip()}))
    except ValueError:
        import logging

        logging.getLogger("mlops.runtime").warning(
            "ignoring %s=%r: not comma-separated numbers", BUCKETS_ENV, text
        )
        return VALUE_BUCKETS
    return tuple(b for b in bounds if math.isfinite(b)) or VALUE_BUCKETS
