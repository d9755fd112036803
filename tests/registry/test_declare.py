"""registry/declare.py: `mlops model add` declares a model in mlops.yaml (comments kept,
validated, written atomically, staged when the file was clean), never replacing one."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from mlops_cli.common.errors import InputError, UnsafeError, UsageError
from mlops_cli.common.yamlio import parse_yaml
from mlops_cli.project.root import open_project
from mlops_cli.registry.declare import add

CONFIG = """\
schema_version: 1
project: demo   # the project's name
datasets:
  train:
    path: data/train.csv
    schema: schemas/train.yaml
"""


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "p"
    (root / "schemas").mkdir(parents=True)
    (root / "mlops.yaml").write_text(CONFIG)
    (root / "schemas" / "train.yaml").write_text(
        "columns:\n  x: {dtype: float64}\n  label: {dtype: int64}\n"
    )
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run(["git", "-C", str(root), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(root), "commit", "-qm", "init"], check=True)
    return root


def staged(root: Path) -> list[str]:
    out = subprocess.run(["git", "-C", str(root), "diff", "--cached", "--name-only"],
                         capture_output=True, text=True, check=True)  # fmt: skip
    return out.stdout.split()


def test_add_a_model_with_its_data_and_a_guessed_target(root: Path) -> None:
    warnings: list[str] = []

    class Reporter:
        def step(self, message: str) -> None: ...
        def detail(self, message: str) -> None: ...
        def warn(self, message: str) -> None:
            warnings.append(message)

    result = add(open_project(root), "churn", path="models/m.skops", data="train",
                 reporter=Reporter())  # fmt: skip
    assert result.entry == {
        "path": "models/m.skops",
        "format": "skops",
        "task": "classification",
        "target": "label",  # the schema's one label-like column
        "train_data": ["train"],
        "test_data": "train",
    }
    text = (root / "mlops.yaml").read_text()
    assert text.startswith(CONFIG)  # the user's text and comment kept, the model appended
    model = parse_yaml(text.encode(), "mlops.yaml").data["models"]["churn"]
    assert model == result.entry
    assert open_project(root).config.models["churn"].target == "label"
    assert result.staged == ["mlops.yaml"] and staged(root) == ["mlops.yaml"]
    assert warnings == ["models/m.skops does not exist yet: train the model to write it there"]


def test_a_dirty_config_is_written_but_not_staged(root: Path) -> None:
    (root / "mlops.yaml").write_text(CONFIG + "# my edit\n")
    result = add(open_project(root), "reg", path="m.joblib", data=None, task="regression",
                 target="y")  # fmt: skip
    assert result.entry["format"] == "joblib" and "train_data" not in result.entry
    assert result.staged == [] and staged(root) == []
    assert "# my edit\n" in (root / "mlops.yaml").read_text()


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"name": "9lives"}, UsageError, "model name '9lives' is not valid"),
        ({"path": "m.bin"}, UsageError, "cannot tell the format of m.bin"),
        ({"path": ".git/m.skops"}, InputError, r"\.git/m\.skops cannot be a model file"),
        ({"path": "../m.skops"}, UnsafeError, "outside"),
        ({"data": "nope"}, InputError, "data set 'nope' is not declared"),
        ({"data": None}, UsageError, "name the label column with --target COL"),
    ],
)
def test_refused_and_nothing_written(
    root: Path, kwargs: dict[str, object], error: type[Exception], message: str
) -> None:
    args: dict[str, object] = {"name": "m", "path": "m.skops", "data": "train", **kwargs}
    name = str(args.pop("name"))
    with pytest.raises(error, match=message):
        add(open_project(root), name, **args)  # type: ignore[arg-type]
    assert (root / "mlops.yaml").read_text() == CONFIG


def test_a_declared_name_is_never_replaced(root: Path) -> None:
    add(open_project(root), "churn", path="m.skops", data="train")
    before = (root / "mlops.yaml").read_text()
    with pytest.raises(InputError, match=r"model 'churn' is already declared in mlops\.yaml"):
        add(open_project(root), "churn", path="other.skops", data="train")
    assert (root / "mlops.yaml").read_text() == before
