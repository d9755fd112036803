"""pandera schema files: read with line numbers, checked, and built for the polars or pandas
engine of pandera.

A schema file is pandera's own YAML format, so `pandera.io.pandas_io.from_yaml` reads it in
Python. pandera itself silently ignores a misspelt key (`nulable: true`), and its errors name
no line; here the structure is checked first, with `file:line` in every message, and only
then handed to pandera (imported at that point, not before).

Files with `schema_type: dataframe` (pandera's pandas format, what `mlops schema infer`
writes) run on pandera's polars engine: their pandas dtype names are translated. A schema
that needs pandas (an index, grouped or hypothesis checks, a dtype polars cannot hold) runs
on pandera's pandas engine instead, with the same reader and the same report.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from mlops_cli.common.errors import ConfigError, InputError
from mlops_cli.common.yamlio import KeyPath, YamlDoc, load_yaml

Engine = Literal["polars", "pandas"]

TOP_KEYS = frozenset(
    [
        "schema_type",
        "version",
        "api",
        "dataframe_library",
        "columns",
        "checks",
        "index",
        "multiindex",
        "dtype",
        "coerce",
        "strict",
        "name",
        "ordered",
        "unique",
        "report_duplicates",
        "unique_column_names",
        "add_missing_columns",
        "title",
        "description",
        "metadata",
        "drop_invalid_rows",
    ]
)
COLUMN_KEYS = frozenset(
    [
        "title",
        "description",
        "dtype",
        "nullable",
        "checks",
        "name",
        "unique",
        "coerce",
        "required",
        "regex",
        "default",
        "report_duplicates",
        "drop_invalid_rows",
    ]
)
POLARS_CHECKS = frozenset(
    [
        "equal_to",
        "not_equal_to",
        "greater_than",
        "greater_than_or_equal_to",
        "less_than",
        "less_than_or_equal_to",
        "in_range",
        "isin",
        "notin",
        "str_matches",
        "str_contains",
        "str_startswith",
        "str_endswith",
        "str_length",
        "unique_values_eq",
        "eq",
        "ne",
        "gt",
        "ge",
        "lt",
        "le",
        "between",
    ]
)
PANDAS_ONLY_CHECKS = frozenset({"one_sample_ttest", "two_sample_ttest"})
CHECK_NAMES = POLARS_CHECKS | PANDAS_ONLY_CHECKS
_CHECK_KEYS = CHECK_NAMES | {"checks"}
_BOOL_KEYS = ("nullable", "unique", "coerce", "required", "regex")

_INTS = {
    f"{p}{n}": f"{q}{n}" for p, q in (("int", "Int"), ("uint", "UInt")) for n in (8, 16, 32, 64)
}
_POLARS_NAMES = {
    **_INTS,
    **{v: v for v in _INTS.values()},
    "int": "Int64",
    "float": "Float64",
    "float32": "Float32",
    "float64": "Float64",
    "Float32": "Float32",
    "Float64": "Float64",
    "bool": "Boolean",
    "boolean": "Boolean",
    "Boolean": "Boolean",
    "str": "String",
    "string": "String",
    "string[python]": "String",
    "string[pyarrow]": "String",
    "String": "String",
    "Utf8": "String",
    "category": "Categorical",
    "Categorical": "Categorical",
    "date": "Date",
    "Date": "Date",
}
_DATETIME = re.compile(r"datetime64(?:\[(ns|us|ms|s)(?:,\s*([^\]]+))?\])?")
_DURATION = re.compile(r"timedelta64(?:\[(ns|us|ms)\])?")


def polars_dtype_name(dtype: str) -> str | None:
    """The polars dtype (as pandera's polars IO spells it) for a pandas or polars dtype name,
    or None when polars has no faithful equivalent (e.g. `object`)."""
    if dtype in _POLARS_NAMES:
        return _POLARS_NAMES[dtype]
    if dtype in ("datetime", "Datetime"):
        return "Datetime(time_unit='us', time_zone=None)"
    if match := _DATETIME.fullmatch(dtype):
        unit, zone = match.group(1) or "ns", match.group(2)
        return f"Datetime(time_unit={unit!r}, time_zone={zone.strip() if zone else None!r})"
    if dtype.startswith("Datetime(") or dtype.startswith("Duration("):
        return dtype
    if match := _DURATION.fullmatch(dtype):
        return f"Duration(time_unit={match.group(1) or 'ns'!r})"
    return None


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    dtype: str | None
    polars_dtype: str | None
    nullable: bool
    unique: bool
    required: bool
    report_duplicates: str = "all"
    coerce: bool = False

    @property
    def dtype_check(self) -> str:
        """pandera's name for a value that is not of this column's dtype: a failed coercion
        when the column coerces, a wrong dtype otherwise."""
        return f"coerce_dtype('{self.dtype}')" if self.coerce else f"dtype('{self.dtype}')"


@dataclass(frozen=True)
class SchemaSpec:
    """A schema file, checked: what validation needs before pandera is imported."""

    path: Path
    source: str
    doc: YamlDoc
    flavour: Engine
    columns: dict[str, ColumnSpec]
    strict: bool | str
    unique: list[list[str]] = field(default_factory=list)
    pandas_reason: str | None = None
    regex_columns: bool = False
    report_duplicates: str = "all"

    def engine(self, requested: str = "auto") -> Engine:
        if requested not in ("auto", "polars", "pandas"):
            raise InputError(f"unknown validation engine {requested!r}: use polars or pandas")
        if self.flavour == "polars":
            if requested == "pandas":
                raise InputError(
                    f"{self.source} is in pandera's polars format; only the polars engine runs it"
                )
            return "polars"
        if requested == "polars" and self.pandas_reason:
            raise InputError(f"{self.source} needs pandas: {self.pandas_reason}")
        if requested == "auto":
            return "pandas" if self.pandas_reason else "polars"
        return "pandas" if requested == "pandas" else "polars"


def load_schema(path: Path, *, source: str | None = None) -> SchemaSpec:
    """Read and check a pandera YAML schema; ConfigError with `file:line` when it is wrong."""
    source = source or str(path)
    if not path.is_file():
        raise InputError(
            f"schema file {source} does not exist",
            hint="write one with `mlops schema infer DATA -o " + source + "`",
        )
    # libyaml's parser, same guards and messages: a 200-column schema is ~2,400 nodes, 0.15 s
    # the pure-Python way.
    doc = load_yaml(path, source=source, fast=True)
    data = doc.data
    if not isinstance(data, dict):
        found = "an empty file" if data is None else f"a {type(data).__name__}"
        raise ConfigError(
            f"{source}: a pandera schema is a mapping with `columns:`, found {found}",
            hint="see `mlops schema infer` for the format",
        )
    _known_keys(doc, (), data, TOP_KEYS, "schema")
    schema_type = data.get("schema_type")
    if schema_type not in (None, "dataframe", "polars_dataframe"):
        raise ConfigError(
            f"{doc.where(('schema_type',))}: schema_type {schema_type!r} is not a data frame"
            " schema; use `dataframe` (pandera's pandas format) or `polars_dataframe`"
        )
    flavour: Engine = "polars" if schema_type == "polars_dataframe" else "pandas"
    reasons: list[str] = []
    columns = _columns(doc, data.get("columns"), flavour, reasons, data.get("coerce") is True)
    strict = data.get("strict", False)
    if strict not in (True, False, "filter"):
        raise ConfigError(f"{doc.where(('strict',))}: strict is true, false or filter")
    for key in ("index", "multiindex"):
        if data.get(key):
            reasons.append(f"it declares an {key}")
    if data.get("checks"):
        reasons.append("it has data-frame-wide checks")
    return SchemaSpec(
        path=path,
        source=source,
        doc=doc,
        flavour=flavour,
        columns=columns,
        strict=strict,
        unique=_unique_sets(doc, data.get("unique")),
        pandas_reason=reasons[0] if reasons else None,
        # A column with no settings (`id:`) is None here; _columns took it as {}.
        regex_columns=any(
            bool((c or {}).get("regex")) for c in (data.get("columns") or {}).values()
        ),
        report_duplicates=_report_duplicates(doc, (), data),
    )


def _known_keys(
    doc: YamlDoc, at: KeyPath, mapping: dict[str, Any], allowed: frozenset[str], what: str
) -> None:
    for key in mapping:
        if key in allowed:
            continue
        close = difflib.get_close_matches(str(key), sorted(allowed), n=1, cutoff=0.6)
        tip = f"; did you mean {close[0]!r}?" if close else ""
        raise ConfigError(f"{doc.where((*at, key))}: unknown key {key!r} in the {what}{tip}")


def _columns(
    doc: YamlDoc, raw: Any, flavour: Engine, reasons: list[str], coerce_all: bool
) -> dict[str, ColumnSpec]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{doc.where(('columns',))}: `columns` must map column names to specs")
    out: dict[str, ColumnSpec] = {}
    for name, spec in raw.items():
        at: KeyPath = ("columns", name)
        if spec is None:
            spec = {}
        if not isinstance(spec, dict):
            raise ConfigError(f"{doc.where(at)}: column {name!r} must be a mapping of settings")
        _known_keys(doc, at, spec, COLUMN_KEYS | CHECK_NAMES, f"column {name!r}")
        for key in _BOOL_KEYS:
            if key in spec and not isinstance(spec[key], bool):
                raise ConfigError(f"{doc.where((*at, key))}: {key} must be true or false")
        dtype = spec.get("dtype")
        if dtype is not None and not isinstance(dtype, str):
            raise ConfigError(f"{doc.where((*at, 'dtype'))}: dtype must be a name like float64")
        for check, options in _checks(doc, at, spec):
            if check in PANDAS_ONLY_CHECKS:
                reasons.append(f"column {name!r} uses the {check} check")
            if isinstance(options, dict) and ("groupby" in options or "groups" in options):
                reasons.append(f"column {name!r} has a grouped check")
        polars_name = polars_dtype_name(dtype) if dtype else None
        if dtype and polars_name is None:
            if flavour == "polars":
                raise ConfigError(f"{doc.where((*at, 'dtype'))}: unknown polars dtype {dtype!r}")
            reasons.append(f"column {name!r} has dtype {dtype!r}, which polars cannot hold")
        out[str(name)] = ColumnSpec(
            name=str(name),
            dtype=dtype,
            polars_dtype=polars_name,
            nullable=bool(spec.get("nullable", False)),
            unique=bool(spec.get("unique", False)),
            required=bool(spec.get("required", True)),
            report_duplicates=_report_duplicates(doc, at, spec),
            coerce=coerce_all or spec.get("coerce") is True,
        )
    return out


def _checks(doc: YamlDoc, at: KeyPath, spec: dict[str, Any]) -> list[tuple[str, Any]]:
    """(name, options) of every check of a column, in any of pandera's three spellings."""
    found = [(k, v) for k, v in spec.items() if k in CHECK_NAMES]
    checks = spec.get("checks")
    if checks is None:
        return found
    if isinstance(checks, dict):
        for name, value in checks.items():
            if name not in CHECK_NAMES:
                _unknown_check(doc, (*at, "checks", name), name)
            found.append((name, value))
    elif isinstance(checks, list):
        for i, item in enumerate(checks):
            options = item.get("options") if isinstance(item, dict) else None
            name = options.get("check_name") if isinstance(options, dict) else None
            if name not in CHECK_NAMES:
                _unknown_check(doc, (*at, "checks", i), name)
            found.append((str(name), {**item, **(options or {})}))
    else:
        raise ConfigError(f"{doc.where((*at, 'checks'))}: checks must be a mapping or a list")
    return found


def _unknown_check(doc: YamlDoc, at: KeyPath, name: Any) -> None:
    close = difflib.get_close_matches(str(name), sorted(CHECK_NAMES), n=1, cutoff=0.6)
    tip = f"; did you mean {close[0]!r}?" if close else f"; known: {', '.join(sorted(CHECK_NAMES))}"
    raise ConfigError(f"{doc.where(at)}: unknown check {name!r}{tip}")


def _report_duplicates(doc: YamlDoc, at: KeyPath, spec: dict[str, Any]) -> str:
    value = spec.get("report_duplicates", "all")
    if value not in ("all", "exclude_first", "exclude_last"):
        raise ConfigError(
            f"{doc.where((*at, 'report_duplicates'))}: report_duplicates is all, exclude_first"
            " or exclude_last"
        )
    return str(value)


def _unique_sets(doc: YamlDoc, raw: Any) -> list[list[str]]:
    if raw is None:
        return []
    if isinstance(raw, str):
        return [[raw]]
    if isinstance(raw, list) and all(isinstance(c, str) for c in raw):
        return [list(raw)]
    if isinstance(raw, list) and all(
        isinstance(s, list) and all(isinstance(c, str) for c in s) for s in raw
    ):
        return [list(s) for s in raw]
    raise ConfigError(
        f"{doc.where(('unique',))}: unique is a column name, a list of them, or a list of lists"
    )


def build(spec: SchemaSpec, engine: Engine) -> Any:
    """The pandera DataFrameSchema for `engine`, without its uniqueness constraints: those
    are checked by mlops across chunks, so a file larger than memory is checked as a whole."""
    data = _without_unique(spec.doc.data)
    if engine == "polars":
        data["schema_type"] = "polars_dataframe"
        data.pop("api", None)
        # The readers already give each column its schema dtype (a CSV is parsed as it says,
        # what does not parse is reported by row), so `coerce`, written for pandas readers,
        # has nothing left to do here; and pandera's polars coercion of a missing column
        # raises instead of reporting it.
        data.pop("coerce", None)
        for name, col in (data.get("columns") or {}).items():
            col.pop("coerce", None)
            target = spec.columns[str(name)].polars_dtype
            if target is not None:
                col["dtype"] = target
        deserialize: Any = _deserialize_polars
    else:
        from pandera.io import pandas_io

        deserialize = pandas_io.deserialize_schema
    try:
        return deserialize(data)
    except Exception as exc:  # pandera raises a dozen types here; all mean "bad schema"
        raise _locate(spec, data, deserialize, exc) from None


def _deserialize_polars(data: dict[str, Any]) -> Any:
    """pandera's polars_io.deserialize_schema, without importing pandas (~0.6 s) for nothing.

    pandera imports pandas for each check of a column with a dtype, to parse the check's
    bounds when the column holds dates or durations. A column of another dtype gets the
    bounds as written either way: it is built without its dtype, which is set afterwards.
    """
    from pandera.io import polars_io

    deserialize: Any = polars_io.deserialize_schema
    plain = set(_POLARS_NAMES.values())
    columns: dict[str, Any] = data.get("columns") or {}
    later = {
        name: col["dtype"]
        for name, col in columns.items()
        if col.get("dtype") in plain and "default" not in col and set(col) & _CHECK_KEYS
    }
    if not later:
        return deserialize(data)
    bare = {
        name: {k: v for k, v in col.items() if k != "dtype" or name not in later}
        for name, col in columns.items()
    }
    schema = deserialize({**data, "columns": bare})
    # The dtypes as pandera reads them, from columns without checks.
    typed = deserialize({"columns": {n: {"dtype": d} for n, d in later.items()}})
    return schema.update_columns({n: {"dtype": typed.columns[n].dtype} for n in later})


def _without_unique(data: dict[str, Any]) -> dict[str, Any]:
    drop = ("unique", "report_duplicates")
    out = {k: v for k, v in data.items() if k not in (*drop, "version")}
    columns = data.get("columns") or {}
    out["columns"] = {
        name: {k: v for k, v in (col or {}).items() if k not in drop}
        for name, col in columns.items()
    }
    return out


def _locate(
    spec: SchemaSpec, data: dict[str, Any], deserialize: Any, exc: Exception
) -> ConfigError:
    """Find the column pandera choked on, to point at its line."""
    where = spec.source
    for name, col in (data.get("columns") or {}).items():
        try:
            deserialize({**data, "columns": {name: col}, "checks": None})
        except Exception:
            where = spec.doc.where(("columns", name))
            break
    text = " ".join(str(exc).split()) or type(exc).__name__
    return ConfigError(
        f"{where}: not a valid pandera schema: {text[:300]}",
        hint="see https://pandera.readthedocs.io (schema YAML) or re-infer it with"
        " `mlops schema infer`",
    )
