"""`mlops init --here` and `mlops model add` on real git and DVC: what is kept,
merged, written beside the user's files, and refused."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import tree_bytes


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(root), *args], capture_output=True, text=True, check=True
    ).stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """An existing repository: a long README, a .gitignore that keeps .env out, history."""
    root = tmp_path / "existing"
    root.mkdir()
    (root / "README.md").write_text("# Existing\n" + "line\n" * 200)
    (root / ".gitignore").write_text(".env\n*.log\n")
    (root / ".env").write_text("TOKEN=placeholder\n")
    (root / "train.py").write_text("print('train')\n")
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "first")
    return root


@pytest.fixture
def cli(mlops: Any) -> Any:
    """Real processes: DVC, run in-process, leaves its log handlers bound to the captured
    stream of the test that ran it."""

    def run(*args: str) -> Any:
        return mlops(*args)

    return run


def init_here(cli: Any, root: Path, *args: str) -> Any:
    return cli("-C", str(root), "init", "--here", "--template", "minimal", "--defaults", *args)


def test_dry_run_shows_the_plan_with_its_conflicts_and_changes_nothing(
    cli: Any, repo: Path
) -> None:
    before = tree_bytes(repo)
    out = init_here(cli, repo, "--dry-run")
    assert out.exit_code == 0, out.stderr
    assert "keep      README.md" in out.stdout and "README.md.mlops-new" in out.stdout
    assert "merge     .gitignore" in out.stdout
    assert "create    mlops.yaml" in out.stdout
    assert "1 conflict(s)" in out.stdout
    assert tree_bytes(repo) == before
    doc = init_here(cli, repo, "--dry-run", "--json").json()
    actions = {f["path"]: f for f in doc["result"]["files"]}
    assert actions["README.md"]["action"] == "keep"
    assert actions["README.md"]["written"] == "README.md.mlops-new"
    assert actions[".gitignore"]["action"] == "merge"


def test_adopt_keeps_history_readme_and_merges_gitignore(cli: Any, repo: Path) -> None:
    head = git(repo, "rev-parse", "HEAD").strip()
    readme = (repo / "README.md").read_bytes()
    ignore = (repo / ".gitignore").read_text()
    out = init_here(cli, repo)
    assert out.exit_code == 0, out.stderr
    assert (repo / "README.md").read_bytes() == readme
    assert (repo / "README.md.mlops-new").read_text().startswith("# existing")
    merged = (repo / ".gitignore").read_text()
    assert merged.startswith(ignore)
    lines = merged.splitlines()
    assert ".env" in lines and ".mlops/lock" in lines and "*.mlops-new" in lines
    assert git(repo, "rev-parse", "HEAD~1").strip() == head
    committed = git(repo, "show", "--name-only", "--format=", "HEAD").split()
    assert "mlops.yaml" in committed and ".gitignore" in committed
    assert "README.md" not in committed and "README.md.mlops-new" not in committed
    assert git(repo, "check-ignore", ".env").strip() == ".env"
    assert (repo / ".dvc" / "config").is_file()


def test_adopt_keeps_an_existing_dvc_setup_and_the_users_staged_work(cli: Any, repo: Path) -> None:
    subprocess.run(["dvc", "init", "-q"], cwd=repo, check=True)
    (repo / ".dvc" / "config").write_text(
        "[core]\n    remote = mine\n['remote \"mine\"']\n    url = /tmp/mine\n"
    )
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "dvc")
    config = (repo / ".dvc" / "config").read_bytes()
    (repo / "train.py").write_text("print('work in progress')\n")
    git(repo, "add", "train.py")
    out = init_here(cli, repo)
    assert out.exit_code == 0, out.stderr
    assert (repo / ".dvc" / "config").read_bytes() == config
    assert "remote" not in yaml.safe_load((repo / "mlops.yaml").read_text())
    assert "train.py" not in git(repo, "show", "--name-only", "--format=", "HEAD").split()
    assert git(repo, "diff", "--cached", "--name-only").split() == ["train.py"]


def test_overwrite_names_the_one_file_it_replaces(cli: Any, repo: Path) -> None:
    ignore = (repo / ".gitignore").read_text()
    out = init_here(cli, repo, "--overwrite", "README.md")
    assert out.exit_code == 0, out.stderr
    assert (repo / "README.md").read_text().startswith("# existing")
    assert not (repo / "README.md.mlops-new").exists()
    assert (repo / ".gitignore").read_text().startswith(ignore)


def test_plain_init_over_a_repository_is_refused_naming_the_files(cli: Any, repo: Path) -> None:
    before = tree_bytes(repo)
    out = cli("-C", str(repo), "init", ".", "--template", "minimal", "--defaults")
    assert out.exit_code == 3
    assert "README.md" in out.stderr and "--here" in out.stderr
    assert tree_bytes(repo) == before


def test_a_second_adopt_is_refused(cli: Any, repo: Path) -> None:
    assert init_here(cli, repo).exit_code == 0
    before = tree_bytes(repo)
    out = init_here(cli, repo)
    assert out.exit_code == 3 and "mlops.yaml" in out.stderr
    assert tree_bytes(repo) == before


def test_model_add_declares_keeps_comments_and_refuses_duplicates(cli: Any, repo: Path) -> None:
    assert init_here(cli, repo).exit_code == 0
    (repo / "mlops.yaml").write_text(
        (repo / "mlops.yaml")
        .read_text()
        .replace("datasets: {}", "datasets:\n  holdout:\n    path: data/holdout.csv  # ours")
    )
    out = cli("-C", str(repo), "model", "add", "churn", "--path", "models/model.skops",
              "--data", "holdout", "--target", "churned")  # fmt: skip
    assert out.exit_code == 0, out.stderr
    text = (repo / "mlops.yaml").read_text()
    assert "# ours" in text and "# mlops.yaml: what this project holds" in text
    model = yaml.safe_load(text)["models"]["churn"]
    assert model == {
        "path": "models/model.skops",
        "format": "skops",
        "task": "classification",
        "target": "churned",
        "train_data": ["holdout"],
        "test_data": "holdout",
    }
    before = text
    dup = cli("-C", str(repo), "model", "add", "churn", "--path", "m.joblib", "--target", "y")
    assert dup.exit_code == 3 and "already declared" in dup.stderr
    unknown = cli("-C", str(repo), "model", "add", "b", "--path", "m.skops", "--data", "nope",
                  "--target", "y")  # fmt: skip
    assert unknown.exit_code == 3 and "nope" in unknown.stderr
    no_format = cli("-C", str(repo), "model", "add", "c", "--path", "m.bin", "--target", "y")
    assert no_format.exit_code == 2 and "--format" in no_format.stderr
    assert (repo / "mlops.yaml").read_text() == before


def test_the_declared_code_is_imported_and_trusted(mlops: Any, repo: Path) -> None:
    """A skops model over a function of src/: refused (exit 4, saying to declare the code)
    until `code:` names it; then `mlops test` imports it without PYTHONPATH."""
    import os
    import sys

    (repo / "src").mkdir()
    (repo / "src" / "__init__.py").write_text("")
    (repo / "src" / "feats.py").write_text("def square(df):\n    return df ** 2\n")
    (repo / "data").mkdir()
    rows = "".join(f"{i},{i % 2}\n" for i in range(40))
    (repo / "data" / "d.csv").write_text("x,y\n" + rows)
    script = (
        "import pandas as pd, skops.io as sio\n"
        "from sklearn.linear_model import LogisticRegression\n"
        "from sklearn.pipeline import make_pipeline\n"
        "from sklearn.preprocessing import FunctionTransformer\n"
        "from src.feats import square\n"
        "df = pd.read_csv('data/d.csv')\n"
        "m = make_pipeline(FunctionTransformer(square), LogisticRegression())\n"
        "m.fit(df[['x']], df['y'])\n"
        "import os; os.makedirs('models', exist_ok=True)\n"
        "sio.dump(m, 'models/m.skops')\n"
    )
    subprocess.run([sys.executable, "-c", script], cwd=repo, check=True,
                   env={**os.environ, "PYTHONPATH": str(repo)})  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    assert mlops("init", "--here", "--template", "minimal", "--defaults", cwd=repo).exit_code == 0
    assert mlops("data", "add", "data/d.csv", "--infer-schema", cwd=repo, env=env).exit_code == 0
    added = mlops("model", "add", "m", "--path", "models/m.skops", "--data", "d", "--target", "y",
                  cwd=repo)  # fmt: skip
    assert added.exit_code == 0, added.stderr
    refused = mlops("test", "m", cwd=repo, env=env)
    assert refused.exit_code == 4, refused.stderr
    assert "src.feats.square" in refused.stderr and "code: {path: src}" in refused.stderr
    with (repo / "mlops.yaml").open("a") as fh:
        fh.write("\ncode:\n  path: src\n")
    passed = mlops("test", "m", cwd=repo, env=env)
    assert passed.exit_code == 0, passed.stderr
