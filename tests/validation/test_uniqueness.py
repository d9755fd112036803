"""validation/uniqueness.py: uniqueness over a whole file read in chunks, with pandera's
semantics (nulls equal, report_duplicates), the same answer whether chunked or not."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import polars as pl
import pytest

from mlops_cli.validation.report import Failure
from mlops_cli.validation.uniqueness import Uniqueness, UniqueSet

FRAME = pl.DataFrame(
    {
        "id": [1, 2, 3, 2, 5, None, 7, None, 2],
        "a": ["x", "y", "x", "y", "z", "z", "x", "q", "y"],
        "b": [1, 1, 2, 1, 3, 3, 2, 9, 1],
    }
)


def chunks(frame: pl.DataFrame, size: int) -> Iterator[tuple[pl.DataFrame, int, Any]]:
    for offset in range(0, frame.height, size):
        yield frame.slice(offset, size), offset, None


def check(sets: list[UniqueSet], *, size: int | None, max_examples: int = 5) -> list[Failure]:
    """The failures, the frame added in chunks of `size` rows (None: at once)."""
    u = Uniqueness(sets, chunked=size is not None)
    for frame, offset, row_map in chunks(FRAME, size or FRAME.height):
        u.add(frame, offset, row_map)

    def again(cols: list[str]) -> Iterator[tuple[pl.DataFrame, int, Any]]:
        return ((f.select(cols), o, m) for f, o, m in chunks(FRAME, size or FRAME.height))

    return u.finish(again, max_examples)


ID = UniqueSet("field_uniqueness", "id", ["id"])


@pytest.mark.parametrize("size", [None, 1, 2, 4])
def test_duplicates_of_one_column_nulls_equal(size: int | None) -> None:
    assert check([ID], size=size) == [
        Failure(
            "field_uniqueness",
            "id",
            5,
            [(1, "2"), (3, "2"), (5, "null"), (7, "null"), (8, "2")],
        )
    ]


@pytest.mark.parametrize("size", [None, 3])
@pytest.mark.parametrize(
    ("keep", "rows"),
    [("all", [1, 3, 5, 7, 8]), ("exclude_first", [3, 7, 8]), ("exclude_last", [1, 3, 5])],
)
def test_report_duplicates_as_pandera_does(size: int | None, keep: str, rows: list[int]) -> None:
    [failure] = check([UniqueSet("field_uniqueness", "id", ["id"], keep)], size=size)
    assert failure.failing_rows == len(rows)
    assert [row for row, _ in failure.examples] == rows


@pytest.mark.parametrize("size", [None, 2])
def test_a_set_of_columns(size: int | None) -> None:
    pair = UniqueSet("multiple_fields_uniqueness", None, ["a", "b"])
    [failure] = check([pair], size=size, max_examples=2)
    assert (failure.check, failure.column, failure.failing_rows) == (
        "multiple_fields_uniqueness",
        None,
        7,  # (y,1) x3, (x,2) x2, (z,3) x2
    )
    # The first rows by number (read at once it keeps five; Failures trims them to the limit).
    assert failure.examples[:2] == [(1, '{"a":"y","b":1}'), (2, '{"a":"x","b":2}')]


@pytest.mark.parametrize("size", [None, 2])
def test_unique_columns_pass_and_a_row_map_renumbers(size: int | None) -> None:
    unique = pl.DataFrame({"id": [1, 2, None, 2], "a": ["x", "x", "x", "y"]})
    pair = UniqueSet("multiple_fields_uniqueness", None, ["id", "a"])
    u = Uniqueness([pair], chunked=size is not None)
    for frame, offset, row_map in chunks(unique, size or unique.height):
        u.add(frame, offset, row_map)
    assert u.finish(lambda cols: iter(()), 5) == []
    u = Uniqueness([ID], chunked=False)
    import numpy as np

    frame = pl.DataFrame({"id": [4, 4]})
    u.add(frame, 0, np.array([10, 30]))  # rows 10 and 30 of the file (others left out)
    assert u.finish(lambda cols: iter(()), 5) == [
        Failure("field_uniqueness", "id", 2, [(10, "4"), (30, "4")])
    ]


def test_no_sets_is_no_work() -> None:
    u = Uniqueness([], chunked=True)
    assert not u.chunked
    u.add(FRAME, 0, None)
    assert u.finish(lambda cols: iter(()), 5) == []
