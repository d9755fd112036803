"""What an attacker who can push may do to a policed stage, and what the victim sees (issue
13 part 4): real git clones, real ssh-keygen keys, real signatures. The attacker forges a
passing record, adds their own principal to the signer group in mlops.yaml, signs with
their own key and tags the version into prod; the victim's allowed-signers file, which no
clone can write, does not list that key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from mlops_cli.registry import policy
from tests.modelproject import NAME, commit_all, copy_of, git, trained
from tests.required import unavailable
from tests.sshkeys import HAVE_SSH_KEYGEN, allowed_signers, keypair, signing

POLICY = """
policy:
  signers:
    release: [alice@example.com]
  stages:
    prod: {require: [test_record, promotion], signers: release}
"""


@pytest.fixture
def keys(tmp_path: Path) -> dict[str, Path]:
    if not HAVE_SSH_KEYGEN:
        unavailable("ssh-keygen is not installed")
    folder = tmp_path / "keys"
    folder.mkdir()
    return {who: keypair(folder, who) for who in ("alice", "mallory")}


def test_a_forged_promotion_from_a_clone_never_counts(
    cli: Any,
    tmp_path_factory: pytest.TempPathFactory,
    tmp_path: Path,
    keys: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    victim = copy_of(trained(tmp_path_factory), tmp_path / "victim")
    (victim / "mlops.yaml").write_text((victim / "mlops.yaml").read_text() + POLICY)
    commit_all(victim, "prod needs signatures by release")
    m = lambda *a: cli("-C", str(victim), *a)  # noqa: E731
    assert m("model", "register", NAME).exit_code == 0
    monkeypatch.setenv(
        policy.ALLOWED_SIGNERS_ENV,
        str(allowed_signers(tmp_path / "allowed", {"alice@example.com": keys["alice"]})),
    )

    # The attacker's clone: everything below is written there and fetched by the victim.
    origin = tmp_path / "origin.git"
    git(tmp_path, "clone", "-q", "--bare", str(victim), str(origin))
    attacker = tmp_path / "attacker"
    git(tmp_path, "clone", "-q", str(origin), str(attacker))
    config = attacker / "mlops.yaml"
    config.write_text(config.read_text().replace("[alice@example.com]", "[mallory@example.com]"))
    record_file = attacker / f".mlops/models/{NAME}/v0.0.1.yaml"
    record = yaml.safe_load(record_file.read_text())
    test_data = next(d for d in record["data"].values() if d["role"] == "test")
    record["tests"] = {
        "passed": True,
        "artifact_sha256": record["artifact"]["sha256"],
        "data_md5": test_data["md5"],
        "dataset": "holdout",
        "checks": [],
    }
    record_file.write_text(yaml.safe_dump(record, sort_keys=False))
    git(attacker, "add", "-A")
    git(attacker, *signing(keys["mallory"]), "commit", "-S", "-q", "-m", "tests passed")
    target = git(attacker, "rev-parse", f"{NAME}@v0.0.1^{{commit}}")
    message = f"Assigning stage prod to artifact {NAME} version v0.0.1\n\ngate: passed"
    git(attacker, *signing(keys["mallory"]), "tag", "-s", f"{NAME}#prod#1", "-m", message, target)
    git(attacker, "push", "-q", "origin", "HEAD:main", "--tags")

    git(victim, "pull", "-q", "--ff-only", str(origin), "main")
    git(victim, "fetch", "-q", str(origin), "--tags")
    assert m("model", "show", f"{NAME}#prod", "--json").json()["stages"] == ["prod"]  # as GTO

    status = m("status", "--check")
    assert status.exit_code == 1
    lines = [ln for ln in status.stderr.splitlines() if ln.startswith(f"{NAME}#prod:")]
    allowed = str(tmp_path / "allowed")
    assert any(
        f"policy: the promotion tag {NAME}#prod#1 is signed by a key that {allowed}" in ln
        for ln in lines
    ), lines
    assert any("the commit that recorded the tests" in ln and "does not list" in ln for ln in lines)
    assert any("its recorded tests do not cover 15 check(s)" in ln for ln in lines), lines

    # Nothing uses the forged stage: `NAME#STAGE` resolves only to what the policy accepts.
    tested = m("test", f"{NAME}#prod")
    assert tested.exit_code == 4
    assert f"{NAME}#prod is held by v0.0.1 ({NAME}#prod#1), but the policy of stage prod" in (
        tested.stderr
    )

    # Promoting anew is refused by the gate first, and --force does not skip the policy.
    out = m("model", "promote", NAME, "v0.0.1", "staging")
    assert out.exit_code == 1 and "do not cover 15 check(s)" in out.stderr
    git(victim, "tag", "-d", f"{NAME}#prod#1")
    forced = m("model", "promote", NAME, "v0.0.1", "prod", "--force", "--reason", "trust me")
    assert forced.exit_code == 1 and "the policy is not met" in forced.stderr
