"""bench/run_all.py keeps each script's rows apart, so rerunning one keeps the others."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"


def _run_all() -> ModuleType:
    sys.path.insert(0, str(BENCH))
    try:
        spec = importlib.util.spec_from_file_location("run_all", BENCH / "run_all.py")
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(BENCH))


def _row(bench: str, figure: str, measured: float, ok: bool) -> dict[str, object]:
    return {
        "benchmark": bench, "figure": figure, "measured": measured, "anchor_name": "peer",
        "anchor": 2.0, "unit": "s", "target": "<= 1x", "ok": ok, "ratio": measured / 2.0,
    }  # fmt: skip


def test_the_report_joins_every_stored_script_with_its_own_date(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_all = _run_all()
    monkeypatch.setattr(run_all, "RESULTS", tmp_path)
    for stem, date, row in (
        ("status", "2026-01-01 00:00 UTC", _row("status", "clean", 1.0, True)),
        ("hook", "2026-02-02 00:00 UTC", _row("hook", "after checkout", 3.0, False)),
    ):
        payload = {"date": date, "mode": "full", "load": "0.1 / 0.2", "rows": [row], "notes": ""}
        (tmp_path / f"{stem}.json").write_text(json.dumps(payload))
    (tmp_path / "status.json").write_text(
        json.dumps(
            {**json.loads((tmp_path / "status.json").read_text()), "notes": "| N | s |\n|---|---|"}
        )
    )
    report = run_all.render(run_all.stored(), ["image.py"])
    assert "| status.py | 2026-01-01 00:00 UTC | full | 0.1 / 0.2 |" in report
    assert "| hook.py | 2026-02-02 00:00 UTC |" in report
    assert "| status | clean | 1.000 s | peer | 2.000 s | 0.50 | <= 1x | PASS |" in report
    assert "| hook | after checkout | 3.000 s | peer | 2.000 s | 1.50 | <= 1x | MISS |" in report
    assert "| N | s |" in report
    assert "Scripts that failed to run: image.py." in report
    # BENCHMARKS order, whatever order the files were written in
    assert report.index("| status.py |") < report.index("| hook.py |")


def test_every_stored_result_names_a_script_that_exists() -> None:
    run_all = _run_all()
    for path in (BENCH / "results").glob("*.json"):
        assert f"{path.stem}.py" in run_all.BENCHMARKS, path
        assert (BENCH / f"{path.stem}.py").is_file()
