"""scaffold/sampledata.py: scikit-learn's bundled data sets exported as CSV, offline."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from mlops_cli.common.errors import InputError
from mlops_cli.scaffold.sampledata import SKLEARN_DATASETS, column_name, export_sklearn_dataset


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        ("mean radius", "mean_radius"),
        ("sepal length (cm)", "sepal_length_cm"),
        ("  OD280/OD315 of diluted wines ", "od280_od315_of_diluted_wines"),
        ("()", "column"),
    ],
)
def test_column_names_work_as_identifiers(raw: str, name: str) -> None:
    assert column_name(raw) == name


@pytest.mark.parametrize(("dataset", "n"), [("iris", 150), ("wine", 178)])
def test_export_writes_the_whole_set_with_a_target(tmp_path: Path, dataset: str, n: int) -> None:
    path = tmp_path / f"{dataset}.csv"
    assert export_sklearn_dataset(dataset, path) == n
    data = path.read_bytes()
    assert b"\r\n" not in data
    table = list(csv.reader(data.decode().splitlines()))
    header, body = table[0], table[1:]
    assert len(body) == n
    assert header[-1] == "target"
    assert all(name == column_name(name) for name in header)
    assert {row[-1] for row in body} == {"0", "1", "2"}
    if dataset == "iris":
        assert header[0] == "sepal_length_cm" and body[0][:4] == ["5.1", "3.5", "1.4", "0.2"]


def test_an_unknown_data_set_is_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unknown scikit-learn data set 'mnist'") as info:
        export_sklearn_dataset("mnist", tmp_path / "x.csv")
    assert all(name in (info.value.hint or "") for name in SKLEARN_DATASETS)
    assert not (tmp_path / "x.csv").exists()
