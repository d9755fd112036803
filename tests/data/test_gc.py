"""`mlops gc` (data/gc.py) on a real trained project with real git, DVC and a local remote:
four registered versions, v0.1.0 in prod, the last two by semver, one unregistered retrain.

`gc --keep-last 2` keeps exactly what v0.1.0, v0.3.0, v0.4.0, the branch and the work tree
need and removes v0.2.0's model; every kept version then passes `mlops test` in a fresh
clone that pulls from the collected remote, and v0.2.0 no longer pulls. The same situation
under plain `dvc gc -w -f` loses the prod model (the protection is real).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from mlops_cli.data import gc as datagc
from mlops_cli.dvc.files import cache_dir, object_path
from mlops_cli.project.root import open_project
from tests.conftest import mlops_bin
from tests.modelproject import NAME, build_env, commit_all, run, tool, trained

MODEL = "models/model.skops"
VERSIONS = {"v0.1.0": None, "v0.2.0": 2.0, "v0.3.0": 4.0, "v0.4.0": 8.0}
_built: dict[str, Path] = {}


def _retrain(root: Path, c: float, env: dict[str, str]) -> None:
    params = root / "params.yaml"
    text = re.sub(r"(?m)^  C: [0-9.e-]+ ", f"  C: {c} ", params.read_text(), count=1)
    params.write_text(text)
    assert f"C: {c} " in params.read_text()
    run([tool("dvc"), "repro", "-q"], root, env)
    commit_all(root, f"retrain with C={c}", env)


def _model_md5(root: Path, rev: str) -> str:
    lock = subprocess.run(
        ["git", "-C", str(root), "show", f"{rev}:dvc.lock"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    found = re.search(r"path: models/model\.skops\n\s+hash: md5\n\s+md5: ([0-9a-f]{32})", lock)
    assert found, lock
    return found[1]


def scenario(factory: pytest.TempPathFactory) -> Path:
    """base/churn with its remote at base/store (a copy points at its own copy of it with
    `dvc remote modify --local`):
    v0.1.0..v0.4.0 registered, v0.1.0 in prod, a fifth model trained and committed, all
    pushed."""
    if "gc" not in _built:
        base = factory.mktemp("gc")
        env = build_env(base / "home")
        root = Path(shutil.copytree(trained(factory), base / NAME, symlinks=True))
        run([tool("dvc"), "remote", "add", "-d", "-f", "store", str(base / "store")], root, env)
        commit_all(root, "the shared remote", env)
        for version, c in VERSIONS.items():
            if c is not None:
                _retrain(root, c, env)
            run([*mlops_bin(), "model", "register", NAME, "--version", version], root, env)
            if version == "v0.1.0":
                run([*mlops_bin(), "test", f"{NAME}@v0.1.0", "--record"], root, env)
                run([*mlops_bin(), "model", "promote", NAME, "v0.1.0", "prod"], root, env)
        _retrain(root, 16.0, env)  # trained, committed, never registered
        run([*mlops_bin(), "data", "push"], root, env)
        _built["gc"] = root
    return _built["gc"]


@pytest.fixture
def project(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Path:
    src = scenario(tmp_path_factory)
    store = shutil.copytree(src.parent / "store", tmp_path / "store")
    root = Path(shutil.copytree(src, tmp_path / NAME, symlinks=True))
    run([tool("dvc"), "remote", "modify", "--local", "store", "url", str(store)], root)
    return root


def _models(root: Path) -> dict[str, str]:
    return {v: _model_md5(root, f"{NAME}@{v}") for v in VERSIONS}


def _cached(root: Path) -> set[str]:
    return {o.md5 for o in datagc.cache_objects(cache_dir(root))}


def _on_remote(root: Path) -> set[str]:
    return {o.md5 for o in datagc.cache_objects(root.parent / "store")}


def _dvc_keeps(root: Path, revs: list[str]) -> set[str]:
    """What DVC itself says these revisions need, as the test's oracle: one `dvc gc --rev REV
    --dry` per revision (its `--rev` takes one), each keeping what it does not remove."""
    present = _cached(root)
    keeps: set[str] = set()
    for rev in revs:
        proc = subprocess.run(
            [tool("dvc"), "gc", "--rev", rev, "--dry", "-f"], cwd=root, capture_output=True,
            text=True, check=False,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        removed = {"".join(Path(p).parts[-2:]) for p in re.findall(r"Removing (\S+)", proc.stdout)}
        assert removed <= present
        keeps |= present - removed
    return keeps


KEPT_REVS = ["HEAD", f"{NAME}@v0.1.0", f"{NAME}@v0.3.0", f"{NAME}@v0.4.0"]


def mlops_json(root: Path, *args: str, code: int = 0) -> dict[str, Any]:
    proc = subprocess.run(
        [*mlops_bin(), "-C", str(root), *args, "--json"], capture_output=True, text=True,
        timeout=600, check=False,
    )  # fmt: skip
    assert proc.returncode == code, proc.stdout + proc.stderr
    doc = json.loads(proc.stdout)
    assert isinstance(doc, dict)
    return doc


def test_dry_run_says_what_goes_and_why_the_rest_stays(project: Path) -> None:
    models = _models(project)
    before = _cached(project)
    doc = mlops_json(project, "gc", "--keep-last", "2", "--dry-run")
    result = doc["result"]
    assert doc["command"] == "gc" and result["dry_run"] is True
    kept = {v["version"]: v["why"] for v in result["versions"]}
    assert kept == {"v0.1.0": ["stage prod"], "v0.3.0": ["last 2"], "v0.4.0": ["last 2"]}
    removed = {o["md5"] for o in result["removed"]}
    assert models["v0.2.0"] in removed
    assert removed == before - _dvc_keeps(project, KEPT_REVS)
    why = {o["md5"]: o["kept_by"] for o in result["kept"]}
    assert any(w.startswith(f"{NAME}@v0.1.0") for w in why[models["v0.1.0"]])
    assert _cached(project) == before  # nothing removed


def test_gc_keeps_exactly_what_kept_versions_need(project: Path) -> None:
    models = _models(project)
    head_model = _model_md5(project, "HEAD")
    before = _cached(project)
    needed = _dvc_keeps(project, KEPT_REVS)  # what DVC says those revisions need
    result = datagc.gc(open_project(project), keep_last=2)
    after = _cached(project)
    assert after == needed
    assert {models[v] for v in ("v0.1.0", "v0.3.0", "v0.4.0")} | {head_model} <= after
    assert models["v0.2.0"] in {o.md5 for o in result.removed} == before - after
    # Nothing left to collect: a second run removes nothing.
    assert datagc.gc(open_project(project), keep_last=2).removed == []
    # --no-keep-stages --keep-last 1: prod's model goes too; the branch's stays.
    gone = datagc.gc(open_project(project), keep_last=1, keep_stages=False).removed
    assert {o.md5 for o in gone} == {models["v0.1.0"], models["v0.3.0"]}
    assert head_model in _cached(project) and models["v0.4.0"] in _cached(project)


def test_plain_dvc_gc_would_delete_the_prod_model(project: Path, tmp_path: Path) -> None:
    """The same situation, copied: `dvc gc -w -f` deletes what prod needs; mlops gc not."""
    prod = _models(project)["v0.1.0"]
    assert prod in _cached(project)
    copy = Path(shutil.copytree(project, tmp_path / "dvc-copy" / NAME, symlinks=True))
    proc = subprocess.run(
        [tool("dvc"), "gc", "-w", "-f"], cwd=copy, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert not object_path(cache_dir(copy), prod).exists()  # DVC lost the prod model
    datagc.gc(open_project(project), keep_last=2)
    assert object_path(cache_dir(project), prod).exists()  # mlops kept it


def test_remote_gc_then_every_kept_version_tests_from_a_fresh_clone(
    project: Path, tmp_path: Path
) -> None:
    models = _models(project)
    assert set(models.values()) <= _on_remote(project)
    doc = mlops_json(project, "gc", "--keep-last", "2", "--remote")
    remote = doc["result"]["remote"]
    assert remote["name"] == "store"
    assert [o["md5"] for o in remote["removed"]] == [models["v0.2.0"]]
    assert models["v0.2.0"] not in _on_remote(project)

    clone = tmp_path / "fresh" / NAME
    subprocess.run(["git", "clone", "-q", str(project), str(clone)], check=True)
    store = str(project.parent / "store")  # the remote just collected (not committed)
    run([tool("dvc"), "remote", "modify", "--local", "store", "url", store], clone)
    for version in ("v0.1.0", "v0.3.0", "v0.4.0"):
        subprocess.run(["git", "-C", str(clone), "checkout", "-q", f"{NAME}@{version}"], check=True)
        pulled = subprocess.run(
            [tool("dvc"), "pull", "-q"], cwd=clone, capture_output=True, text=True, check=False
        )
        assert pulled.returncode == 0, (version, pulled.stderr)
        tested = subprocess.run(
            [*mlops_bin(), "test", f"{NAME}@{version}"], cwd=clone, capture_output=True,
            text=True, timeout=600, check=False,
        )  # fmt: skip
        assert tested.returncode == 0, (version, tested.stdout, tested.stderr)
    subprocess.run(["git", "-C", str(clone), "checkout", "-q", f"{NAME}@v0.2.0"], check=True)
    lost = subprocess.run(
        [tool("dvc"), "pull", "-q"], cwd=clone, capture_output=True, text=True, check=False
    )
    assert lost.returncode != 0  # the one version not kept is gone from the remote


def test_nothing_is_removed_when_a_kept_record_does_not_parse(project: Path) -> None:
    rel = f".mlops/models/{NAME}/v0.1.0.yaml"
    (project / rel).write_text("model: [unclosed\n")
    commit_all(project, "a broken record")
    before = _cached(project)
    doc = mlops_json(project, "gc", "--keep-last", "0", code=3)
    assert "v0.1.0.yaml" in doc["error"]["message"]
    assert _cached(project) == before


def test_nothing_is_removed_when_a_kept_folder_listing_is_missing(project: Path) -> None:
    folder = project / "data" / "extra"
    folder.mkdir()
    (folder / "a.csv").write_text("x\n1\n")
    run([tool("dvc"), "add", "-q", "data/extra"], project)
    commit_all(project, "a tracked folder")
    listing = next(o for o in datagc.cache_objects(cache_dir(project)) if o.md5.endswith(".dir"))
    (cache_dir(project) / listing.path).unlink()
    before = _cached(project)
    doc = mlops_json(project, "gc", code=3)
    assert "listing of folder object" in doc["error"]["message"]
    assert _cached(project) == before


def _folder_only_on_remote(project: Path) -> tuple[datagc.CacheObject, bytes]:
    """data/extra tracked and pushed, then its listing deleted from the local cache."""
    folder = project / "data" / "extra"
    folder.mkdir()
    (folder / "a.csv").write_text("x\n1\n")
    run([tool("dvc"), "add", "-q", "data/extra"], project)
    commit_all(project, "a tracked folder")
    run([tool("dvc"), "push", "-q"], project)
    listing = next(o for o in datagc.cache_objects(cache_dir(project)) if o.md5.endswith(".dir"))
    data = (cache_dir(project) / listing.path).read_bytes()
    (cache_dir(project) / listing.path).unlink()
    return listing, data


def test_a_listing_missing_locally_is_fetched_from_the_remote(project: Path) -> None:
    listing, data = _folder_only_on_remote(project)
    doc = mlops_json(project, "gc", "--dry-run")
    fetched = cache_dir(project) / listing.path
    assert fetched.read_bytes() == data
    assert fetched.stat().st_mode & 0o777 == 0o444  # as DVC leaves its objects
    entry = json.loads(data)[0]["md5"]
    kept = {o["md5"] for o in doc["result"]["kept"]}
    assert {listing.md5, entry} <= kept
    status = subprocess.run(
        [tool("dvc"), "status", "-c", "data/extra.dvc"], cwd=project, capture_output=True,
        text=True, check=False,
    )  # fmt: skip
    assert status.returncode == 0 and "in sync" in status.stdout, status.stdout


def test_a_corrupt_listing_on_the_remote_is_not_used(project: Path) -> None:
    listing, data = _folder_only_on_remote(project)
    remote_copy = project.parent / "store" / listing.path
    remote_copy.chmod(0o644)
    remote_copy.write_bytes(data.replace(b"a.csv", b"b.csv"))
    before = _cached(project)
    doc = mlops_json(project, "gc", code=3)
    assert "listing of folder object" in doc["error"]["message"]
    assert not (cache_dir(project) / listing.path).exists()
    assert _cached(project) == before


def test_nothing_is_removed_when_the_remote_cannot_be_listed(project: Path) -> None:
    run([tool("dvc"), "remote", "add", "broken", "ssh://nobody@127.0.0.1:1/nowhere"], project)
    before = _cached(project)
    mlops_json(project, "gc", "--remote", "--remote-name", "broken", code=3)
    assert _cached(project) == before


def test_busy_while_another_mlops_holds_the_lock(project: Path) -> None:
    from mlops_cli.common.fs import repo_lock

    before = _cached(project)
    with repo_lock(project, "data add"):
        mlops_json(project, "gc", code=5)
    assert _cached(project) == before


_HOLD_DVC_LOCK = """
import sys, time
from dvc.repo import Repo
repo = Repo(sys.argv[1])
repo.lock.lock()
print("held", flush=True)
time.sleep(60)
"""


def test_busy_while_dvc_holds_its_own_lock(project: Path) -> None:
    """A `dvc add` or `dvc pull` running meanwhile could write an object no .dvc file names
    yet: gc waits for nobody and removes nothing (exit 5)."""
    import sys

    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_DVC_LOCK, str(project)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        before = _cached(project)
        doc = mlops_json(project, "gc", "--keep-last", "0", code=5)
        assert doc["error"]["exit_code"] == 5
        assert _cached(project) == before
    finally:
        holder.kill()
        holder.wait()


def test_other_tags_and_branches_keep_their_commits(project: Path) -> None:
    """A release tag or a branch at v0.2.0's commit keeps its model; registry tags do not."""
    models = _models(project)
    sha = subprocess.run(
        ["git", "-C", str(project), "rev-parse", f"{NAME}@v0.2.0^{{commit}}"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    for ref in (["tag", "release-1", sha], ["branch", "experiment", sha]):
        subprocess.run(["git", "-C", str(project), *ref], check=True)
        result = datagc.gc(open_project(project), keep_last=2, dry_run=True)
        assert models["v0.2.0"] not in {o.md5 for o in result.removed}
        assert ref[1] in result.revisions[sha]
        subprocess.run(["git", "-C", str(project), ref[0], "-D" if ref[0] == "branch" else "-d",
                        ref[1]], check=True, capture_output=True)  # fmt: skip
    result = datagc.gc(open_project(project), keep_last=2, dry_run=True)
    assert models["v0.2.0"] in {o.md5 for o in result.removed}


def test_legacy_layout_objects_are_collected_by_md5_too(project: Path) -> None:
    """DVC 2's objects at the cache's top level: one a kept version needs stays (by md5,
    whatever the layout), any other goes; DVC's in-flight temp copies are left alone."""
    cache = cache_dir(project)
    needed = _models(project)["v0.1.0"]
    kept = object_path(cache, needed, legacy=True)
    stray = object_path(cache, "ab" + "c" * 30, legacy=True)
    temp = cache / "files" / "md5" / "ab" / ".0123abcd.tmp"
    for path in (kept, stray, temp):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    result = datagc.gc(open_project(project), keep_last=2)
    assert kept.exists() and temp.exists() and not stray.exists()
    assert {"ab" + "c" * 30} <= {o.md5 for o in result.removed if o.legacy}
