"""JUnit XML for validation reports: what CI systems show as test results.

One `<testsuite>`, one `<testcase>` per data set (or file); a failed validation is a
`<failure>` listing each failed check, a skipped data set a `<skipped>`.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import TYPE_CHECKING

from mlops_cli.common.fs import atomic_write_bytes

if TYPE_CHECKING:
    from mlops_cli.validation.report import Failure
    from mlops_cli.validation.validate import ValidationRun


def examples_text(failure: Failure) -> str:
    """`row 4 = 35.2, row 17 = 41.0`; `found Int64` for a column-wide failure."""
    return ", ".join(
        f"row {row} = {value}" if row is not None else f"found {value}"
        for row, value in failure.examples
    )


def describe(failure: Failure) -> str:
    if failure.message:
        return f"{failure.message} ({failure.check})"
    where = f"{failure.column}: " if failure.column else ""
    rows = f": {failure.failing_rows} row(s)" if failure.failing_rows else ""
    examples = examples_text(failure)
    return f"{where}{failure.check}{rows}" + (f" ({examples})" if examples else "")


def junit_xml(run: ValidationRun) -> bytes:
    failed = sum(not r.passed for r in run.reports)
    suite = ET.Element(
        "testsuite",
        name="mlops validate",
        tests=str(len(run.reports) + len(run.skipped)),
        failures=str(failed),
        errors="0",
        skipped=str(len(run.skipped)),
        time=f"{sum(r.seconds for r in run.reports):.3f}",
    )
    for report in run.reports:
        case = ET.SubElement(
            suite,
            "testcase",
            classname="mlops.validate",
            name=report.dataset or report.path,
            file=report.path,
            time=f"{report.seconds:.3f}",
        )
        if not report.passed:
            checks = len(report.failures)
            failure = ET.SubElement(
                case,
                "failure",
                message=f"{report.path} breaks {report.schema}: {checks} failed check(s)",
                type="ValidationFailed",
            )
            failure.text = "\n".join(describe(f) for f in report.failures)
        props = ET.SubElement(case, "properties")
        for name, value in (("schema", report.schema), ("rows", report.rows)):
            ET.SubElement(props, "property", name=name, value=str(value))
    for name, why in run.skipped:
        case = ET.SubElement(suite, "testcase", classname="mlops.validate", name=name)
        ET.SubElement(case, "skipped", message=why)
    ET.indent(suite)
    text: bytes = ET.tostring(suite, encoding="utf-8", xml_declaration=True)
    return text + b"\n"


def write_junit(path: Path, run: ValidationRun) -> None:
    atomic_write_bytes(path, junit_xml(run))
