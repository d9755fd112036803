"""Data drift of a version's inputs: the data it was trained on against data it sees now.

The per-column tests are the ones Evidently's default data drift algorithm picks
(`get_default_stattest`), so a user who knows Evidently reads the same verdicts:

| reference rows | column | test | drifted when |
|---|---|---|---|
| <= 1,000 | numeric, more than 5 distinct values | two-sample Kolmogorov-Smirnov | p < 0.05 |
| <= 1,000 | 3 to 5 distinct values, or categorical | chi-squared | p < 0.05 |
| <= 1,000 | 2 distinct values | two-proportion z-test | p < 0.05 |
| > 1,000 | numeric, more than 5 distinct values | Wasserstein distance / reference std | >= 0.1 |
| > 1,000 | otherwise | Jensen-Shannon distance | >= 0.1 |

PSI (Evidently's buckets, drifted at >= 0.1) on request per column. A column of numbers
(integers included) is numeric, booleans and strings categorical, as Evidently 0.7's
report types columns read from a CSV.
Distinct values are counted over reference and current together; missing and infinite
values are left out of every test. The data set drifts when the share of drifted columns
reaches `drift_share` (0.5). scipy does the statistics. tests/monitor/test_drift.py holds
figures Evidently 0.7 computed on the same data (bench/drift_golden.py writes them), so a
change in either shows.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

P_VALUE = 0.05
DISTANCE = 0.1
SMALL_REFERENCE = 1000
DRIFT_SHARE = 0.5
METHODS = ("auto", "ks", "chisquare", "z", "wasserstein", "jensenshannon", "psi")
_P_TESTS = ("ks", "chisquare", "z")
BINS = 20  # the histograms a report draws


@dataclass
class ColumnDrift:
    column: str
    kind: str  # numeric | categorical
    method: str
    statistic: float
    threshold: float
    drifted: bool
    reference_rows: int
    current_rows: int
    reference_missing: int
    current_missing: int
    # What a report draws: shared bin edges and each side's share per bin (numeric), or
    # each category's share (categorical, most frequent first).
    histogram: dict[str, Any] = field(default_factory=dict)

    @property
    def p_value(self) -> bool:
        return self.method in _P_TESTS


@dataclass
class DriftResult:
    columns: list[ColumnDrift]
    drift_share: float
    missing_columns: list[str]

    @property
    def drifted_columns(self) -> list[str]:
        return [c.column for c in self.columns if c.drifted]

    @property
    def share(self) -> float:
        return len(self.drifted_columns) / len(self.columns) if self.columns else 0.0

    @property
    def dataset_drift(self) -> bool:
        return bool(self.columns) and self.share >= self.drift_share

    def to_dict(self) -> dict[str, Any]:
        ordered = sorted(self.columns, key=lambda c: (not c.drifted, c.column))
        return {
            "dataset_drift": self.dataset_drift,
            "drift_share": self.drift_share,
            "drifted_share": round(self.share, 6),
            "drifted_columns": self.drifted_columns,
            "missing_columns": self.missing_columns,
            "columns": [
                {**asdict(c), "statistic_kind": "p_value" if c.p_value else "distance"}
                for c in ordered
            ],
        }


def column_drift(
    name: str,
    reference: Any,
    current: Any,
    *,
    numeric: bool,
    method: str = "auto",
    threshold: float | None = None,
) -> ColumnDrift:
    """One column's test. `reference` and `current` are 1-D numpy arrays (object arrays for
    categorical columns), missing values included (they are counted, then left out)."""
    ref, ref_missing = _present(reference, numeric)
    cur, cur_missing = _present(current, numeric)
    distinct = len(np.unique(np.concatenate([ref, cur]))) if len(ref) + len(cur) else 0
    if method == "auto":
        method = _default_method(len(ref), distinct, numeric)
    limit = threshold if threshold is not None else (P_VALUE if method in _P_TESTS else DISTANCE)
    if len(ref) == 0 or len(cur) == 0:
        statistic = float("nan")
        drifted = len(ref) != len(cur)  # one side all missing: it moved
    else:
        statistic = _statistic(method, ref, cur, numeric)
        drifted = statistic < limit if method in _P_TESTS else statistic >= limit
    return ColumnDrift(
        column=name,
        kind="numeric" if numeric else "categorical",
        method=method,
        statistic=_round(statistic),
        threshold=limit,
        drifted=bool(drifted),
        reference_rows=len(ref),
        current_rows=len(cur),
        reference_missing=ref_missing,
        current_missing=cur_missing,
        histogram=_histogram(ref, cur, numeric),
    )


def _default_method(reference_rows: int, distinct: int, numeric: bool) -> str:
    """Evidently's `get_default_stattest`."""
    if reference_rows <= SMALL_REFERENCE:
        if numeric and distinct > 5:
            return "ks"
        return "chisquare" if distinct > 2 else "z"
    if numeric and distinct > 5:
        return "wasserstein"
    return "jensenshannon"


def _present(values: Any, numeric: bool) -> tuple[Any, int]:
    """The values a test sees (missing and infinite ones left out, as Evidently does) and
    how many were left out."""
    arr = np.asarray(values)
    if numeric:
        arr = arr.astype(float)
        keep = np.isfinite(arr)
    else:
        keep = np.array([v is not None and v == v for v in arr], dtype=bool)  # NaN != NaN
        arr = arr.astype(str)
    return arr[keep], int((~keep).sum())


def _statistic(method: str, ref: Any, cur: Any, numeric: bool) -> float:
    from scipy import stats  # type: ignore[import-untyped]
    from scipy.spatial import distance  # type: ignore[import-untyped]

    if method == "ks":
        return float(stats.ks_2samp(ref, cur).pvalue)
    if method == "wasserstein":
        norm = max(float(np.std(ref)), 0.001)
        return float(stats.wasserstein_distance(ref, cur) / norm)
    if method == "chisquare":
        # Evidently's chi_stat_test: expected = reference counts scaled to the current
        # size; a category the reference never had makes the statistic infinite (p = 0).
        keys = _keys(ref, cur)
        ref_counts, cur_counts = _counts(ref, keys), _counts(cur, keys)
        expected = ref_counts * (len(cur) / len(ref))
        with np.errstate(divide="ignore", invalid="ignore"):
            return float(stats.chisquare(cur_counts, expected).pvalue)
    if method == "z":
        return _proportion_z(ref, cur)
    if method == "jensenshannon":
        ref_share, cur_share = _binned(ref, cur, numeric, fill_zeroes=False)
        return float(distance.jensenshannon(ref_share, cur_share))
    if method == "psi":
        ref_share, cur_share = _binned(ref, cur, numeric, fill_zeroes=True)
        return float(np.sum((ref_share - cur_share) * np.log(ref_share / cur_share)))
    raise ValueError(f"unknown drift method {method!r}")


def _keys(ref: Any, cur: Any) -> list[Any]:
    """Every value either side has, sorted."""
    return sorted(set(np.unique(ref).tolist()) | set(np.unique(cur).tolist()), key=str)


def _counts(values: Any, keys: list[Any]) -> Any:
    found, counts = np.unique(values, return_counts=True)
    by_key = dict(zip(found.tolist(), counts.tolist(), strict=True))
    return np.array([by_key.get(k, 0) for k in keys], dtype=float)


def _proportion_z(ref: Any, cur: Any) -> float:
    """Two-proportion z-test of the first category's share (two-sided p-value)."""
    from scipy import stats

    keys = _keys(ref, cur)
    if len(keys) < 2:
        return 1.0
    first = keys[0]
    n1, n2 = len(ref), len(cur)
    p1, p2 = float(np.mean(ref == first)), float(np.mean(cur == first))
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 1.0 if p1 == p2 else 0.0
    return float(2 * stats.norm.sf(abs(p1 - p2) / se))


def _binned(ref: Any, cur: Any, numeric: bool, *, fill_zeroes: bool) -> tuple[Any, Any]:
    """Each side's share per bucket, as Evidently's `get_binned_data`: a numeric column with
    more than 20 distinct reference values in Sturges bins over both sides together, any
    other column per value; with `fill_zeroes` (PSI), an empty bucket gets 0.0001 (or a
    millionth of the smallest share, when that is smaller) so the logarithm stays finite."""
    if numeric and len(np.unique(ref)) > 20:
        edges = np.histogram_bin_edges(np.concatenate([ref, cur]), bins="sturges")
        ref_share = np.histogram(ref, edges)[0] / len(ref)
        cur_share = np.histogram(cur, edges)[0] / len(cur)
    else:
        keys = _keys(ref, cur)
        ref_share = _counts(ref, keys) / len(ref)
        cur_share = _counts(cur, keys) / len(cur)
    if fill_zeroes:
        for share in (ref_share, cur_share):
            smallest = float(share[share != 0].min())
            np.place(share, share == 0, smallest / 10**6 if smallest <= 0.0001 else 0.0001)
    return ref_share, cur_share


def _histogram(ref: Any, cur: Any, numeric: bool) -> dict[str, Any]:
    if len(ref) + len(cur) == 0:
        return {}
    if numeric:
        edges = np.histogram_bin_edges(np.concatenate([ref, cur]), bins=BINS)
        share = [
            (np.histogram(side, edges)[0] / max(len(side), 1)).round(6).tolist()
            for side in (ref, cur)
        ]
        return {
            "edges": [_round(e) for e in edges.tolist()],
            "reference": share[0],
            "current": share[1],
        }
    keys = _keys(ref, cur)
    ref_n, cur_n = _counts(ref, keys), _counts(cur, keys)
    order = np.argsort(-(ref_n + cur_n), kind="stable")[:BINS]
    return {
        "categories": [str(keys[i]) for i in order],
        "reference": [round(float(ref_n[i] / max(ref_n.sum(), 1)), 6) for i in order],
        "current": [round(float(cur_n[i] / max(cur_n.sum(), 1)), 6) for i in order],
    }


def _round(value: float) -> float:
    return value if math.isnan(value) or math.isinf(value) else round(float(value), 10)


def compare(
    reference: Any,
    current: Any,
    columns: list[str],
    *,
    methods: dict[str, str] | None = None,
    thresholds: dict[str, float] | None = None,
    drift_share: float = DRIFT_SHARE,
) -> DriftResult:
    """Every column of `columns` in two polars frames; a column missing from `current` is
    listed, not tested."""
    import polars as pl

    methods, thresholds = methods or {}, thresholds or {}
    results: list[ColumnDrift] = []
    missing = [c for c in columns if c not in current.columns]
    for name in columns:
        if name in missing:
            continue
        dtype = reference.schema[name]
        ref = reference.get_column(name)
        numeric = dtype.is_numeric() and dtype != pl.Boolean
        cur = current.get_column(name)
        if numeric:
            ref_values = ref.cast(pl.Float64).to_numpy()
            cur_values = cur.cast(pl.Float64, strict=False).to_numpy()
        else:
            ref_values = np.array(ref.cast(pl.String).to_list(), dtype=object)
            cur_values = np.array(cur.cast(pl.String).to_list(), dtype=object)
        results.append(
            column_drift(
                name,
                ref_values,
                cur_values,
                numeric=numeric,
                method=methods.get(name, "auto"),
                threshold=thresholds.get(name),
            )
        )
    return DriftResult(results, drift_share, missing)
