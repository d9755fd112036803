"""Loading mlops.yaml: every bad input is exit 3 with the file and the line."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from mlops_cli.common.errors import ConfigError, NotAProject
from mlops_cli.project.root import find_root, load_config, open_project

GOOD = """\
schema_version: 1
project: churn
datasets:
  train:
    path: data/train.csv
    schema: schemas/train.yaml
models:
  churn:
    path: models/model.skops
    target: target
    train_data: [train]
    tests:
      metrics:
        accuracy: {min: 0.9}
"""


def write(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "mlops.yaml"
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def test_good_config_loads(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD))
    assert config.project == "churn"
    assert config.models["churn"].tests.metrics["accuracy"].min == 0.9
    assert config.datasets["train"].schema_ == "schemas/train.yaml"
    assert config.stages == ["dev", "staging", "prod"]


def test_unknown_key_suggests_the_closest(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("    target: target", "    targt: target"))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert f"{path}:10:5:" in message
    assert "models.churn.targt: unknown key; did you mean 'target'?" in message
    assert info.value.exit_code == 3


def test_wrong_type_names_key_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("accuracy: {min: 0.9}", "accuracy: {min: high}"))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert f"{path}:14:" in str(info.value)
    assert "models.churn.tests.metrics.accuracy.min" in str(info.value)


def test_dangling_dataset_reference(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("train_data: [train]", "train_data: [trian]"))
    with pytest.raises(ConfigError, match=r"names data set 'trian'.*declared: train"):
        load_config(path)


def test_syntax_error_has_file_line_col(tmp_path: Path) -> None:
    path = write(tmp_path, "project: churn\nmodels: [unclosed\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value).startswith(f"{path}:")
    assert "\n" not in str(info.value)


def test_non_utf8_reports_offset(tmp_path: Path) -> None:
    path = write(tmp_path, b"project: caf\xe9\n")
    with pytest.raises(ConfigError, match=r"not UTF-8.*offset 12"):
        load_config(path)


def test_alias_bomb_rejected_fast(tmp_path: Path) -> None:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        refs = ",".join([f"*a{i - 1}"] * 9)
        lines.append(f"a{i}: &a{i} [{refs}]")
    path = write(tmp_path, "project: x\n" + "\n".join(lines) + "\n")
    start = time.monotonic()
    with pytest.raises(ConfigError, match="alias"):
        load_config(path)
    assert time.monotonic() - start < 1.0


def test_python_tags_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "project: !!python/object/apply:os.system ['touch pwned']\n")
    with pytest.raises(ConfigError):
        load_config(path)
    assert not (tmp_path / "pwned").exists()


def test_empty_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_config(write(tmp_path, ""))


def test_find_root_walks_up(tmp_path: Path) -> None:
    write(tmp_path, GOOD)
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    assert find_root(deep) == tmp_path.resolve()
    assert open_project(deep).config.project == "churn"


def test_outside_a_project(tmp_path: Path) -> None:
    with pytest.raises(
        NotAProject, match=r"not an mlops project \(no mlops.yaml in .* or any parent\)"
    ):
        find_root(tmp_path)


def test_locate_finds_the_root_or_none_without_resolving(tmp_path: Path) -> None:
    from mlops_cli.project.root import locate

    write(tmp_path, GOOD)
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    link = tmp_path.parent / f"{tmp_path.name}-link"
    link.symlink_to(tmp_path)
    try:
        assert locate(deep) == tmp_path
        assert locate(link / "a") == link  # symlinks kept: paths stay comparable with cwd
    finally:
        link.unlink()
    assert locate(tmp_path.parent) is None or locate(tmp_path.parent) != tmp_path


def test_root_imports_no_pydantic_until_a_config_is_validated() -> None:
    """The hook's fast path imports project.root: it must stay light."""
    import subprocess
    import sys

    code = (
        "import sys\nimport mlops_cli.project.root as r\n"
        "assert 'pydantic' not in sys.modules, 'pydantic'\n"
        "assert 'difflib' not in sys.modules, 'difflib'\n"
        "assert r.CONFIG_FILE == 'mlops.yaml'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
