"""monitor/drift.py against Evidently: on the same two CSVs, every column gets the test,
the statistic and the verdict Evidently 0.7's DataDriftPreset gave (bench/drift_golden.py
wrote tests/monitor/golden/ with a real Evidently), and the data set verdict agrees. The
statistics themselves are checked against scipy called directly."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from scipy import stats

from mlops_cli.monitor.drift import column_drift, compare, jensenshannon, wasserstein

GOLDEN = Path(__file__).parent / "golden"
EVIDENTLY = json.loads((GOLDEN / "evidently.json").read_text())["cases"]
NAMES = {
    "K-S p_value": "ks",
    "chi-square p_value": "chisquare",
    "Z-test p_value": "z",
    "Wasserstein distance (normed)": "wasserstein",
    "Jensen-Shannon distance": "jensenshannon",
}


@pytest.mark.parametrize("case", sorted(EVIDENTLY))
def test_the_same_tests_figures_and_verdicts_as_evidently(case: str) -> None:
    ref = pl.read_csv(GOLDEN / f"{case}_reference.csv")
    cur = pl.read_csv(GOLDEN / f"{case}_current.csv")
    result = compare(ref, cur, ref.columns)
    expected = {k: v for k, v in EVIDENTLY[case].items() if not k.startswith("_")}
    assert sorted(c.column for c in result.columns) == sorted(expected)
    assert {c.drifted for c in result.columns} == {True, False}  # the case has both
    for col in result.columns:
        theirs = expected[col.column]
        assert col.method == NAMES[theirs["stattest"]], col.column
        assert col.kind == {"num": "numeric", "cat": "categorical"}[theirs["column_type"]]
        assert col.drifted == theirs["drifted"], col.column
        assert col.statistic == pytest.approx(theirs["statistic"], rel=1e-6, abs=1e-12)
    summary = EVIDENTLY[case]["_dataset"]
    assert result.dataset_drift == summary["drifted"]
    assert result.share == pytest.approx(summary["share"])


def test_statistics_are_scipys() -> None:
    rng = np.random.default_rng(7)
    ref, cur = rng.normal(0, 1, 400), rng.normal(0.3, 1, 300)
    ks = column_drift("x", ref, cur, numeric=True)
    assert (ks.method, ks.statistic) == ("ks", pytest.approx(stats.ks_2samp(ref, cur).pvalue))
    big_ref, big_cur = rng.normal(0, 2, 5000), rng.normal(0.5, 2, 5000)
    w = column_drift("x", big_ref, big_cur, numeric=True)
    expected = stats.wasserstein_distance(big_ref, big_cur) / np.std(big_ref)
    assert (w.method, w.statistic, w.drifted) == ("wasserstein", pytest.approx(expected), True)


@pytest.mark.parametrize("seed", range(5))
def test_the_numpy_distances_are_scipys(seed: int) -> None:
    """The hand-written distances (scipy.stats costs 0.8 s to import) equal scipy's, on
    ties, different sizes and shares with zeros: this fails the day either changes."""
    from scipy.spatial import distance

    rng = np.random.default_rng(seed)
    u = rng.integers(0, 50, 700).astype(float) * rng.choice([1.0, 0.5])
    v = rng.normal(20, 9, 1300).round(1)
    assert wasserstein(u, v) == pytest.approx(stats.wasserstein_distance(u, v), rel=1e-12)
    p, q = rng.random(12), rng.random(12)
    p[[1, 4]] = 0.0
    q[7] = 0.0
    assert jensenshannon(p, q) == pytest.approx(distance.jensenshannon(p, q), rel=1e-12)


def test_missing_values_are_counted_and_left_out() -> None:
    ref = np.array([1.0, 2.0, np.nan, 4.0, 5.0, 6.0, 7.0, np.inf])
    cur = np.array([1.0, 2.0, 3.0, np.nan, np.nan, 6.0, 7.0, 8.0])
    col = column_drift("x", ref, cur, numeric=True)
    assert (col.reference_missing, col.current_missing) == (2, 2)
    assert (col.reference_rows, col.current_rows) == (6, 6)
    cats = column_drift(
        "c",
        np.array(["a", None, "b"], dtype=object),
        np.array(["a", "b", "b"], dtype=object),
        numeric=False,
    )
    assert cats.reference_missing == 1 and cats.method == "z"


def test_a_chosen_test_and_threshold_and_a_missing_column() -> None:
    ref = pl.read_csv(GOLDEN / "small_reference.csv")
    cur = pl.read_csv(GOLDEN / "small_current.csv").drop("steady")
    result = compare(
        ref,
        cur,
        ref.columns,
        methods={"age": "psi"},
        thresholds={"income": 0.9999, "visits": 1e-9},
        drift_share=0.9,
    )
    by = {c.column: c for c in result.columns}
    assert result.missing_columns == ["steady"]
    assert by["age"].method == "psi" and by["age"].threshold == 0.1 and by["age"].drifted
    assert by["income"].drifted  # p 0.996 < 0.9999
    assert not by["visits"].drifted  # p 1.2e-4 >= 1e-9
    assert not result.dataset_drift  # 5 of 6 columns, under 0.9
    doc = result.to_dict()
    assert [c["drifted"] for c in doc["columns"]] == sorted(
        (c["drifted"] for c in doc["columns"]), reverse=True
    )  # drifted columns first
