"""status/pipeline.py and the data side of `mlops status`: clean or stale, exactly when
`dvc status` (the real one, run beside it) says the data and pipelines are up to date or
not. mlops reads DVC's files by hand for speed; these fail the day the two verdicts part.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from mlops_cli.status.snapshot import open_project
from mlops_cli.status.status import project_status
from tests.modelproject import commit_all, copy_of, run, tool, trained


def _append(rel: str, text: str) -> Callable[[Path], None]:
    def change(root: Path) -> None:
        with (root / rel).open("a", encoding="utf-8") as fh:
            fh.write(text)

    return change


def _replace(rel: str, old: str, new: str) -> Callable[[Path], None]:
    def change(root: Path) -> None:
        path = root / rel
        text = path.read_text(encoding="utf-8")
        assert old in text
        path.write_text(text.replace(old, new), encoding="utf-8")
        commit_all(root, f"edit {rel}")

    return change


def _delete(rel: str) -> Callable[[Path], None]:
    return lambda root: (root / rel).unlink()


def _commit(change: Callable[[Path], None], message: str) -> Callable[[Path], None]:
    def both(root: Path) -> None:
        change(root)
        commit_all(root, message)

    return both


CASES: dict[str, tuple[Callable[[Path], None], bool]] = {
    # name: (what is done to a clean trained project, whether `dvc status` is then clean)
    "untouched": (lambda root: None, True),
    "a new file nobody tracks": (_append("data/raw/notes.txt", "hello\n"), True),
    "a tracked data file modified": (_append("data/raw/data.csv", "1,2,3\n"), False),
    "a pipeline output missing": (_delete("data/prepared/train.csv"), False),
    "a model output missing": (_delete("models/model.skops"), False),
    "a stage's code changed": (_commit(_append("src/prepare.py", "# x\n"), "code"), False),
    "a stage's params changed": (
        _replace("params.yaml", "test_size: 0.25", "test_size: 0.3"),
        False,
    ),
    "a stage's command changed": (
        _replace("dvc.yaml", "cmd: python src/evaluate.py", "cmd: python src/evaluate.py --x"),
        False,
    ),
    "an uncached output modified": (_append("models/environment.json", "\n"), False),
    "a metrics file modified": (_append("metrics/holdout.json", "\n"), False),
    "params outside the stage's keys changed": (
        _commit(_append("params.yaml", "unused: 1\n"), "params"),
        True,
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_the_verdict_is_dvc_status_s(
    case: str, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    root = copy_of(trained(tmp_path_factory), tmp_path)
    change, dvc_clean = CASES[case]
    change(root)
    dvc = json.loads(run([tool("dvc"), "status", "--json"], root) or "{}")
    assert (dvc == {}) is dvc_clean, dvc  # the case is what it says it is
    report = project_status(open_project(root))
    stale = [f.line for f in report.stale if f.area == "data"]
    assert (not stale) is dvc_clean, (stale, dvc)
    # Run twice: the second answer comes from the stat cache, and must be the same.
    again = project_status(open_project(root))
    assert [f.line for f in again.stale if f.area == "data"] == stale


def test_a_changed_stage_is_named_with_what_changed(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    root = copy_of(trained(tmp_path_factory), tmp_path)
    _commit(_append("src/train.py", "# x\n"), "code")(root)
    report = project_status(open_project(root))
    assert [f.line for f in report.stale] == [
        "stage train: modified src/train.py (since dvc.lock) -> dvc repro"
    ]


def test_a_data_set_already_reported_is_not_repeated_by_its_stages(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    root = copy_of(trained(tmp_path_factory), tmp_path)
    _append("data/raw/data.csv", "1,2,3\n")(root)
    report = project_status(open_project(root))
    assert [f.subject for f in report.stale] == ["raw"]
