"""`mlops data diff DATASET A B`: one data set as two versions recorded it, compared by
content without touching the workspace: each side is read by its recorded DVC md5 from the
DVC cache (or the work tree while it still has that md5).

- rows: with a key (`--key`, else the schema's one unique column), rows added, removed and
  changed (same key, another value in a shared column; nulls equal to nulls); without one,
  rows compared as whole rows (a multiset: a duplicated row counts twice);
- columns: added and removed columns, and per shared column the count, nulls and mean,
  std, min and max (numbers) or the five most frequent values (text), side by side.

Both files are read whole with polars: memory grows with the files (say so in docs).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops_cli.common.errors import InputError
from mlops_cli.project.root import Project
from mlops_cli.registry.lineage import locate
from mlops_cli.registry.records import VersionRecord

FORMATS = {".csv": "csv", ".tsv": "csv", ".parquet": "parquet", ".pq": "parquet"}
TOP = 5


@dataclass(frozen=True)
class Side:
    spec: str
    version: str
    path: str
    md5: str
    source: Path


def side_of(project: Project, spec: str, record: VersionRecord, dataset: str) -> Side:
    entry = record.data.get(dataset)
    if entry is None:
        known = ", ".join(sorted(record.data)) or "none"
        raise InputError(
            f"{record.model}@{record.version} records no data set {dataset!r} (it has: {known})"
        )
    rel, md5 = str(entry.get("path") or ""), str(entry.get("md5") or "")
    if Path(rel).suffix.lower() not in FORMATS:
        raise InputError(f"{rel}: data diff compares CSV or Parquet data sets")
    found = locate(project.root, rel, md5)
    if found is None:
        raise InputError(
            f"{dataset} of {record.model}@{record.version} ({rel}, md5 {md5[:12]}) is neither"
            " in the DVC cache nor the work tree",
            hint="fetch it: `dvc fetch --all-tags` (or `mlops data pull` on that version's commit)",
        )
    return Side(spec, record.version, rel, md5, found)


def read(side: Side) -> Any:
    import polars as pl

    try:
        if FORMATS[Path(side.path).suffix.lower()] == "parquet":
            return pl.read_parquet(side.source)
        return pl.read_csv(side.source, infer_schema_length=10_000)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise InputError(f"{side.path} of {side.spec}: cannot be read: {exc}") from exc


def diff_frames(a: Any, b: Any, key: str | None) -> dict[str, Any]:
    shared = [c for c in a.columns if c in b.columns]
    out: dict[str, Any] = {
        "rows": {"a": a.height, "b": b.height, "delta": b.height - a.height},
        "columns_added": [c for c in b.columns if c not in a.columns],
        "columns_removed": [c for c in a.columns if c not in b.columns],
        "key": key,
    }
    out["rows"].update(_by_key(a, b, key, shared) if key else _by_rows(a, b, shared))
    out["columns"] = [_column(name, a.get_column(name), b.get_column(name)) for name in shared]
    return out


def _by_key(a: Any, b: Any, key: str, shared: list[str]) -> dict[str, Any]:
    import polars as pl

    for frame, side in ((a, "A"), (b, "B")):
        if key not in frame.columns:
            raise InputError(f"key column {key!r} is not in {side}'s data")
        if frame.get_column(key).is_duplicated().any():
            raise InputError(
                f"key column {key!r} has duplicate values in {side}'s data: not a key",
                hint="pass another --key, or none to compare whole rows",
            )
    keys_a, keys_b = a.select(key), b.select(key)
    added = keys_b.join(keys_a, on=key, how="anti").height
    removed = keys_a.join(keys_b, on=key, how="anti").height
    others = [c for c in shared if c != key]
    both = a.select([key, *others]).join(b.select([key, *others]), on=key, suffix="__b")
    if others and both.height:
        differs = pl.any_horizontal([~pl.col(c).eq_missing(pl.col(f"{c}__b")) for c in others])
        changed = both.filter(differs).height
    else:
        changed = 0
    return {"added": added, "removed": removed, "changed": changed, "same": both.height - changed}


def _by_rows(a: Any, b: Any, shared: list[str]) -> dict[str, Any]:
    """Whole rows over the shared columns, as a multiset (hash, count)."""
    import polars as pl

    if not shared:
        return {"added": b.height, "removed": a.height, "changed": None, "same": 0}

    def counted(frame: Any) -> Any:
        hashes = frame.select(shared).hash_rows(seed=0)  # one process: the same hashing
        counts = hashes.value_counts(name="n").rename({hashes.name: "h"})
        return counts.with_columns(pl.col("n").cast(pl.Int64))  # u32 would wrap below 0

    ca, cb = counted(a), counted(b)
    joined = ca.join(cb, on="h", how="full", suffix="_b", coalesce=True).fill_null(0)
    extra = joined.select((pl.col("n_b") - pl.col("n")).clip(lower_bound=0).sum()).item()
    lost = joined.select((pl.col("n") - pl.col("n_b")).clip(lower_bound=0).sum()).item()
    same = joined.select(pl.min_horizontal("n", "n_b").sum()).item()
    return {"added": int(extra), "removed": int(lost), "changed": None, "same": int(same)}


def _column(name: str, a: Any, b: Any) -> dict[str, Any]:
    numeric = a.dtype.is_numeric() and b.dtype.is_numeric()
    sides = {"a": _summary(a, numeric), "b": _summary(b, numeric)}
    row: dict[str, Any] = {"name": name, "dtype": {"a": str(a.dtype), "b": str(b.dtype)}, **sides}
    if numeric:
        row["delta"] = {
            k: _sub(sides["b"][k], sides["a"][k]) for k in ("count", "nulls", "mean", "std")
        }
    else:
        row["delta"] = {k: sides["b"][k] - sides["a"][k] for k in ("count", "nulls")}
    row["changed"] = sides["a"] != sides["b"] or row["dtype"]["a"] != row["dtype"]["b"]
    return row


def _summary(series: Any, numeric: bool) -> dict[str, Any]:
    import polars as pl

    out: dict[str, Any] = {"count": series.len(), "nulls": series.null_count()}
    if numeric:
        values = series.cast(pl.Float64, strict=False)
        out.update(
            mean=_num(values.mean()),
            std=_num(values.std()),
            min=_num(values.min()),
            max=_num(values.max()),
        )
    else:
        counts = series.cast(pl.String).drop_nulls().value_counts(sort=True).head(TOP)
        out["top"] = {str(v): int(n) for v, n in counts.iter_rows()}
        out["distinct"] = series.n_unique()
    return out


def _num(value: Any) -> float | None:
    return None if value is None else round(float(value), 10)


def _sub(b: Any, a: Any) -> float | None:
    if a is None or b is None:
        return None
    return round(float(b) - float(a), 10)


def schema_key(project: Project, dataset: str) -> str | None:
    """The schema's single unique column of `dataset`, when it declares exactly one."""
    from mlops_cli.validation.schemafile import load_schema

    ds = project.config.datasets.get(dataset)
    if ds is None or not ds.schema_:
        return None
    try:
        spec = load_schema(project.root / ds.schema_)
    except Exception:  # a schema that does not load is validation's to report, not diff's
        return None
    unique = [c.name for c in spec.columns.values() if c.unique]
    if len(unique) == 1:
        return unique[0]
    if not unique and len(spec.unique) == 1 and len(spec.unique[0]) == 1:
        return spec.unique[0][0]
    return None
