"""validation/fastpath.py may only say "valid" to a frame pandera's polars engine accepts.

Each schema below is one the fast path translates (the test checks that it does); frames
are drawn by hypothesis around each check's edges (nulls, NaN, the bounds themselves,
values just outside, strings that almost match), and whenever the fast path passes a frame
pandera, run on the same frame with the schema mlops builds for it, must find nothing. A
pandera release that changes a check's meaning makes this test fail, not a user's data pass.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlops_cli.validation import fastpath
from mlops_cli.validation.schemafile import SchemaSpec, build, load_schema

SCHEMAS = {
    "numeric": """\
columns:
  age: {dtype: int64, nullable: false, checks: {in_range: {min_value: 0, max_value: 120}}}
  score: {dtype: float64, nullable: false, checks: {ge: 0.5, lt: 9.5}}
  weight: {dtype: float64, nullable: false}
  ratio: {dtype: float64, nullable: true,
          checks: {in_range: {min_value: 0, max_value: 1, include_min: false, include_max: false}}}
  level: {dtype: int64, nullable: true, checks: {isin: [1, 2, 3], gt: 0, le: 3}}
strict: true
""",
    "text": """\
columns:
  code:
    dtype: str
    nullable: false
    checks: {str_matches: '[A-Z]{2}[0-9]+', str_length: {min_value: 3, max_value: 5}}
  city: {dtype: str, nullable: true, checks: {isin: [Oslo, Bergen], notin: [bergen]}}
  tag:
    dtype: str
    nullable: true
    checks: {str_startswith: x, str_endswith: z, str_contains: 'y+'}
  note: {dtype: str, nullable: true, required: false}
strict: false
""",
    "equal": """\
columns:
  one: {dtype: int64, nullable: false, checks: {equal_to: 1}}
  other: {dtype: float64, nullable: true, checks: {not_equal_to: 0.0}}
strict: filter
""",
}

# Per column: values every check accepts, and near misses (the bounds just outside, NaN,
# nulls, strings that match unanchored). A frame has at most two near misses, so many
# frames pass the fast path and a wrong translation of any single check is caught.
GOOD: dict[str, list[Any]] = {
    "age": [0, 1, 60, 120],
    "score": [0.5, 1.0, 9.4999],
    "weight": [0.0, -3.5, 1e300],
    "ratio": [None, 0.0001, 0.5, 0.9999],
    "level": [None, 1, 2, 3],
    "code": ["AB1", "XY999", "AB12", "AB1x"],
    "city": [None, "Oslo", "Bergen"],
    "tag": [None, "xyz", "xyyz", "xaybz"],
    "note": [None, "anything", ""],
    "one": [1],
    "other": [None, 2.0, -1.5],
    "extra": ["e"],
}
NEAR: dict[str, list[Any]] = {
    "age": [None, -1, 121],
    "score": [None, math.nan, math.inf, 0.4999, 9.5],
    "weight": [None, math.nan],
    "ratio": [0.0, 1.0, math.nan, math.inf],
    "level": [0, 4],
    "code": [None, "xAB1", "ab1", "AB", "AB123456", " AB1"],
    "city": ["oslo", "bergen", "", "Oslo "],
    "tag": ["xz", "yz", "xyzq", "Xyz"],
    "note": [None],
    "one": [None, 0, 2],
    "other": [0.0, -0.0],
    "extra": [None],
}
DTYPES = {"age": pl.Int64, "level": pl.Int64, "one": pl.Int64, "score": pl.Float64,
          "weight": pl.Float64, "ratio": pl.Float64, "other": pl.Float64}  # fmt: skip


def _spec(tmp: Path, name: str) -> SchemaSpec:
    path = tmp / f"{name}.yaml"
    path.write_text(SCHEMAS[name])
    return load_schema(path)


@st.composite
def frames(draw: Any, columns: list[str]) -> pl.DataFrame:
    """Good values everywhere, then at most two near misses, a missing or an extra column."""
    rows = draw(st.integers(min_value=1, max_value=4))
    present = [c for c in columns if draw(st.integers(0, 29)) > 0]  # now and then one is missing
    if draw(st.integers(0, 29)) == 0:
        present.append("extra")
    data = {c: draw(st.lists(st.sampled_from(GOOD[c]), min_size=rows, max_size=rows))
            for c in present}  # fmt: skip
    for _ in range(draw(st.integers(0, 2)) if present else 0):
        col = draw(st.sampled_from(present))
        data[col][draw(st.integers(0, rows - 1))] = draw(st.sampled_from(NEAR[col]))
    frame = {c: pl.Series(c, v, dtype=DTYPES.get(c, pl.String)) for c, v in data.items()}
    if draw(st.integers(0, 29)) == 0 and "age" in frame:  # a wrong dtype
        frame["age"] = frame["age"].cast(pl.Float64)
    return pl.DataFrame(frame)


def _pandera_accepts(schema: Any, frame: pl.DataFrame) -> bool:
    import pandera.errors

    try:
        schema.validate(frame, lazy=True)
    except (pandera.errors.SchemaErrors, pandera.errors.SchemaError):
        return False
    return True


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_the_fast_path_never_passes_what_pandera_rejects(tmp_path: Path, name: str) -> None:
    spec = _spec(tmp_path, name)
    fast = fastpath.plan(spec)
    assert fast is not None, f"the fast path no longer takes the {name} schema"
    schema = build(spec, "polars")
    seen = {"fast": 0}

    @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
    @given(frames(list(spec.columns)))
    def check(frame: pl.DataFrame) -> None:
        if fastpath.passes(fast, frame):
            seen["fast"] += 1
            assert _pandera_accepts(schema, frame), f"fast path passed, pandera rejects:\n{frame}"

    check()
    assert seen["fast"] >= 30, f"only {seen['fast']} frames took the fast path"


VALID = {
    "numeric": {
        "age": [0, 120],
        "score": [0.5, 9.4],
        "weight": [1.0, 2.0],
        "ratio": [None, 0.5],
        "level": [1, None],
    },
    "text": {"code": ["AB1", "XY999"], "city": ["Oslo", None], "tag": ["xyz", None]},
    "equal": {"one": [1, 1], "other": [None, 2.0]},
}


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_a_valid_frame_takes_the_fast_path(tmp_path: Path, name: str) -> None:
    spec = _spec(tmp_path, name)
    fast = fastpath.plan(spec)
    assert fast is not None
    frame = pl.DataFrame(
        {c: pl.Series(c, v, dtype=DTYPES.get(c, pl.String)) for c, v in VALID[name].items()}
    )
    assert fastpath.passes(fast, frame)
    assert _pandera_accepts(build(spec, "polars"), frame)


@pytest.mark.parametrize(
    ("name", "column", "values"),
    [
        ("numeric", "age", [0, 121]),  # one past the bound
        ("numeric", "weight", [0.5, math.nan]),  # NaN in a non-nullable float
        ("numeric", "age", [0, None]),  # a null in a non-nullable column
        ("numeric", "ratio", [None, 1.0]),  # include_max: false
        ("text", "code", ["AB1", "ab1"]),  # the regex is anchored at the start
        ("text", "city", ["Oslo", "oslo"]),
    ],
)
def test_each_kind_of_failure_is_left_to_pandera(
    tmp_path: Path, name: str, column: str, values: list[Any]
) -> None:
    spec = _spec(tmp_path, name)
    fast = fastpath.plan(spec)
    assert fast is not None
    cols = dict(VALID[name])
    cols[column] = values
    frame = pl.DataFrame(
        {c: pl.Series(c, v, dtype=DTYPES.get(c, pl.String)) for c, v in cols.items()}
    )
    assert not fastpath.passes(fast, frame)
    assert not _pandera_accepts(build(spec, "polars"), frame)


def test_schemas_it_cannot_translate_go_to_pandera(tmp_path: Path) -> None:
    for text in (
        "columns:\n  a: {dtype: int64, checks: {ge: {min_value: 0, ignore_na: false}}}\n",
        "columns:\n  a: {dtype: int64}\nordered: true\n",
        "columns:\n  'a_.*': {dtype: int64, regex: true}\n",
        "columns:\n  a: {dtype: int64, checks: {ge: '0'}}\n",  # text bound on a number
    ):
        path = tmp_path / "s.yaml"
        path.write_text(text)
        assert fastpath.plan(load_schema(path)) is None, text
