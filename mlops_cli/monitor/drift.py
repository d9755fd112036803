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
reaches `drift_share` (0.5). scipy does the statistics where its import pays (KS for small
references, the chi-squared and normal tails from `scipy.special`); the Wasserstein and
Jensen-Shannon distances, which is all a large reference needs, are numpy (scipy.stats
costs 0.8 s to import, more than the tests on a million rows), and tests/monitor/
test_drift.py holds them equal to scipy's own functions. tests/monitor/test_drift.py holds
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


@dataclass
class _Side:
    """One side of a column as the tests see it: numeric values (finite only), or counts
    per value; `missing` values were left out."""

    n: int
    missing: int
    values: Any = None  # numeric: a float array
    counts: dict[Any, int] | None = None

    def tally(self) -> dict[Any, int]:
        if self.counts is None:
            found, n = np.unique(self.values, return_counts=True)
            self.counts = dict(zip(found.tolist(), n.tolist(), strict=True))
        return self.counts


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
    return _drift(
        name, _side(reference, numeric), _side(current, numeric), numeric, method, threshold
    )


def _side(values: Any, numeric: bool) -> _Side:
    arr = np.asarray(values)
    if numeric:
        arr = arr.astype(float)
        kept = arr[np.isfinite(arr)]
        return _Side(len(kept), len(arr) - len(kept), values=kept)
    present = [str(v) for v in arr.tolist() if v is not None and v == v]  # NaN != NaN
    counts: dict[Any, int] = {}
    for v in present:
        counts[v] = counts.get(v, 0) + 1
    return _Side(len(present), len(arr) - len(present), counts=counts)


def _series_side(series: Any, numeric: bool) -> _Side:
    """A polars column as a side, counted by polars (hashing, not sorting)."""
    import polars as pl

    if numeric:
        floats = series.cast(pl.Float64, strict=False)
        kept = floats.filter(floats.is_finite())
        return _Side(kept.len(), series.len() - kept.len(), values=kept.to_numpy())
    kept = series.cast(pl.String).drop_nulls()
    counts = {row[0]: int(row[1]) for row in kept.value_counts().iter_rows()}
    return _Side(kept.len(), series.len() - kept.len(), counts=counts)


def _drift(
    name: str, ref: _Side, cur: _Side, numeric: bool, method: str, threshold: float | None
) -> ColumnDrift:
    if numeric and ref.n + cur.n:
        both = np.concatenate([ref.values, cur.values])
        distinct = len(_unique(both))
    else:
        distinct = len(set(ref.tally()) | set(cur.tally()))
    if method == "auto":
        method = _default_method(ref.n, distinct, numeric)
    limit = threshold if threshold is not None else (P_VALUE if method in _P_TESTS else DISTANCE)
    if ref.n == 0 or cur.n == 0:
        statistic = float("nan")
        drifted = ref.n != cur.n  # one side all missing: it moved
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
        reference_rows=ref.n,
        current_rows=cur.n,
        reference_missing=ref.missing,
        current_missing=cur.missing,
        histogram=_histogram(ref, cur, numeric),
    )


def _unique(values: Any) -> Any:
    import polars as pl

    return pl.Series(values).unique()


def _default_method(reference_rows: int, distinct: int, numeric: bool) -> str:
    """Evidently's `get_default_stattest`."""
    if reference_rows <= SMALL_REFERENCE:
        if numeric and distinct > 5:
            return "ks"
        return "chisquare" if distinct > 2 else "z"
    if numeric and distinct > 5:
        return "wasserstein"
    return "jensenshannon"


def _statistic(method: str, ref: _Side, cur: _Side, numeric: bool) -> float:
    if method == "ks":
        from scipy import stats  # type: ignore[import-untyped]

        return float(stats.ks_2samp(ref.values, cur.values).pvalue)
    if method == "wasserstein":
        norm = max(float(np.std(ref.values)), 0.001)
        return wasserstein(ref.values, cur.values) / norm
    if method == "chisquare":
        # Evidently's chi_stat_test: expected = reference counts scaled to the current
        # size; a category the reference never had makes the statistic infinite (p = 0).
        from scipy import special

        keys = _keys(ref, cur)
        observed = _counts(cur, keys)
        expected = _counts(ref, keys) * (cur.n / ref.n)
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(expected > 0, (observed - expected) ** 2 / expected, np.inf)
            chi2 = float(np.sum(np.where((observed == 0) & (expected == 0), 0.0, terms)))
        return float(special.chdtrc(len(keys) - 1, chi2))
    if method == "z":
        return _proportion_z(ref, cur)
    if method == "jensenshannon":
        ref_share, cur_share = _binned(ref, cur, numeric, fill_zeroes=False)
        return jensenshannon(ref_share, cur_share)
    if method == "psi":
        ref_share, cur_share = _binned(ref, cur, numeric, fill_zeroes=True)
        return float(np.sum((ref_share - cur_share) * np.log(ref_share / cur_share)))
    raise ValueError(f"unknown drift method {method!r}")


def wasserstein(u: Any, v: Any) -> float:
    """The first Wasserstein distance of two samples (scipy.stats.wasserstein_distance,
    which tests/monitor/test_drift.py compares it with): the area between their CDFs."""
    u, v = np.sort(u), np.sort(v)
    every = np.sort(np.concatenate([u, v]))
    deltas = np.diff(every)
    u_cdf = np.searchsorted(u, every[:-1], "right") / len(u)
    v_cdf = np.searchsorted(v, every[:-1], "right") / len(v)
    return float(np.sum(np.abs(u_cdf - v_cdf) * deltas))


def jensenshannon(p: Any, q: Any) -> float:
    """scipy.spatial.distance.jensenshannon (natural log), in numpy."""
    p, q = np.asarray(p, float), np.asarray(q, float)
    p, q = p / p.sum(), q / q.sum()
    m = (p + q) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        left = np.where(p > 0, p * np.log(p / m), 0.0).sum()
        right = np.where(q > 0, q * np.log(q / m), 0.0).sum()
    return float(np.sqrt(max((left + right) / 2, 0.0)))


def _keys(ref: _Side, cur: _Side) -> list[Any]:
    """Every value either side has, sorted."""
    return sorted(set(ref.tally()) | set(cur.tally()), key=str)


def _counts(side: _Side, keys: list[Any]) -> Any:
    tally = side.tally()
    return np.array([tally.get(k, 0) for k in keys], dtype=float)


def _proportion_z(ref: _Side, cur: _Side) -> float:
    """Evidently's two-proportion z-test of the first value's share (two-sided p)."""
    from scipy import special

    keys = _keys(ref, cur)
    if len(keys) < 2:
        return 1.0
    p1 = ref.tally().get(keys[0], 0) / ref.n
    p2 = cur.tally().get(keys[0], 0) / cur.n
    pooled = (p1 * ref.n + p2 * cur.n) / (ref.n + cur.n)
    se = math.sqrt(pooled * (1 - pooled) * (1 / ref.n + 1 / cur.n))
    if se == 0:
        return 1.0 if p1 == p2 else 0.0
    return float(2 * (1 - special.ndtr(abs(p1 - p2) / se)))


def _binned(ref: _Side, cur: _Side, numeric: bool, *, fill_zeroes: bool) -> tuple[Any, Any]:
    """Each side's share per bucket, as Evidently's `get_binned_data`: a numeric column with
    more than 20 distinct reference values in Sturges bins over both sides together, any
    other column per value; with `fill_zeroes` (PSI), an empty bucket gets 0.0001 (or a
    millionth of the smallest share, when that is smaller) so the logarithm stays finite."""
    if numeric and len(_unique(ref.values)) > 20:
        edges = np.histogram_bin_edges(np.concatenate([ref.values, cur.values]), bins="sturges")
        ref_share = np.histogram(ref.values, edges)[0] / ref.n
        cur_share = np.histogram(cur.values, edges)[0] / cur.n
    else:
        keys = _keys(ref, cur)
        ref_share = _counts(ref, keys) / ref.n
        cur_share = _counts(cur, keys) / cur.n
    if fill_zeroes:
        for share in (ref_share, cur_share):
            smallest = float(share[share != 0].min())
            np.place(share, share == 0, smallest / 10**6 if smallest <= 0.0001 else 0.0001)
    return ref_share, cur_share


def _histogram(ref: _Side, cur: _Side, numeric: bool) -> dict[str, Any]:
    if ref.n + cur.n == 0:
        return {}
    if numeric:
        edges = np.histogram_bin_edges(np.concatenate([ref.values, cur.values]), bins=BINS)
        share = [
            (np.histogram(side.values, edges)[0] / max(side.n, 1)).round(6).tolist()
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
        "reference": [round(float(ref_n[i] / max(ref.n, 1)), 6) for i in order],
        "current": [round(float(cur_n[i] / max(cur.n, 1)), 6) for i in order],
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
        numeric = dtype.is_numeric() and dtype != pl.Boolean
        ref = _series_side(reference.get_column(name), numeric)
        cur = _series_side(current.get_column(name), numeric)
        results.append(
            _drift(name, ref, cur, numeric, methods.get(name, "auto"), thresholds.get(name))
        )
    return DriftResult(results, drift_share, missing)
