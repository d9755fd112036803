"""`mlops test` as a whole process against a plain script computing the same metrics.

The project is the scaffolded sklearn-classifier, trained with `dvc repro`. Two figures:

* `mlops test` with the template's declared tests (schema validation, metric floors,
  output contract, invariance, 2 x 50 latency runs, size), i.e. what a user pays;
* `mlops test` with only the metric floors declared: the like-for-like cost of the tool
  (project and config loading, safe loading, the record, the report) over the plain script.

The anchor loads the model with skops (the same allow-list check as the template's
evaluate.py) and computes accuracy, balanced accuracy, macro f1 and ROC AUC on the holdout.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from common import Row, mlops_cmd, report, time_cmd

FULL_TARGET = 4.0
METRICS_ONLY_TARGET = 2.0

PLAIN = """
import pandas as pd
import skops.io as sio
from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score, roc_auc_score

path = "models/model.skops"
untrusted = sio.get_untrusted_types(file=path)
model = sio.load(path, trusted=untrusted)
data = pd.read_csv("data/prepared/holdout.csv")
x, y = data.drop(columns=["target"]), data["target"]
pred = model.predict(x)
proba = model.predict_proba(x)[:, 1]
scores = {
    "accuracy": accuracy_score(y, pred),
    "balanced_accuracy": balanced_accuracy_score(y, pred),
    "f1": f1_score(y, pred, average="macro"),
    "roc_auc": roc_auc_score(y, proba),
}
assert scores["accuracy"] > 0.85, scores
"""


def _tool(name: str) -> str:
    beside = Path(sys.executable).with_name(name)
    return str(beside) if beside.exists() else name


def scaffold(base: Path) -> Path:
    """A trained project: init, git, dvc, `dvc repro`, committed."""
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
    env.setdefault("GIT_AUTHOR_NAME", "bench")
    env.setdefault("GIT_AUTHOR_EMAIL", "bench@example.com")
    env.setdefault("GIT_COMMITTER_NAME", "bench")
    env.setdefault("GIT_COMMITTER_EMAIL", "bench@example.com")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"

    def sh(*cmd: str, cwd: Path) -> None:
        subprocess.run(cmd, cwd=cwd, env=env, check=True, capture_output=True)

    sh(*mlops_cmd(), "init", "churn", "--no-git", cwd=base)
    project = base / "churn"
    sh("git", "init", "-q", cwd=project)
    sh(_tool("dvc"), "init", "-q", cwd=project)
    sh(_tool("dvc"), "add", "-q", "data/raw/data.csv", cwd=project)
    sh(_tool("dvc"), "repro", "-q", cwd=project)
    sh("git", "add", "-A", cwd=project)
    sh("git", "commit", "-q", "-m", "trained", cwd=project)
    return project


def metrics_only(project: Path) -> Path:
    """A copy whose model declares only its metric floors."""
    copy = Path(shutil.copytree(project, project.parent / "metrics-only", symlinks=True))
    config = copy / "mlops.yaml"
    text = config.read_text()
    text = re.sub(r"\n      # Not worse.*?(?=\n# Container image)", "\n", text, flags=re.DOTALL)
    config.write_text(text)
    return copy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mlops-bench-") as tmp:
        project = scaffold(Path(tmp))
        (project / "plain.py").write_text(PLAIN)
        anchor = time_cmd([sys.executable, "plain.py"], runs=args.runs, cwd=project)
        lean = metrics_only(project)
        for figure, cwd, target in (
            ("mlops test (declared tests)", project, FULL_TARGET),
            ("mlops test (metric floors only)", lean, METRICS_ONLY_TARGET),
        ):
            measured = time_cmd([*mlops_cmd(), "-q", "test", "churn"], runs=args.runs, cwd=cwd)
            report(
                Row(
                    benchmark="modeltests",
                    figure=figure,
                    measured=measured,
                    anchor_name="skops load + sklearn metrics",
                    anchor=anchor,
                    unit="s",
                    target=f"<= {target}x",
                    ok=measured / anchor <= target,
                )
            )


if __name__ == "__main__":
    main()
