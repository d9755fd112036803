"""Adopting an existing repository, from `mlops init --here` to `mlops test --image`.

Two projects go through the same flow:

* a real public scikit-learn project that keeps its code in `src/` and its data as CSV,
  one we did not write: jesrav/ml-devops-1 (a customer-churn project with a custom
  transformer, `src.modelling.custom_transformers.AddMeanWithinCategory`), at the last
  commit of its `src/` layout. None of its code is in this repository: the test clones it
  from the git directory `$MLOPS_REAL_REPO`, by default the mirror the session fetched,
  /work/.mirror/jesrav+ml-devops-1/repo (.ci/run sets MLOPS_REAL_REPO when that mirror is
  on the machine). Marker `realrepo`: without the mirror it is skipped, also in CI, with
  the reason (the one exemption from MLOPS_REQUIRE_ALL, see tests/conftest.py);
* a small project with a `src/` package built here, so CI always covers the capability.

The model is trained with the project's own code, so the image must ship that code.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import tree_bytes
from tests.required import unavailable

REAL_REPO_DEFAULT = "/work/.mirror/jesrav+ml-devops-1/repo"
REAL_REPO_COMMIT = "b7ee86fb7c3c422c73e07e823ddc613aeffc8b57"  # "Fixing import bug.", src/ layout

pytestmark = [pytest.mark.slow, pytest.mark.docker]


def sh(cmd: list[str], cwd: Path, **kw: Any) -> str:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600, **kw)
    assert proc.returncode == 0, f"{cmd} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def ok(run: Any, *args: str, cwd: Path, code: int = 0) -> Any:
    out = run(*args, cwd=cwd)
    assert out.exit_code == code, (
        f"mlops {' '.join(args)} -> {out.exit_code}\n{out.stdout}\n{out.stderr}"
    )
    return out


def _environment(root: Path) -> None:
    """What a training stage records: the package versions the model was trained with."""
    from importlib.metadata import version

    packages = {p: version(p) for p in ("scikit-learn", "skops", "numpy", "pandas", "scipy")}
    env = {"python": ".".join(map(str, sys.version_info[:3])), "packages": packages}
    (root / "models").mkdir(exist_ok=True)
    (root / "models" / "environment.json").write_text(json.dumps(env, indent=2) + "\n")


def _train(root: Path, script: str) -> None:
    """Run a training step the way the project's own scripts run: from its root, with the
    project's package importable from there."""
    path = root.parent / f"train-{root.name}.py"
    path.write_text(textwrap.dedent(script))
    sh([sys.executable, str(path)], cwd=root, env={**os.environ, "PYTHONPATH": str(root)})
    _environment(root)


def adopt(
    mlops: Any,
    root: Path,
    *,
    data: str,
    dataset: str,
    target: str,
    train: str,
    base_image: str,
    min_accuracy: float,
) -> dict[str, Any]:
    """The whole flow on the repository at `root`; returns what the test checks after."""
    readme = (root / "README.md").read_bytes()
    ignore = (root / ".gitignore").read_bytes()
    head = sh(["git", "rev-parse", "HEAD"], root).strip()
    before = tree_bytes(root)

    plan = ok(mlops, "init", "--here", "--template", "minimal", "--dry-run", cwd=root)
    assert "keep      README.md" in plan.stdout and "README.md.mlops-new" in plan.stdout
    assert "merge     .gitignore" in plan.stdout and "conflict" in plan.stdout
    assert tree_bytes(root) == before, "--dry-run changed the repository"

    # --overwrite names files; a bare init into a repository is refused, nothing changed.
    refused = mlops("init", ".", "--template", "minimal", "--defaults", cwd=root)
    assert refused.exit_code == 3 and "README.md" in refused.stderr
    assert tree_bytes(root) == before

    ok(mlops, "init", "--here", "--template", "minimal", "--defaults", cwd=root)
    assert (root / "README.md").read_bytes() == readme, "the user's README was changed"
    assert (root / "README.md.mlops-new").is_file()
    merged = (root / ".gitignore").read_bytes()
    assert merged.startswith(ignore) and len(merged) > len(ignore), "gitignore not merged"
    assert ".env" in merged.decode().splitlines()
    assert ".mlops/cache/" in merged.decode().splitlines()
    sh(["git", "merge-base", "--is-ancestor", head, "HEAD"], root)  # history kept
    assert (root / ".dvc").is_dir()
    again = mlops("init", "--here", "--template", "minimal", "--defaults", cwd=root)
    assert again.exit_code == 3 and "mlops.yaml" in again.stderr

    # The project's code is named once; the image base is the test machine's.
    with (root / "mlops.yaml").open("a") as fh:
        fh.write(f"\ncode:\n  path: src\n\nimage:\n  base: {base_image}\n")

    if data in sh(["git", "ls-files"], root).split():
        tracked = mlops("data", "add", data, "--dataset", dataset, "--infer-schema", cwd=root)
        assert tracked.exit_code == 3 and f"git rm --cached {data}" in tracked.stderr
        assert not (root / "schemas").exists()
        sh(["git", "rm", "-q", "--cached", data], root)
        sh(["git", "commit", "-qm", f"{data} moves to DVC"], root)
    folder = Path(data).parent.as_posix()
    if f"/{folder}/" in (root / ".gitignore").read_text().splitlines():
        # The repository ignores its data folder: the .dvc file would be ignored too.
        hidden = mlops("data", "add", data, "--dataset", dataset, "--infer-schema", cwd=root)
        assert hidden.exit_code == 3 and f"{data}.dvc would be ignored" in hidden.stderr
        assert not (root / "schemas").exists()
        text = (
            (root / ".gitignore")
            .read_text()
            .replace(f"/{folder}/\n", f"/{folder}/*\n!/{folder}/*.dvc\n!/{folder}/.gitignore\n")
        )
        (root / ".gitignore").write_text(text)
    out = ok(mlops, "data", "add", data, "--dataset", dataset, "--infer-schema", cwd=root)
    assert (root / "schemas" / f"{dataset}.yaml").is_file(), out.stderr

    _train(root, train)
    ok(
        mlops, "model", "add", "churn", "--path", "models/model.skops", "--data", dataset,
        "--task", "classification", "--target", target, cwd=root,
    )  # fmt: skip
    dup = mlops("model", "add", "churn", "--path", "models/model.skops", "--target", target,
                cwd=root)  # fmt: skip
    assert dup.exit_code == 3 and "already declared" in dup.stderr
    text = (root / "mlops.yaml").read_text()
    assert "# mlops.yaml: what this project holds" in text, "model add lost the comments"
    text = text.replace(
        f"    test_data: {dataset}\n",
        f"    test_data: {dataset}\n    tests:\n      metrics:\n"
        f"        accuracy: {{min: {min_accuracy}}}\n",
    )
    (root / "mlops.yaml").write_text(text)
    sh(["git", "add", "-A"], root)
    sh(["git", "commit", "-qm", "Train churn with the project's code"], root)

    ok(mlops, "model", "register", "churn", "--version", "v0.1.0", cwd=root)
    local = ok(mlops, "test", "churn", "--json", cwd=root).json()
    built = ok(mlops, "image", "build", "churn@v0.1.0", "--json", cwd=root).json()
    ref = built["result"]["refs"][0]
    image = ok(mlops, "test", "churn@v0.1.0", "--image", ref, "--json", cwd=root).json()
    record = (root / ".mlops" / "models").rglob("*.yaml")
    return {"local": local, "built": built, "image": image, "ref": ref, "records": list(record)}


def _check(result: dict[str, Any], docker_client: Any) -> None:
    for report in (result["local"], result["image"]):
        checks = {c["name"]: c for c in report["checks"]}
        assert checks["accuracy"]["passed"] is True, checks
    labels = docker_client.images.get(result["ref"]).labels
    assert labels["mlops.code.packages"] == "src"
    assert len(labels["mlops.code.sha256"]) == 64
    assert "code/" in " ".join(result["built"]["result"]["context_files"])
    texts = [p.read_text() for p in result["records"]]
    assert any(labels["mlops.code.sha256"] in t for t in texts), "record lacks the code hash"


REAL_TRAIN = """
import pandas as pd, skops.io as sio
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from src.modelling.custom_transformers import AddMeanWithinCategory  # the project's code

CATS = ["Gender", "Education_Level", "Marital_Status", "Income_Category", "Card_Category"]
df = pd.read_csv("data/bank_data.csv")
X, y = df.drop(columns=["Attrition_Flag"]), df["Attrition_Flag"]
drop = CATS + [c for c in X.columns if c.startswith("Unnamed") or c == "CLIENTNUM"]
model = Pipeline([
    ("means", AddMeanWithinCategory(CATS, "Total_Trans_Ct", [c + "_trans" for c in CATS])),
    ("select", ColumnTransformer([("drop", "drop", drop)], remainder="passthrough")),
    ("scale", StandardScaler()),
    ("classifier", LogisticRegression(max_iter=1000)),
])
model.fit(X, y)
sio.dump(model, "models/model.skops")
"""


@pytest.mark.realrepo
def test_adopt_a_real_public_repository(
    mlops: Any, tmp_path: Path, docker_env: Any, base_image: str
) -> None:
    source = os.environ.get("MLOPS_REAL_REPO")
    if source is None:
        if not Path(REAL_REPO_DEFAULT).is_dir():
            # Exempt from MLOPS_REQUIRE_ALL (tests/conftest.py): a fresh CI machine has no
            # mirror, and .ci/run sets MLOPS_REAL_REPO whenever this machine has one.
            pytest.skip(
                f"realrepo: no mirror of github.com/jesrav/ml-devops-1 at {REAL_REPO_DEFAULT}"
                " and MLOPS_REAL_REPO is not set"
            )
        source = REAL_REPO_DEFAULT
    elif not Path(source).is_dir():
        unavailable(f"MLOPS_REAL_REPO={source} is not a git repository or directory")
    root = tmp_path / "churn"
    sh(["git", "clone", "-q", source, str(root)], tmp_path)
    sh(["git", "checkout", "-q", "-b", "adopt", REAL_REPO_COMMIT], root)
    result = adopt(
        mlops, root, data="data/bank_data.csv", dataset="bank", target="Attrition_Flag",
        train=REAL_TRAIN, base_image=base_image, min_accuracy=0.85,
    )  # fmt: skip
    _check(result, docker_env)


SMALL_TRAIN = """
import pandas as pd, skops.io as sio
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from src.features import add_ratios  # the project's code

df = pd.read_csv("data/flowers.csv")
X, y = df.drop(columns=["species"]), df["species"]
model = make_pipeline(FunctionTransformer(add_ratios), LogisticRegression(max_iter=500))
model.fit(X, y)
sio.dump(model, "models/model.skops")
"""


def small_project(root: Path) -> Path:
    """An existing repository as users have them: its own README, a .gitignore that keeps
    .env out of git, a CI file, code in src/, data as CSV."""
    from sklearn.datasets import load_iris

    root.mkdir()
    (root / "README.md").write_text("# Flowers\n\n" + "Our own notes.\n" * 50)
    (root / ".gitignore").write_text(".env\n*.log\n__pycache__/\n")
    (root / ".env").write_text("API_TOKEN=not-a-real-secret\n")
    (root / ".github" / "workflows").mkdir(parents=True)
    (root / ".github" / "workflows" / "ci.yml").write_text("on: push\njobs: {}\n")
    (root / "src").mkdir()
    (root / "src" / "__init__.py").write_text("")
    (root / "src" / "features.py").write_text(
        "def add_ratios(df):\n"
        "    df = df.copy()\n"
        '    df["petal_ratio"] = df["petal_length"] / df["petal_width"]\n'
        "    return df\n"
    )
    frame = load_iris(as_frame=True).frame
    frame.columns = ["sepal_length", "sepal_width", "petal_length", "petal_width", "species"]
    frame["species"] = frame["species"].map(dict(enumerate(["setosa", "versicolor", "virginica"])))
    (root / "data").mkdir()
    frame.to_csv(root / "data" / "flowers.csv", index=False)
    sh(["git", "init", "-q"], root)
    sh(["git", "add", "-A"], root)
    sh(["git", "commit", "-qm", "Our project"], root)
    return root


def test_adopt_a_small_project_with_a_src_package(
    mlops: Any, tmp_path: Path, docker_env: Any, base_image: str
) -> None:
    root = small_project(tmp_path / "flowers")
    ci = (root / ".github" / "workflows" / "ci.yml").read_bytes()
    result = adopt(
        mlops, root, data="data/flowers.csv", dataset="flowers", target="species",
        train=SMALL_TRAIN, base_image=base_image, min_accuracy=0.9,
    )  # fmt: skip
    _check(result, docker_env)
    assert _served(root, "churn@v0.1.0") in ("setosa", "versicolor", "virginica")
    assert (root / ".github" / "workflows" / "ci.yml").read_bytes() == ci
    tracked = sh(["git", "ls-files"], root).split()
    assert ".env" not in tracked and "README.md.mlops-new" not in tracked


def _served(root: Path, spec: str) -> Any:
    """`mlops serve` imports the project's code as `mlops test` does: no PYTHONPATH."""
    import signal
    import socket
    import time
    import urllib.request

    from tests.conftest import mlops_bin

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.Popen(
        [*mlops_bin(), "serve", spec, "--port", str(port)],
        cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    record = {"sepal_length": 6.7, "sepal_width": 3.0, "petal_length": 5.2, "petal_width": 2.3}
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                request = urllib.request.Request(
                    f"http://127.0.0.1:{port}/predict",
                    data=json.dumps([record]).encode(),
                    headers={"content-type": "application/json"},
                )
                with urllib.request.urlopen(request, timeout=5) as resp:
                    return json.loads(resp.read())["predictions"][0]
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
                time.sleep(0.3)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.communicate(timeout=30)
        finally:
            proc.kill()


def test_a_model_needing_a_module_the_image_lacks_is_refused(
    mlops: Any, tmp_path: Path, docker_env: Any, base_image: str
) -> None:
    """Trained with a local module that is not the declared code: exit 3 naming it, no image."""
    root = small_project(tmp_path / "flowers")
    (root / "helpers").mkdir()
    (root / "helpers" / "__init__.py").write_text("def same(df):\n    return df\n")
    ok(mlops, "init", "--here", "--template", "minimal", "--defaults", cwd=root)
    with (root / "mlops.yaml").open("a") as fh:
        fh.write(f"\ncode:\n  path: src\n\nimage:\n  base: {base_image}\n")
    sh(["git", "rm", "-q", "--cached", "data/flowers.csv"], root)
    ok(mlops, "data", "add", "data/flowers.csv", "--infer-schema", cwd=root)
    _train(
        root,
        SMALL_TRAIN.replace(
            "from src.features import add_ratios", "from helpers import same as add_ratios"
        ),
    )
    ok(mlops, "model", "add", "m", "--path", "models/model.skops", "--data", "flowers",
       "--target", "species", cwd=root)  # fmt: skip
    # Not the declared code: skops refuses the type until the user trusts it by name.
    refused = mlops("test", "m", cwd=root)
    assert refused.exit_code == 4 and "helpers.same" in refused.stderr
    assert "not its declared code (code.path: src)" in refused.stderr
    text = (
        (root / "mlops.yaml")
        .read_text()
        .replace(
            "    test_data: flowers\n",
            "    test_data: flowers\n    trusted_types: [helpers.same]\n",
        )
    )
    (root / "mlops.yaml").write_text(text)
    # A repository may not trust a function outside its declared code (issue 13)...
    repo_only = mlops("image", "build", "m", cwd=root)
    assert repo_only.exit_code == 4 and "never functions" in repo_only.stderr
    # ...the local user may, outside the repository.
    config = Path(os.environ["XDG_CONFIG_HOME"]) / "mlops"
    config.mkdir(parents=True, exist_ok=True)
    (config / "trusted-types").write_text("helpers.same\n")
    out = mlops("image", "build", "m", cwd=root)
    assert out.exit_code == 3, out.stderr
    assert "module helpers" in out.stderr and "nothing was built" in out.stderr


def test_model_on_preprocessed_arrays_is_exit_3_naming_the_contract(
    mlops: Any, tmp_path: Path
) -> None:
    """A model trained on encoded arrays, tested on the raw columns: exit 3, not 70."""
    root = small_project(tmp_path / "flowers")
    ok(mlops, "init", "--here", "--template", "minimal", "--defaults", cwd=root)
    sh(["git", "rm", "-q", "--cached", "data/flowers.csv"], root)
    ok(mlops, "data", "add", "data/flowers.csv", "--infer-schema", cwd=root)
    _train(root, """
        import pandas as pd, joblib
        from sklearn.linear_model import LogisticRegression
        df = pd.read_csv("data/flowers.csv")
        X = df.drop(columns=["species"]).to_numpy()[:, :3]  # preprocessed: 3 of 4 columns
        joblib.dump(LogisticRegression(max_iter=500).fit(X, df["species"]), "models/m.joblib")
    """)  # fmt: skip
    ok(mlops, "model", "add", "m", "--path", "models/m.joblib", "--data", "flowers",
       "--target", "species", cwd=root)  # fmt: skip
    out = mlops("test", "m", "--trust", cwd=root)
    assert out.exit_code == 3, out.stderr
    assert "wrap preprocessing and estimator in one" in out.stderr
    assert "expects 3 feature(s)" in out.stderr
