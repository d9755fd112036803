"""Run every benchmark in bench/ and print one report (issue 7 turns it into docs/)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = [
    "startup.py",
    "data_add.py",
    "image.py",
    "modeltests.py",
    "validate.py",
    "hook.py",
    "validate_memory.py",
    "status.py",
]


def main() -> int:
    with tempfile.NamedTemporaryFile(suffix=".jsonl", delete=False) as rows:
        sink = rows.name
    env = {**os.environ, "MLOPS_BENCH_ROWS": sink}
    failed = 0
    for name in BENCHMARKS:
        print(f"== {name}", flush=True)
        failed += (
            subprocess.run([sys.executable, str(HERE / name)], env=env, cwd=HERE).returncode != 0
        )
    print(f"\nrows written to {sink}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
