"""What a validation found: `Failure` (one failed check) and `ValidationReport` (one file).

Kept apart from `validation.validate` so the engine, the uniqueness pass and the JUnit
writer can name them without importing the facade that calls them. Standard library only.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Failure:
    """One check that failed: on which column, for how many rows, and the first few of them.

    `failing_rows` is 0 and an example's row is None when the check concerns the column or
    the table as a whole (a missing column, a wrong dtype): the value is then what was found.
    Rows are numbered from 0, as in pandas and polars; in a CSV without quoted line breaks,
    row N is on line N + 2.
    """

    check: str
    column: str | None
    failing_rows: int
    examples: list[tuple[int | None, str]] = field(default_factory=list)
    message: str | None = None  # in words, for a check whose name says little (a missing column)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "check": self.check,
            "column": self.column,
            "failing_rows": self.failing_rows,
            "examples": [{"row": row, "value": value} for row, value in self.examples],
        }
        if self.message is not None:
            out["message"] = self.message
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Failure:
        return cls(
            check=str(data["check"]),
            column=data.get("column"),
            failing_rows=int(data["failing_rows"]),
            examples=[(e.get("row"), str(e.get("value"))) for e in data.get("examples", [])],
            message=data.get("message"),
        )


@dataclass
class ValidationReport:
    dataset: str | None
    path: str
    schema: str
    passed: bool
    rows: int | None
    failures: list[Failure]
    cached: bool
    seconds: float
    engine: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["failures"] = [f.to_dict() for f in self.failures]
        out["seconds"] = round(self.seconds, 4)
        return out
