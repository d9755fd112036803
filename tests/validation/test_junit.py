"""validation/junit.py: validation reports as JUnit XML, and a failure in words."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from mlops_cli.validation.junit import describe, examples_text, junit_xml, write_junit
from mlops_cli.validation.report import Failure, ValidationReport
from mlops_cli.validation.validate import ValidationRun


def report(
    passed: bool, failures: list[Failure], *, dataset: str | None = "customers"
) -> ValidationReport:
    return ValidationReport(
        dataset=dataset,
        path="data/customers.csv",
        schema="schemas/customers.yaml",
        passed=passed,
        rows=120,
        failures=failures,
        cached=False,
        seconds=0.25,
    )


RANGE = Failure("greater_than_or_equal_to(0)", "age", 2, [(4, "-1"), (17, "-3")])
DTYPE = Failure("dtype('Int64')", "age", 0, [(None, "String")])
MISSING = Failure("column_in_dataframe", "email", 0, message="column 'email' is missing")


def test_examples_name_rows_or_what_was_found() -> None:
    assert examples_text(RANGE) == "row 4 = -1, row 17 = -3"
    assert examples_text(DTYPE) == "found String"
    assert examples_text(Failure("unique", None, 0)) == ""


def test_describe_a_failure() -> None:
    assert describe(RANGE) == "age: greater_than_or_equal_to(0): 2 row(s) (row 4 = -1, row 17 = -3)"
    assert describe(DTYPE) == "age: dtype('Int64') (found String)"
    assert describe(MISSING) == "column 'email' is missing (column_in_dataframe)"
    assert describe(Failure("strict", None, 0)) == "strict"


def test_junit_document_counts_failures_and_skips() -> None:
    run = ValidationRun(
        [report(True, []), report(False, [RANGE, MISSING], dataset=None)],
        skipped=[("orders", "no schema")],
    )
    suite = ET.fromstring(junit_xml(run))
    assert suite.tag == "testsuite"
    assert suite.attrib["tests"] == "3"
    assert suite.attrib["failures"] == "1"
    assert suite.attrib["skipped"] == "1"
    assert suite.attrib["time"] == "0.500"
    passed, failed, skipped = suite.findall("testcase")
    assert passed.attrib["name"] == "customers"
    assert passed.find("failure") is None
    props = {p.attrib["name"]: p.attrib["value"] for p in passed.iter("property")}
    assert props == {"schema": "schemas/customers.yaml", "rows": "120"}
    assert failed.attrib["name"] == "data/customers.csv"  # no data set: the path
    failure = failed.find("failure")
    assert failure is not None
    assert failure.attrib["message"] == (
        "data/customers.csv breaks schemas/customers.yaml: 2 failed check(s)"
    )
    assert failure.text == f"{describe(RANGE)}\n{describe(MISSING)}"
    skip = skipped.find("skipped")
    assert skipped.attrib["name"] == "orders"
    assert skip is not None and skip.attrib["message"] == "no schema"


def test_write_junit_escapes_and_writes_the_file(tmp_path: Path) -> None:
    hostile = Failure("isin", "x", 1, [(0, '<a href="&">')])
    out = tmp_path / "reports" / "junit.xml"
    out.parent.mkdir()
    write_junit(out, ValidationRun([report(False, [hostile])]))
    data = out.read_bytes()
    assert data.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    failure = ET.fromstring(data).find("testcase/failure")
    assert failure is not None and failure.text == 'x: isin: 1 row(s) (row 0 = <a href="&">)'
