"""validation/report.py: a failure and a report as the JSON the cache and --json hold."""

from __future__ import annotations

import json

from mlops_cli.validation.report import Failure, ValidationReport


def test_a_failure_round_trips_through_json() -> None:
    failures = [
        Failure("in_range(0, 120)", "age", 2, [(4, "130"), (9, "-1")]),
        Failure("dtype('int64')", "age", 0, [(None, "String")]),
        Failure("column_in_dataframe", "email", 0, message="column 'email' is missing"),
    ]
    for failure in failures:
        data = json.loads(json.dumps(failure.to_dict()))
        assert Failure.from_dict(data) == failure
    assert failures[0].to_dict() == {
        "check": "in_range(0, 120)",
        "column": "age",
        "failing_rows": 2,
        "examples": [{"row": 4, "value": "130"}, {"row": 9, "value": "-1"}],
    }  # no `message` key when there is none
    assert failures[2].to_dict()["message"] == "column 'email' is missing"


def test_from_dict_is_lenient_about_what_an_older_cache_lacks() -> None:
    assert Failure.from_dict({"check": "unique", "failing_rows": "3"}) == Failure(
        "unique", None, 3, []
    )
    assert Failure.from_dict(
        {"check": "x", "failing_rows": 1, "examples": [{"row": 1, "value": 5}]}
    ).examples == [(1, "5")]


def test_a_report_as_a_document() -> None:
    report = ValidationReport(
        dataset="customers", path="data/c.csv", schema="schemas/c.yaml", passed=False,
        rows=10, failures=[Failure("not_nullable", "id", 1, [(3, "null")])], cached=True,
        seconds=0.123456789, engine="polars",
    )  # fmt: skip
    assert report.to_dict() == {
        "dataset": "customers",
        "path": "data/c.csv",
        "schema": "schemas/c.yaml",
        "passed": False,
        "rows": 10,
        "failures": [
            {
                "check": "not_nullable",
                "column": "id",
                "failing_rows": 1,
                "examples": [{"row": 3, "value": "null"}],
            }
        ],
        "cached": True,
        "seconds": 0.1235,
        "engine": "polars",
    }
