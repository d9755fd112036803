"""Peak memory of `mlops validate` on a CSV several times larger than the memory it may use
(issue 3: record it for a 5 GB file in docs/benchmarks.md).

The memory bound is turned into a chunk size: the libraries take ~250 MB, validating takes
~100 MB plus ~5x the chunk size, so MLOPS_VALIDATE_CHUNK_MB = (bound - 350) / 6. The figure is
the peak RSS of the whole `mlops` process (its maxrss from wait4), against the bound. The
data is valid, with a unique id column, so uniqueness is checked across every chunk.

    python bench/validate_memory.py                      # 5 GB CSV, 1 GB bound
    python bench/validate_memory.py --size-mb 1024 --bound-mb 512
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time
from pathlib import Path

from bigcsv import SCHEMA, write_csv
from common import Row, mlops_cmd, report

CONFIG = """\
schema_version: 1
project: bench
datasets:
  big: {path: data/big.csv, schema: schemas/big.yaml}
"""


def peak_rss(cmd: list[str], *, cwd: Path, env: dict[str, str]) -> tuple[float, float, int]:
    """(peak RSS in MB, seconds, exit code) of one whole process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_maxrss / 1024, time.perf_counter() - start, proc.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=float, default=5120)
    parser.add_argument("--bound-mb", type=float, default=1024)
    parser.add_argument("--dir", type=Path, default=None, help="where to write the data")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mlops-bench-memory-", dir=args.dir) as tmp:
        folder = Path(tmp)
        rows = write_csv(folder / "data" / "big.csv", args.size_mb)
        (folder / "schemas").mkdir()
        (folder / "schemas" / "big.yaml").write_text(SCHEMA)
        (folder / "mlops.yaml").write_text(CONFIG)
        size = (folder / "data" / "big.csv").stat().st_size / 2**20
        chunk_mb = max(8.0, (args.bound_mb - 350) / 6)
        env = {**os.environ, "MLOPS_VALIDATE_CHUNK_MB": f"{chunk_mb:.0f}"}
        cmd = [*mlops_cmd(), "validate", "big", "--no-cache"]
        rss, seconds, code = peak_rss(cmd, cwd=folder, env=env)
        if code != 0:
            raise SystemExit(f"mlops validate exited {code}")
        print(
            f"validated {size:,.0f} MB ({rows:,} rows) in {seconds:.1f} s with"
            f" {chunk_mb:.0f} MB chunks: peak RSS {rss:,.0f} MB"
        )
        figure = f"peak RSS, {size:,.0f} MB CSV"
        ok = rss <= args.bound_mb
        report(Row("memory", figure, rss, "memory bound", args.bound_mb, "MB", "<= 1.0x", ok))


if __name__ == "__main__":
    main()
