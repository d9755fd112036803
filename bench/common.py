"""Shared by the benchmarks: time whole processes, print a figure beside its anchor.

Every benchmark prints rows through `report`, and `run_all.py` collects them: each row is a
measured figure, the anchor measured in the same run, the ratio, the target, PASS/MISS.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROWS_ENV = "MLOPS_BENCH_ROWS"  # run_all.py sets it to a file; rows are appended as JSON lines


@dataclass
class Row:
    benchmark: str
    figure: str
    measured: float
    anchor_name: str
    anchor: float
    unit: str
    target: str
    ok: bool

    @property
    def ratio(self) -> float:
        return self.measured / self.anchor if self.anchor else float("inf")


@functools.cache
def compile_like_an_install() -> None:
    """Byte-compile mlops_cli once, as pip does when it installs the wheel. An editable
    install run with PYTHONDONTWRITEBYTECODE=1 (set on these machines) would otherwise
    recompile every mlops module in every measured process: ~14% of `mlops status`, a cost
    no installed user pays. The anchors (dvc, typer, pandera) were compiled by pip."""
    import compileall

    import mlops_cli

    compileall.compile_dir(Path(mlops_cli.__file__).parent, quiet=1)


def mlops_cmd() -> list[str]:
    compile_like_an_install()
    beside = Path(sys.executable).with_name("mlops")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("mlops")
    return [found] if found else [sys.executable, "-m", "mlops_cli"]


def time_cmd(cmd: list[str], *, runs: int, cwd: Path | None = None, warmup: int = 2) -> float:
    """Median wall time of a whole process, in seconds, after warm-up runs."""
    env = {**os.environ, "NO_COLOR": "1"}
    samples = []
    for i in range(warmup + runs):
        start = time.perf_counter()
        subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, check=True)
        if i >= warmup:
            samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def report(row: Row) -> None:
    verdict = "PASS" if row.ok else "MISS"
    print(
        f"{row.benchmark:<10} {row.figure:<34} {row.measured:9.3f} {row.unit:<3} "
        f"vs {row.anchor_name:<26} {row.anchor:9.3f} {row.unit:<3} "
        f"ratio {row.ratio:6.2f}  target {row.target:<10} {verdict}"
    )
    sink = os.environ.get(ROWS_ENV)
    if sink:
        with open(sink, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({**asdict(row), "ratio": row.ratio}) + "\n")


NOTES_ENV = "MLOPS_BENCH_NOTES"  # run_all.py sets it: Markdown printed under the report's table


def notes(markdown: str) -> None:
    """Add a paragraph (a curve, a profile summary) to the report, and print it."""
    print(markdown)
    sink = os.environ.get(NOTES_ENV)
    if sink:
        with open(sink, "a", encoding="utf-8") as fh:
            fh.write(markdown.rstrip() + "\n\n")
