"""The drift report in a real browser: headless Chromium (Debian's `chromium`) loads the
file with the network off, lays out every plot, and the page's own count of drawn bars
matches the histogram shares that are not zero."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from mlops_cli.monitor.drift import compare
from mlops_cli.monitor.report import render_html

GOLDEN = Path(__file__).parent / "golden"
needs_chromium = pytest.mark.skipif(shutil.which("chromium") is None, reason="no chromium")


def _doc(ref: Any, cur: Any) -> dict[str, Any]:
    result = compare(ref, cur, ref.columns)
    return {
        "model": "churn",
        "version": "v1.0.0",
        "reference": {
            "dataset": "train",
            "path": "data/t.csv",
            "md5": "a" * 32,
            "rows": ref.height,
        },
        "current": {"files": ["batch.csv"], "rows": cur.height},
        **result.to_dict(),
    }


def _bars(doc: dict[str, Any]) -> int:
    return sum(
        1
        for col in doc["columns"]
        for side in ("reference", "current")
        for share in col["histogram"].get(side, [])
        if share > 0
    )


def _dom(page: Path, tmp_path: Path) -> str:
    proc = subprocess.run(
        [
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--proxy-server=127.0.0.1:9",  # nothing may be fetched: no CDN, no fonts
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


@needs_chromium
def test_chromium_draws_every_bar_of_every_column(tmp_path: Path) -> None:
    ref = pl.read_csv(GOLDEN / "small_reference.csv")
    cur = pl.read_csv(GOLDEN / "small_current.csv")
    doc = _doc(ref, cur)
    page = tmp_path / "drift.html"
    page.write_text(render_html(doc), encoding="utf-8")
    dom = _dom(page, tmp_path)
    found = re.search(r'<body data-rendered="(\d+)"', dom)
    assert found, dom[:500]
    assert int(found.group(1)) == _bars(doc) > 50
    assert dom.count("<svg") == len(doc["columns"])
    # Drifted columns first, each with its verdict.
    headings = re.findall(r"<h2>([^:<]+):", dom)
    drifted = [c["column"] for c in doc["columns"] if c["drifted"]]
    assert headings[: len(drifted)] == drifted


def test_the_page_is_self_contained_and_escapes_the_data(tmp_path: Path) -> None:
    hostile = '<img src=x onerror="alert(1)">'
    ref = pl.DataFrame({hostile: ["a", "b"] * 50, "n": list(range(100))})
    cur = pl.DataFrame({hostile: ["<script>alert(2)</script>"] * 100, "n": list(range(100))})
    html = render_html(_doc(ref, cur))
    assert "<img" not in html and "<script>alert" not in html
    assert "&lt;img src=x" in html
    assert not re.search(r"(src|href)=[\"']?(https?:)?//", html)  # nothing to fetch
    assert html.count("<script>") == 1  # only the bar count
