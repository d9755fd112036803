"""Whether pandera's polars engine would find nothing wrong with a frame, in one polars
select, so that a valid file is judged without running (or even importing) pandera.

The question asked is only "does every check pass?". Each check of the schema becomes one
expression counting the rows that fail it, written as pandera's own polars check is
(`pandera/backends/polars/builtin_checks.py`: `ge`, `is_between`-like pairs, `is_in`,
`str.contains('^' + pattern)`, a null output counting as a pass as with its `ignore_na`),
and all of them run in a single `select`, in parallel, over the columns once. A frame for
which every count is zero passes. Anything else, and any schema with a part this module does
not translate (a check option, a data-frame-wide check, regex columns, `ordered`, a
`default`, checks on dates), is handed to pandera as before, so every failure, message and
example still comes from pandera itself: this path can only say "valid", never explain
why not. tests/validation/test_fastpath.py fails the day it says "valid" to a frame pandera
rejects (nulls, NaN, dtypes, ranges, isin, regex, missing and extra columns).

Uniqueness is not pandera's here either way (validation.uniqueness checks it across chunks).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlops_cli.validation.schemafile import COLUMN_KEYS, SchemaSpec

if TYPE_CHECKING:
    import polars as pl

# Top-level schema keys that change nothing pandera's polars engine checks on the data (or,
# for `unique`/`report_duplicates`, are checked by mlops itself; `coerce` is dropped by
# schemafile.build for the polars engine).
_NEUTRAL_TOP = frozenset(
    [
        "schema_type",
        "version",
        "api",
        "dataframe_library",
        "columns",
        "coerce",
        "strict",
        "name",
        "unique",
        "report_duplicates",
        "title",
        "description",
        "metadata",
    ]
)
# A column's keys (schemafile.COLUMN_KEYS) but those that change what pandera checks.
_NEUTRAL_COLUMN = COLUMN_KEYS - {"regex", "default", "drop_invalid_rows"}
_NUMERIC = frozenset(
    [f"{p}{n}" for p in ("Int", "UInt") for n in (8, 16, 32, 64)] + ["Float32", "Float64"]
)
_ALIASES = {
    "eq": "equal_to",
    "ne": "not_equal_to",
    "gt": "greater_than",
    "ge": "greater_than_or_equal_to",
    "lt": "less_than",
    "le": "less_than_or_equal_to",
    "between": "in_range",
}
# check -> (the one argument a scalar spelling gives, every argument it takes)
_ARGS: dict[str, tuple[str | None, frozenset[str]]] = {
    "equal_to": ("value", frozenset(["value"])),
    "not_equal_to": ("value", frozenset(["value"])),
    "greater_than": ("min_value", frozenset(["min_value"])),
    "greater_than_or_equal_to": ("min_value", frozenset(["min_value"])),
    "less_than": ("max_value", frozenset(["max_value"])),
    "less_than_or_equal_to": ("max_value", frozenset(["max_value"])),
    "in_range": (None, frozenset(["min_value", "max_value", "include_min", "include_max"])),
    "isin": ("allowed_values", frozenset(["allowed_values"])),
    "notin": ("forbidden_values", frozenset(["forbidden_values"])),
    "str_matches": ("pattern", frozenset(["pattern"])),
    "str_contains": ("pattern", frozenset(["pattern"])),
    "str_startswith": ("string", frozenset(["string"])),
    "str_endswith": ("string", frozenset(["string"])),
    "str_length": (None, frozenset(["min_value", "max_value", "exact_value"])),
}


@dataclass(frozen=True)
class _Check:
    name: str
    args: dict[str, Any]


@dataclass(frozen=True)
class _Column:
    name: str
    polars_dtype: str | None
    nullable: bool
    required: bool
    checks: tuple[_Check, ...]


@dataclass(frozen=True)
class FastPlan:
    """A schema in the part of pandera's polars semantics this module translates."""

    columns: tuple[_Column, ...]
    strict: bool | str


def plan(spec: SchemaSpec) -> FastPlan | None:
    """The checks of `spec` as this module runs them, or None when it cannot run them all
    exactly as pandera's polars engine does (pandera then judges every frame)."""
    data = spec.doc.data
    if not isinstance(data, dict) or set(data) - _NEUTRAL_TOP or spec.regex_columns:
        return None
    if spec.strict not in (True, False, "filter"):
        return None
    raw_columns = data.get("columns") or {}
    if not isinstance(raw_columns, dict):
        return None
    columns: list[_Column] = []
    for name, raw in raw_columns.items():
        raw = raw or {}
        col = spec.columns.get(str(name))
        if col is None or not isinstance(raw, dict) or set(raw) - _NEUTRAL_COLUMN:
            return None
        if raw.get("name") not in (None, str(name)):
            return None
        if raw.get("dtype") is not None and col.polars_dtype is None:
            return None
        checks = _checks(raw.get("checks"), col.polars_dtype)
        if checks is None:
            return None
        columns.append(_Column(col.name, col.polars_dtype, col.nullable, col.required, checks))
    return FastPlan(tuple(columns), spec.strict)


def _checks(raw: Any, dtype: str | None) -> tuple[_Check, ...] | None:
    if raw is None:
        return ()
    if not isinstance(raw, dict):  # the list spelling carries options (error, ignore_na, ...)
        return None
    out: list[_Check] = []
    for key, options in raw.items():
        name = _ALIASES.get(str(key), str(key))
        if name not in _ARGS:
            return None
        single, allowed = _ARGS[name]
        if isinstance(options, dict):
            args = dict(options)
        elif single is not None:
            args = {single: options}
        else:
            return None
        if set(args) - allowed or not _plain_args(name, args, dtype):
            return None
        out.append(_Check(name, args))
    return tuple(out)


def _plain_args(name: str, args: dict[str, Any], dtype: str | None) -> bool:
    """Arguments that mean to polars what they mean to pandera: numbers against numeric
    columns, text against text columns, flags that are flags."""

    def number(v: Any) -> bool:
        return isinstance(v, (int, float)) and not isinstance(v, bool)

    def text(v: Any) -> bool:
        return isinstance(v, str)

    if dtype is None:
        return False
    if name in ("str_matches", "str_contains", "str_startswith", "str_endswith"):
        return dtype == "String" and all(text(v) for v in args.values())
    if name == "str_length":
        if dtype != "String" or not args or not all(number(v) for v in args.values()):
            return False
        return "exact_value" in args or "min_value" in args or "max_value" in args
    if name in ("isin", "notin"):
        values = next(iter(args.values()))
        if not isinstance(values, list) or not values:
            return False
        kind = number if dtype in _NUMERIC else text if dtype == "String" else None
        return kind is not None and all(kind(v) for v in values)
    for flag in ("include_min", "include_max"):
        if flag in args and not isinstance(args[flag], bool):
            return False
    values = [v for k, v in args.items() if k not in ("include_min", "include_max")]
    if name == "in_range" and not {"min_value", "max_value"} <= set(args):
        return False
    if dtype in _NUMERIC:
        return all(number(v) for v in values)
    if dtype == "String":
        return all(text(v) for v in values)
    return False


def _expr(check: _Check, column: str) -> pl.Expr:
    """pandera's polars check, as in its builtin_checks.py."""
    import polars as pl

    c = pl.col(column)
    a = check.args
    name = check.name
    if name == "equal_to":
        return c.eq(a["value"])
    if name == "not_equal_to":
        return c.ne(a["value"])
    if name == "greater_than":
        return c.gt(a["min_value"])
    if name == "greater_than_or_equal_to":
        return c.ge(a["min_value"])
    if name == "less_than":
        return c.lt(a["max_value"])
    if name == "less_than_or_equal_to":
        return c.le(a["max_value"])
    if name == "in_range":
        low = c.ge(a["min_value"]) if a.get("include_min", True) else c.gt(a["min_value"])
        high = c.le(a["max_value"]) if a.get("include_max", True) else c.lt(a["max_value"])
        return low.and_(high)
    if name == "isin":
        return c.is_in(a["allowed_values"])
    if name == "notin":
        return c.is_in(a["forbidden_values"]).not_()
    if name == "str_matches":
        pattern = a["pattern"]
        return c.str.contains(pattern if pattern.startswith("^") else f"^{pattern}")
    if name == "str_contains":
        return c.str.contains(a["pattern"], literal=False)
    if name == "str_startswith":
        return c.str.starts_with(a["string"])
    if name == "str_endswith":
        return c.str.ends_with(a["string"])
    n_chars = c.str.len_chars()
    if "exact_value" in a:
        return n_chars.eq(a["exact_value"])
    if "min_value" not in a:
        return n_chars.le(a["max_value"])
    if "max_value" not in a:
        return n_chars.ge(a["min_value"])
    return n_chars.is_between(a["min_value"], a["max_value"])


def passes(fast: FastPlan, frame: pl.DataFrame) -> bool:
    """True when pandera's polars engine, validating `frame` against the schema of `fast`,
    would report no failure at all; False when it might report one."""
    import polars as pl

    present = set(frame.columns)
    names = {c.name for c in fast.columns}
    if fast.strict is True and present - names:
        return False  # column_in_schema
    counts: list[pl.Expr] = []
    for i, col in enumerate(fast.columns):
        if col.name not in present:
            if col.required:
                return False  # column_in_dataframe
            continue
        dtype = frame.schema[col.name]
        if col.polars_dtype is not None and str(dtype) != col.polars_dtype:
            return False  # dtype('...'): pandera's own comparison is left to pandera
        if col.polars_dtype is None and col.checks:
            return False
        c = pl.col(col.name)
        if not col.nullable:
            bad = c.is_null()
            if dtype.is_float():
                bad = bad | c.is_nan()
            counts.append(bad.sum().alias(f"n{i}"))
        for j, check in enumerate(col.checks):
            # ignore_na: a null check output is a pass.
            ok = _expr(check, col.name).fill_null(True)
            counts.append((~ok).sum().alias(f"c{i}_{j}"))
    if not counts:
        return True
    try:
        row = frame.select(counts).row(0)
    except (pl.exceptions.PolarsError, TypeError, ValueError):
        return False  # pandera would meet the same error: let it say what it makes of it
    return not any(row)
