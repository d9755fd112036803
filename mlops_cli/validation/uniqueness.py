"""Uniqueness of a column (or a set of columns) over a whole file, read chunk by chunk.

pandera checks `unique` within the frame it is given; a file validated in chunks needs the
check across them, in memory that does not grow with the file. Each chunk's keys are hashed
twice (two 64-bit seeds, so a collision is as unlikely as a 128-bit one) and spilled with
their row numbers into 256 partition files by the hash's top bits; at the end each partition
is sorted on its own, so the memory used is about 1/256 of 3 x 24 bytes per row (a 5 GB CSV
of 145M rows spills 3.5 GB and sorts 14 MB at a time). Only when duplicates
exist is the file read again, for the values of the first few duplicated rows.

A file read in one piece takes the direct path: `n_unique()` (fast), and `is_duplicated()`
only when that says there are duplicates. Either way the semantics are pandera's: nulls are
equal to each other, and `report_duplicates` (all, exclude_first, exclude_last) is honoured.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops_cli.validation.report import Failure

if TYPE_CHECKING:
    import numpy as np
    import polars as pl

Again = Callable[[list[str]], Iterator[tuple["pl.DataFrame", int, "np.ndarray | None"]]]
_PARTITIONS = 256
_SHIFT = 56  # the top 8 bits of the first hash pick the partition


@dataclass(frozen=True)
class UniqueSet:
    check: str  # field_uniqueness or multiple_fields_uniqueness, as pandera names them
    column: str | None
    columns: list[str]
    keep: str = "all"  # pandera's report_duplicates


def _key(cols: list[str]) -> Any:
    import polars as pl

    return pl.col(cols[0]) if len(cols) == 1 else pl.struct(cols)


def _render(frame: pl.DataFrame, cols: list[str]) -> list[str]:
    import polars as pl

    if len(cols) == 1:
        return ["null" if v is None else str(v) for v in frame.get_column(cols[0]).to_list()]
    return frame.select(pl.struct(cols).struct.json_encode()).to_series().to_list()


class Uniqueness:
    def __init__(self, sets: list[UniqueSet], *, chunked: bool) -> None:
        self.sets = sets
        self.chunked = chunked and bool(sets)
        self._direct: list[Failure] = []
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if self.chunked:
            self._tmp = tempfile.TemporaryDirectory(prefix="mlops-unique-")

    def add(self, frame: pl.DataFrame, offset: int, row_map: np.ndarray | None) -> None:
        for i, spec in enumerate(self.sets):
            if self.chunked:
                self._spill(i, spec, frame, offset, row_map)
            else:
                self._direct_check(spec, frame, offset, row_map)

    def _direct_check(
        self, spec: UniqueSet, frame: pl.DataFrame, offset: int, row_map: np.ndarray | None
    ) -> None:
        key = _key(spec.columns)
        if frame.select(key.n_unique()).item() == frame.height:
            return
        import numpy as np  # only now: a file that passes does not need it

        mask = key.is_duplicated()
        if spec.keep == "exclude_first":
            mask = mask & ~key.is_first_distinct()
        elif spec.keep == "exclude_last":
            mask = mask & ~key.is_last_distinct()
        flags = frame.select(mask).to_series().to_numpy()
        positions = np.flatnonzero(flags)
        if not len(positions):
            return
        first = positions[:5]
        values = _render(frame[first.tolist()], spec.columns)
        rows = row_map[first] if row_map is not None else first + offset
        examples: list[tuple[int | None, str]] = [
            (int(r), v) for r, v in zip(rows, values, strict=True)
        ]
        self._direct.append(Failure(spec.check, spec.column, len(positions), examples))

    def _spill(
        self, i: int, spec: UniqueSet, frame: pl.DataFrame, offset: int, row_map: np.ndarray | None
    ) -> None:
        import numpy as np

        key = _key(spec.columns)
        hashes = frame.select(key.hash(seed=0).alias("a"), key.hash(seed=1).alias("b"))
        rec = np.empty(frame.height, dtype=_rec_dtype())
        rec["a"] = hashes.get_column("a").to_numpy()
        rec["b"] = hashes.get_column("b").to_numpy()
        rec["row"] = row_map if row_map is not None else np.arange(offset, offset + frame.height)
        part = (rec["a"] >> np.uint64(_SHIFT)).astype(np.intp)
        order = np.argsort(part, kind="stable")
        bounds = np.searchsorted(part[order], np.arange(_PARTITIONS + 1))
        for p in range(_PARTITIONS):
            if bounds[p] < bounds[p + 1]:
                with self._partition(i, p).open("ab") as f:
                    rec[order[bounds[p] : bounds[p + 1]]].tofile(f)

    def _partition(self, i: int, p: int) -> Path:
        assert self._tmp is not None
        return Path(self._tmp.name) / f"{i}-{p}.bin"

    def finish(self, again: Again, max_examples: int) -> list[Failure]:
        """The uniqueness failures; `again(columns)` re-reads the file for example values."""
        if not self.chunked:
            return self._direct
        try:
            return [
                f for i, s in enumerate(self.sets) if (f := self._merge(i, s, again, max_examples))
            ]
        finally:
            if self._tmp is not None:
                self._tmp.cleanup()

    def _merge(self, i: int, spec: UniqueSet, again: Again, k: int) -> Failure | None:
        import numpy as np

        count = 0
        first = np.empty(0, dtype=np.int64)
        for p in range(_PARTITIONS):
            path = self._partition(i, p)
            if not path.exists():
                continue
            rec = np.fromfile(path, dtype=_rec_dtype())
            path.unlink()
            rec = rec[np.lexsort((rec["row"], rec["b"], rec["a"]))]
            same = (rec["a"][1:] == rec["a"][:-1]) & (rec["b"][1:] == rec["b"][:-1])
            if not same.any():
                continue
            mark = np.zeros(len(rec), dtype=bool)
            if spec.keep != "exclude_last":
                mark[1:] |= same  # every row equal to the one before it
            if spec.keep != "exclude_first":
                mark[:-1] |= same  # every row equal to the one after it
            count += int(mark.sum())
            first = np.sort(np.concatenate([first, rec["row"][mark]]))[: max(k, 1)]
        if not count:
            return None
        return Failure(spec.check, spec.column, count, _values_at(first[:k], spec, again))


def _values_at(rows: np.ndarray, spec: UniqueSet, again: Again) -> list[tuple[int | None, str]]:
    import numpy as np

    found: dict[int, str] = {}
    wanted = np.asarray(rows, dtype=np.int64)
    if not len(wanted):
        return []
    for frame, offset, row_map in again(spec.columns):
        here = row_map if row_map is not None else np.arange(offset, offset + frame.height)
        positions = np.flatnonzero(np.isin(here, wanted))
        if len(positions):
            values = _render(frame[positions.tolist()], spec.columns)
            found.update({int(here[p]): v for p, v in zip(positions, values, strict=True)})
        if len(found) == len(wanted):
            break
    return [(int(r), found.get(int(r), "?")) for r in wanted]


def _rec_dtype() -> Any:
    import numpy as np

    return np.dtype([("a", "<u8"), ("b", "<u8"), ("row", "<i8")])
