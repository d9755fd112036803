"""Data sets that scikit-learn ships, exported as CSV so a new project trains offline."""

from __future__ import annotations

import io
import re
from pathlib import Path

from mlops_cli.common.errors import InputError
from mlops_cli.common.fs import atomic_write_bytes

SKLEARN_DATASETS = ("breast_cancer", "wine", "iris", "diabetes")


def column_name(raw: str) -> str:
    """`mean radius` -> `mean_radius`: names that work as identifiers and in schemas."""
    name = re.sub(r"[^0-9a-zA-Z]+", "_", raw.strip()).strip("_").lower()
    return name or "column"


def export_sklearn_dataset(name: str, path: Path) -> int:
    """Write the scikit-learn data set `name` to `path` as CSV; the label is `target`.

    Returns the number of rows written.
    """
    if name not in SKLEARN_DATASETS:
        raise InputError(
            f"unknown scikit-learn data set {name!r}",
            hint=f"choose one of {', '.join(SKLEARN_DATASETS)}",
        )
    from sklearn import datasets  # heavy: only when a project is scaffolded

    bunch = getattr(datasets, f"load_{name}")(as_frame=True)
    frame = bunch.frame.copy()
    frame.columns = [column_name(str(c)) for c in frame.columns]
    buf = io.StringIO()
    frame.to_csv(buf, index=False, lineterminator="\n", float_format="%.6g")
    atomic_write_bytes(path, buf.getvalue().encode("utf-8"))
    return len(frame)
