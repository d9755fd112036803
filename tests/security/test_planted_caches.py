"""A clone is hostile: caches whose entries mlops believes without re-checking (parsed
version records by git blob id, the validated mlops.yaml) are never read from the
repository, where a clone can force-commit them (`git add -f .mlops/cache/...`)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from mlops_cli.common.fs import user_cache_dir
from mlops_cli.registry import recordcache
from mlops_cli.registry.records import parse_record, summary
from tests.modelproject import NAME, copy_of, weak

FORGED_SHA = "f" * 64


def _git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, check=True, capture_output=True, text=True
    ).stdout


def test_a_committed_record_cache_and_config_snapshot_are_not_believed(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, mlops: Any
) -> None:
    attacker = copy_of(weak(tmp_path_factory), tmp_path / "attacker")
    rel = f".mlops/models/{NAME}/v1.0.0.yaml"
    raw = (attacker / rel).read_bytes()
    real = parse_record(raw, rel)
    # The forged entry: the real record's blob id, mapped to other bytes' meaning.
    forged_raw = raw.replace(real.artifact["sha256"].encode(), FORGED_SHA.encode())
    forged = parse_record(forged_raw, rel)
    store = recordcache.RecordStore(attacker)
    store.put(recordcache.blob_id(raw), forged.to_dict(), summary(forged))
    store.close()
    planted = attacker / ".mlops/cache"
    planted.mkdir(parents=True, exist_ok=True)
    shutil.copy(user_cache_dir(attacker) / recordcache.FILE, planted / recordcache.FILE)
    # ... and a validated-config snapshot in which the project declares no model at all.
    assert mlops("status", "--json", cwd=attacker).exit_code in (0, 1)
    snap = json.loads((user_cache_dir(attacker) / "config.json").read_text())
    snap["config"][1]["models"] = ["D", {}]  # snapshot.encode: ["M", fields]
    (planted / "config.json").write_text(json.dumps(snap))
    _git(attacker, "add", "-f", ".mlops/cache")
    _git(attacker, "commit", "-qm", "caches")

    victim = tmp_path / "victim"
    _git(tmp_path, "clone", "-q", str(attacker), str(victim))
    assert (victim / ".mlops/cache" / recordcache.FILE).is_file()  # the plant arrived
    listed = mlops("model", "list", NAME, "--json", cwd=victim)
    assert listed.exit_code == 0, listed.stderr
    assert FORGED_SHA not in listed.stdout
    doc = json.loads(mlops("status", "--json", cwd=victim).stdout)
    assert [m["name"] for m in doc["models"]] == [NAME]
    # The user's own cache for the clone is elsewhere, and holds only what was parsed here.
    assert not str(user_cache_dir(victim)).startswith(str(victim))


def test_a_committed_validation_verdict_does_not_pass_bad_data(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, mlops: Any
) -> None:
    """The attack a CI job meets: a pull request whose data breaks its schema, with a
    force-committed validation cache that says those bytes passed. The victim's
    `mlops validate` (no --no-cache: the default a CI script writes) must read the data."""
    from mlops_cli.validation import cache as valcache

    attacker = copy_of(weak(tmp_path_factory), tmp_path / "attacker")
    data = attacker / "data/raw/data.csv"
    lines = data.read_text().splitlines()
    data.write_text("\n".join([lines[0] + ",surprise", *(f"{ln},1" for ln in lines[1:])]) + "\n")
    assert mlops("validate", "raw", cwd=attacker).exit_code == 1  # the attacker's own verdict
    # Forge it: every cached verdict the attacker's mlops wrote now says "passed", in the
    # repository's .mlops/cache/validation/ where earlier versions kept (and read) them.
    planted = attacker / ".mlops/cache/validation"
    if valcache.cache_dir(attacker).resolve() != planted.resolve():
        shutil.copytree(valcache.cache_dir(attacker), planted, dirs_exist_ok=True)
    forged = 0
    for entry in (planted / "results").rglob("*.json"):
        doc = json.loads(entry.read_text())
        doc.update(passed=True, failures=[])
        entry.write_text(json.dumps(doc))
        forged += 1
    assert forged
    _git(attacker, "add", "-f", "data/raw/data.csv", ".mlops/cache")
    _git(attacker, "commit", "-qm", "new data, and caches")

    victim = tmp_path / "victim"
    _git(tmp_path, "clone", "-q", str(attacker), str(victim))
    assert (victim / ".mlops/cache/validation/results").is_dir()  # the plant arrived
    run = mlops("validate", "raw", cwd=victim)
    assert run.exit_code == 1, run.stdout + run.stderr
    assert "surprise" in run.stdout + run.stderr
    hook = mlops("validate", "--hook", "data/raw/data.csv", cwd=victim)
    assert hook.exit_code == 1, hook.stdout + hook.stderr
    assert not str(valcache.cache_dir(victim)).startswith(str(victim))
