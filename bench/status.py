"""`mlops status` on a clean project (no --remote) against `dvc status` in the same run.

Target: <= 0.33x `dvc status` (issue 14; issue 6 asked <= 0.3 s), for the view and for
`--json`. The project is scaffolded and trained here: `mlops init` + `dvc repro` + register
+ test --record + promote, all committed. mlops runs byte-compiled, as pip installs it
(common.compile_like_an_install); the warm-up runs include the one that validates
mlops.yaml and keeps it (status/snapshot.py), as every run after the first does not.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from common import Row, mlops_cmd, report, time_cmd

TARGET_RATIO = 0.33


def sh(cmd: list[str], cwd: Path) -> None:
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    os.environ.setdefault("DVC_NO_ANALYTICS", "1")
    # `dvc repro` runs `python` from PATH: the one that has this package and its deps.
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    for key, value in (
        ("GIT_AUTHOR_NAME", "bench"),
        ("GIT_AUTHOR_EMAIL", "bench@example.invalid"),
        ("GIT_COMMITTER_NAME", "bench"),
        ("GIT_COMMITTER_EMAIL", "bench@example.invalid"),
    ):
        os.environ.setdefault(key, value)
    dvc = str(Path(sys.executable).with_name("dvc"))
    with tempfile.TemporaryDirectory(prefix="mlops-bench-status-") as tmp:
        os.environ.setdefault("MLOPS_REMOTES_DIR", str(Path(tmp) / "remotes"))
        mlops = mlops_cmd()
        sh([*mlops, "init", "churn"], Path(tmp))
        project = Path(tmp) / "churn"
        sh([dvc, "repro"], project)
        sh(["git", "add", "-A"], project)
        sh(["git", "commit", "-qm", "train"], project)
        for cmd in (
            ["model", "register", "churn"],
            ["test", "churn@v0.0.1", "--record"],
            ["model", "promote", "churn", "v0.0.1", "prod"],
        ):
            sh([*mlops, *cmd], project)
        anchor = time_cmd([dvc, "status"], runs=args.runs, cwd=project)
        for figure, extra in (("", []), (" --json", ["--json"])):
            measured = time_cmd([*mlops, "status", *extra], runs=args.runs, cwd=project)
            report(
                Row(
                    "status",
                    f"mlops status{figure} (clean, no --remote)",
                    measured,
                    "dvc status",
                    anchor,
                    "s",
                    f"<= {TARGET_RATIO}x",
                    measured <= TARGET_RATIO * anchor,
                )
            )


if __name__ == "__main__":
    main()
