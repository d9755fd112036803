"""validation/csvdialect.py: the CSV dialect sniffed from a sample (the Parquet footer's tests
are in test_parquetmeta.py)."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    ("sample", "expected"),
    [
        ("a,b,c\n1,2,3\n4,5,6\n", ","),
        ("a;b;c\n1;2,5;3\n4;5,5;6\n", ";"),  # commas inside fields: decimal marks
        ("a\tb\n1\t2\n", "\t"),
        ("a|b|c\n1|2|3\n", "|"),
        ('name,remark\n"Smith; John","a; b"\n"Doe; Jane","c; d"\n', ","),  # quoted ;
        ("single\n1\n2\n", ","),  # one column: the fallback
        ("a;b;c\n1;2;3\n4;5", ";"),  # a sample cut mid-line
    ],
)
def test_sniff_delimiter(sample: str, expected: str) -> None:
    from mlops_cli.validation.csvdialect import sniff_delimiter

    assert sniff_delimiter(sample, ",") == expected


def test_sniff_decimal() -> None:
    from mlops_cli.validation.csvdialect import sniff_decimal

    assert sniff_decimal("a;b\n1;2,5\n", ";") == ","
    assert sniff_decimal("a;b\n1;2.5\n2;3,5\n", ";") == "."  # both: not a decimal comma
    assert sniff_decimal("a,b\n1,2\n", ",") == "."
