"""Run every benchmark in bench/ and write one report: docs/benchmarks.md.

Each row is a figure measured by a script, beside its anchor measured in the same run, the
ratio, the target and PASS/MISS. Nothing in the report is typed by hand.

    python bench/run_all.py            # the issues' full sizes (tens of minutes)
    python bench/run_all.py --quick    # smaller sizes, same scripts (a few minutes)
    python bench/run_all.py --only status.py   # rerun one script, keep the others' rows

Each script's rows are kept in bench/results/<script>.json with the date, mode and load of
the run that measured them, and the report is rendered from all of them: rerunning one
script replaces its rows only, and the report says when each was measured.
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
RESULTS = HERE / "results"
# script -> (arguments at full size, arguments for --quick)
BENCHMARKS: dict[str, tuple[list[str], list[str]]] = {
    "startup.py": ([], ["--runs", "11"]),
    "status.py": ([], ["--runs", "7"]),
    "hook.py": ([], ["--size-mb", "256", "--runs", "7"]),
    "validate.py": ([], ["--rows", "2000000", "--runs", "2"]),
    "validate_memory.py": ([], ["--size-mb", "512", "--bound-mb", "256"]),
    "validate_scale.py": ([], ["--scale", "0.1", "--runs", "1"]),
    "data_add.py": ([], ["--size-mb", "512", "--cold-runs", "2", "--noop-runs", "5"]),
    "data_add_files.py": (
        ["--files", "100000", "--cold-runs", "2", "--noop-runs", "3"],
        ["--files", "10000", "--cold-runs", "3", "--noop-runs", "5"],
    ),
    "modeltests.py": ([], ["--runs", "3"]),
    "image.py": ([], []),
    "registry.py": (
        ["--sizes", "10,100,1000,10000", "--gto-timeout", "120"],
        ["--sizes", "10,100,1000", "--runs", "3"],
    ),
    "serving.py": ([], ["--requests", "100"]),
    "model_diff.py": ([], ["--runs", "3"]),
    "drift.py": ([], ["--rows", "200000", "--big-rows", "1000000", "--runs", "1"]),
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


def render(results: dict[str, dict[str, object]], failed: list[str]) -> str:
    lines = [
        "# Benchmarks",
        "",
        "Written by `python bench/run_all.py` (`make bench`) from `bench/results/`; do not edit",
        "by hand. Each figure is measured beside its anchor in the same run on the same machine.",
        "",
        f"- machine: {machine()}",
        f"- python: {platform.python_version()}",
        "",
        "| script | measured at | mode | load average (1 min) at start / end |",
        "|---|---|---|---|",
    ]
    for name, res in results.items():
        lines.append(f"| {name} | {res['date']} | {res['mode']} | {res['load']} |")
    lines += [
        "",
        "Other work on the machine skews ratios; the load average says how quiet it was.",
        "",
        "| benchmark | figure | measured | anchor | anchor value | ratio | target | result |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for res in results.values():
        for r in res["rows"]:  # type: ignore[attr-defined]
            unit = r["unit"]
            lines.append(
                f"| {r['benchmark']} | {r['figure']} | {float(r['measured']):.3f} {unit} "
                f"| {r['anchor_name']} | {float(r['anchor']):.3f} {unit} "
                f"| {float(r['ratio']):.2f} | {r['target']} | {'PASS' if r['ok'] else 'MISS'} |"
            )
    notes = [res["notes"] for res in results.values() if res.get("notes")]
    for note in notes:
        lines += ["", str(note).rstrip()]
    if failed:
        lines += ["", "Scripts that failed to run: " + ", ".join(failed) + "."]
    return "\n".join(lines) + "\n"


def stored() -> dict[str, dict[str, object]]:
    """Every script's last stored result, in BENCHMARKS order."""
    out: dict[str, dict[str, object]] = {}
    for name in BENCHMARKS:
        path = RESULTS / (Path(name).stem + ".json")
        if path.is_file():
            out[name] = json.loads(path.read_text(encoding="utf-8"))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer runs")
    parser.add_argument("--only", nargs="*", help="run only these scripts")
    parser.add_argument("--no-report", action="store_true", help="print, do not write docs/")
    args = parser.parse_args()
    failed = []
    fresh: list[dict[str, object]] = []
    for name, (full, quick) in BENCHMARKS.items():
        if args.only and name not in args.only:
            continue
        print(f"== {name}", flush=True)
        with tempfile.NamedTemporaryFile(suffix=".jsonl", delete=False) as sink:
            rows_file = Path(sink.name)
        # MLOPS_BENCH_NOTES: a file a script may write a Markdown paragraph into (curves,
        # profiles) that the report prints under the table.
        notes_file = rows_file.with_suffix(".md")
        env = {
            **os.environ,
            "MLOPS_BENCH_ROWS": str(rows_file),
            "MLOPS_BENCH_NOTES": str(notes_file),
        }
        started = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        load_start = os.getloadavg()[0]
        cmd = [sys.executable, str(HERE / name), *(quick if args.quick else full)]
        code = subprocess.run(cmd, env=env, cwd=HERE).returncode
        rows = [json.loads(line) for line in rows_file.read_text().splitlines() if line.strip()]
        rows_file.unlink()
        notes = notes_file.read_text(encoding="utf-8") if notes_file.is_file() else ""
        notes_file.unlink(missing_ok=True)
        if code != 0:
            failed.append(name)
            continue
        result = {
            "date": started,
            "mode": "quick" if args.quick else "full",
            "load": f"{load_start:.1f} / {os.getloadavg()[0]:.1f}",
            "rows": rows,
            "notes": notes,
        }
        fresh.extend(rows)
        if not args.no_report:
            RESULTS.mkdir(exist_ok=True)
            out = RESULTS / (Path(name).stem + ".json")
            tmp = out.with_suffix(".tmp")
            tmp.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
            tmp.replace(out)
    if not args.no_report:
        REPORT.write_text(render(stored(), failed), encoding="utf-8")
        print(f"\nwrote {REPORT}")
    rows = fresh
    misses = [r for r in rows if not r["ok"]]
    passed = len(rows) - len(misses)
    print(f"{len(rows)} figures, {passed} PASS, {len(misses)} MISS; {len(failed)} failed to run")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
