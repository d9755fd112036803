"""Run every benchmark in bench/ and write one report: docs/benchmarks.md.

Each row is a figure measured by a script, beside its anchor measured in the same run, the
ratio, the target and PASS/MISS. Nothing in the report is typed by hand.

    python bench/run_all.py            # the issues' full sizes (tens of minutes)
    python bench/run_all.py --quick    # smaller sizes, same scripts (a few minutes)
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPORT = HERE.parent / "docs" / "benchmarks.md"
# script -> (arguments at full size, arguments for --quick)
BENCHMARKS: dict[str, tuple[list[str], list[str]]] = {
    "startup.py": ([], ["--runs", "11"]),
    "status.py": ([], ["--runs", "7"]),
    "hook.py": ([], ["--size-mb", "256", "--runs", "7"]),
    "validate.py": ([], ["--rows", "2000000", "--runs", "2"]),
    "validate_memory.py": ([], ["--size-mb", "512", "--bound-mb", "256"]),
    "data_add.py": ([], ["--size-mb", "512", "--cold-runs", "2", "--noop-runs", "5"]),
    "modeltests.py": ([], ["--runs", "3"]),
    "image.py": ([], []),
}


def machine() -> str:
    mem = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kib / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    cpu = ""
    try:
        names = [ln for ln in Path("/proc/cpuinfo").read_text().splitlines() if "model name" in ln]
        cpu = names[0].split(":", 1)[1].strip() if names else ""
    except OSError:
        pass
    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores{mem}, {cpu}".strip(
        ", "
    )


def render(
    rows: list[dict[str, object]], failed: list[str], quick: bool, started: str, load: str
) -> str:
    mode = "quick (`--quick`: smaller sizes)" if quick else "full sizes"
    lines = [
        "# Benchmarks",
        "",
        "Written by `python bench/run_all.py` (`make bench`); do not edit by hand. Each figure is",
        "measured beside its anchor in the same run on the same machine.",
        "",
        f"- date: {started}",
        f"- machine: {machine()}",
        f"- python: {platform.python_version()}",
        f"- mode: {mode}",
        f"- load average (1 min) at start and end: {load} (other work on the machine skews ratios)",
        "",
        "| benchmark | figure | measured | anchor | anchor value | ratio | target | result |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        unit = r["unit"]
        lines.append(
            f"| {r['benchmark']} | {r['figure']} | {float(r['measured']):.3f} {unit} "
            f"| {r['anchor_name']} | {float(r['anchor']):.3f} {unit} "
            f"| {float(r['ratio']):.2f} | {r['target']} | {'PASS' if r['ok'] else 'MISS'} |"
        )
    if failed:
        lines += ["", "Scripts that failed to run: " + ", ".join(failed) + "."]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer runs")
    parser.add_argument("--only", nargs="*", help="run only these scripts")
    parser.add_argument("--no-report", action="store_true", help="print, do not write docs/")
    args = parser.parse_args()
    started = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    load_start = os.getloadavg()[0]
    with tempfile.NamedTemporaryFile(suffix=".jsonl", delete=False) as sink:
        rows_file = Path(sink.name)
    env = {**os.environ, "MLOPS_BENCH_ROWS": str(rows_file)}
    failed = []
    for name, (full, quick) in BENCHMARKS.items():
        if args.only and name not in args.only:
            continue
        print(f"== {name}", flush=True)
        cmd = [sys.executable, str(HERE / name), *(quick if args.quick else full)]
        if subprocess.run(cmd, env=env, cwd=HERE).returncode != 0:
            failed.append(name)
    rows = [json.loads(line) for line in rows_file.read_text().splitlines() if line.strip()]
    rows_file.unlink()
    load = f"{load_start:.1f} / {os.getloadavg()[0]:.1f}"
    report = render(rows, failed, args.quick, started, load)
    if not args.no_report:
        REPORT.write_text(report, encoding="utf-8")
        print(f"\nwrote {REPORT}")
    misses = [r for r in rows if not r["ok"]]
    passed = len(rows) - len(misses)
    print(f"{len(rows)} figures, {passed} PASS, {len(misses)} MISS; {len(failed)} failed to run")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
