"""`mlops model diff` (issue 18, part 1) beside what DVC shows of the same two versions.

A demo project (`mlops init`, `dvc repro`) gets two registered versions with recorded tests
(C=1.0, then C=0.5). Measured, whole processes, median of several runs, in the same run:

- `mlops model diff churn@v0.1.0 churn@v0.2.0 --json`: two records from git;
- `mlops model diff churn@v0.1.0 churn --json`: the workspace side hashes the model and
  its data as `model register` does;

beside the peer `dvc params diff` + `dvc metrics diff` between the same two tags, which
show params and metrics only. Target: no slower than the peer (<= 1.0x).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
from pathlib import Path

from common import Row, mlops_cmd, report, time_cmd

TARGET = 1.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    mlops = mlops_cmd()
    dvc = str(Path(mlops[0]).with_name("dvc")) if Path(mlops[0]).is_absolute() else "dvc"
    env = {**os.environ, "DVC_NO_ANALYTICS": "1", "NO_COLOR": "1"}
    for key in ("GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME"):
        env.setdefault(key, "bench")
    for key in ("GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL"):
        env.setdefault(key, "bench@example.invalid")
    with tempfile.TemporaryDirectory(prefix="mlops-bench-diff-") as tmp:
        env.setdefault("MLOPS_REMOTES_DIR", str(Path(tmp) / "remotes"))

        def sh(*cmd: str, cwd: Path) -> None:
            done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
            assert done.returncode == 0, f"{cmd}: {done.stderr[-2000:]}"

        sh(*mlops, "init", "demo", cwd=Path(tmp))
        demo = Path(tmp) / "demo"
        for c, version in (("1.0", "v0.1.0"), ("0.5", "v0.2.0")):
            params = demo / "params.yaml"
            params.write_text(params.read_text().replace("  C: 1.0 ", f"  C: {c} ", 1))
            sh(dvc, "repro", "-q", cwd=demo)
            sh("git", "add", "-A", cwd=demo)
            sh("git", "commit", "-q", "--allow-empty", "-m", f"train C={c}", cwd=demo)
            sh(*mlops, "model", "register", "demo", "--version", version, cwd=demo)
            sh(*mlops, "test", f"demo@{version}", "--record", cwd=demo)
        peer = sum(
            time_cmd([dvc, what, "diff", "demo@v0.1.0", "demo@v0.2.0"], runs=args.runs, cwd=demo)
            for what in ("params", "metrics")
        )
        name = "dvc params diff + metrics diff"
        for figure, b in (("two versions", "demo@v0.2.0"), ("a version and the workspace", "demo")):
            cmd = [*mlops, "model", "diff", "demo@v0.1.0", b, "--json"]
            measured = time_cmd(cmd, runs=args.runs, cwd=demo)
            report(Row("model diff", figure, measured, name, peer, "s", f"<= {TARGET}x",
                       measured / peer <= TARGET))  # fmt: skip


if __name__ == "__main__":
    main()
