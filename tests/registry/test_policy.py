"""Stage policies (issue 13 part 4): signatures made with real ssh-keygen keys and real
`git commit -S` / `git tag -s` (gpg.format=ssh), verified against an allowed-signers file
that only the local user or the CI provides, never the repository."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from mlops_cli.project.root import open_project
from mlops_cli.registry import policy
from mlops_cli.registry import records as registry
from mlops_cli.status.status import project_status
from tests.modelproject import NAME, commit_all, git, run_in, tags
from tests.required import unavailable
from tests.sshkeys import HAVE_SSH_KEYGEN, allowed_signers, keypair, signing


@pytest.fixture
def keys(tmp_path: Path) -> dict[str, Path]:
    if not HAVE_SSH_KEYGEN:
        unavailable("ssh-keygen is not installed")
    folder = tmp_path / "keys"
    folder.mkdir()
    return {who: keypair(folder, who) for who in ("alice", "mallory", "eve")}


@pytest.fixture
def allowed(tmp_path: Path, keys: dict[str, Path]) -> Path:
    """alice and mallory are known signers; eve is not; only alice is in the group."""
    known = {f"{who}@example.com": keys[who] for who in ("alice", "mallory")}
    return allowed_signers(tmp_path / "allowed_signers", known)


def with_policy(project: Path, require: str) -> None:
    text = (project / "mlops.yaml").read_text()
    (project / "mlops.yaml").write_text(
        text + "\npolicy:\n  signers:\n    release: [alice@example.com]\n"
        f"  stages:\n    prod: {{require: [{require}], signers: release}}\n"
    )
    commit_all(project, f"policy: prod needs {require}")


def resign_last_commit(project: Path, key: Path | None) -> str:
    """Make the last commit again (same tree), signed with `key` (None: unsigned)."""
    message = git(project, "log", "-1", "--format=%B")
    git(project, "reset", "-q", "--soft", "HEAD~1")
    extra = [*signing(key), "commit", "-S"] if key else ["commit"]
    git(project, *extra, "-q", "-m", message)
    return git(project, "rev-parse", "HEAD")


def registered_and_tested(cli: Any, project: Path, require: str) -> Any:
    m = run_in(cli, project)
    with_policy(project, require)
    assert m("model", "register", NAME).exit_code == 0
    out = m("test", f"{NAME}@v0.0.1", "--record")
    assert out.exit_code == 0, out.stderr
    return m


def test_promote_needs_the_test_record_signed_by_the_group(
    cli: Any, project: Path, keys: dict[str, Path], allowed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(policy.ALLOWED_SIGNERS_ENV, str(allowed))
    m = registered_and_tested(cli, project, "test_record")
    recorded = git(project, "rev-parse", "HEAD")

    out = m("model", "promote", NAME, "v0.0.1", "prod")
    assert out.exit_code == 1
    assert (
        f"the policy is not met: the commit that recorded the tests ({recorded[:10]}) is not"
        " signed" in out.stderr
    )
    assert m("model", "promote", NAME, "v0.0.1", "prod", "--force", "--reason", "x").exit_code == 1

    signed = resign_last_commit(project, keys["mallory"])
    out = m("model", "promote", NAME, "v0.0.1", "prod")
    assert out.exit_code == 1
    assert (
        f"({signed[:10]}) is signed by mallory@example.com, who is not in signer group release"
        in out.stderr
    )
    resign_last_commit(project, keys["eve"])
    out = m("model", "promote", NAME, "v0.0.1", "prod")
    assert out.exit_code == 1 and f"is signed by a key that {allowed} does not list" in out.stderr
    assert tags(project) == [f"{NAME}@v0.0.1"]

    resign_last_commit(project, keys["alice"])
    out = m("model", "promote", NAME, "v0.0.1", "prod")
    assert out.exit_code == 0, out.stderr
    assert m("model", "promote", NAME, "v0.0.1", "staging").exit_code == 0  # no policy there


def test_an_image_commit_on_top_of_the_signed_record_keeps_it_signed(
    cli: Any, project: Path, keys: dict[str, Path], allowed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlops_cli.registry import records as registry

    monkeypatch.setenv(policy.ALLOWED_SIGNERS_ENV, str(allowed))
    registered_and_tested(cli, project, "test_record")
    signed = resign_last_commit(project, keys["alice"])
    registry.add_image(open_project(project), NAME, "v0.0.1", {"ref": "x/y:1", "digest": None})
    assert git(project, "rev-parse", "HEAD") != signed
    assert policy.recording_commit(project, NAME, "v0.0.1") == signed
    assert policy.check_policy(open_project(project), NAME, "v0.0.1", "prod") == []
    # The tests edited in an unsigned commit: that commit is now the one that recorded them.
    record = project / f".mlops/models/{NAME}/v0.0.1.yaml"
    data = yaml.safe_load(record.read_text())
    data["tests"]["ran"] = "2020-01-01T00:00:00Z"
    record.write_text(yaml.safe_dump(data, sort_keys=False))
    commit_all(project, "edit the tests by hand")
    [reason] = policy.check_policy(open_project(project), NAME, "v0.0.1", "prod")
    assert reason.endswith("is not signed")


def test_the_repositorys_own_git_config_names_no_signers(
    cli: Any, project: Path, keys: dict[str, Path], allowed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(policy.ALLOWED_SIGNERS_ENV, raising=False)
    m = registered_and_tested(cli, project, "test_record")
    resign_last_commit(project, keys["alice"])
    git(project, "config", "gpg.ssh.allowedSignersFile", str(allowed))  # .git/config
    out = m("model", "promote", NAME, "v0.0.1", "prod")
    assert out.exit_code == 1 and "no allowed-signers file is configured" in out.stderr

    # A repository's .git/config cannot narrow or swap the list either: the command line
    # wins. Point the local one at an empty file; the global one is what counts.
    empty = project.parent / "empty_signers"
    empty.write_text("")
    git(project, "config", "gpg.ssh.allowedSignersFile", str(empty))
    git(project, "config", "--global", "gpg.ssh.allowedSignersFile", str(allowed))
    out = m("model", "promote", NAME, "v0.0.1", "prod")
    assert out.exit_code == 0, out.stderr


def test_an_allowed_signers_file_in_the_repository_is_refused(
    cli: Any, project: Path, keys: dict[str, Path], allowed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The repository being verified cannot vouch for itself: a list inside it (or a
    relative path, read from it) is refused with exit 4, as `mlops model verify` does."""
    m = registered_and_tested(cli, project, "test_record")
    resign_last_commit(project, keys["alice"])
    planted = project / "allowed_signers"
    planted.write_text(allowed.read_text())
    for path in (str(planted), "allowed_signers"):
        monkeypatch.setenv(policy.ALLOWED_SIGNERS_ENV, path)
        out = m("model", "promote", NAME, "v0.0.1", "prod")
        assert out.exit_code == 4, out.stderr
        assert "the allowed signers file" in out.stderr
    assert tags(project) == [f"{NAME}@v0.0.1"]
    monkeypatch.setenv(policy.ALLOWED_SIGNERS_ENV, str(allowed))
    assert m("model", "promote", NAME, "v0.0.1", "prod").exit_code == 0
    monkeypatch.setenv(policy.ALLOWED_SIGNERS_ENV, str(planted))
    findings = [f.problem for f in project_status(open_project(project)).stale]
    assert any(
        p.startswith("v0.0.1: policy: not checked: the allowed signers file")
        and "inside the repository being verified" in p
        for p in findings
    ), findings


def test_a_stage_tag_must_be_signed_where_the_policy_asks(
    cli: Any, project: Path, keys: dict[str, Path], allowed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(policy.ALLOWED_SIGNERS_ENV, str(allowed))
    m = registered_and_tested(cli, project, "promotion")
    out = m("model", "promote", NAME, "v0.0.1", "prod")
    assert out.exit_code == 1
    assert "requires a promotion tag signed by release" in out.stderr
    assert f"git tag -s '{NAME}#prod#1'" in out.stderr  # the hint: how to sign it yourself
    commit = git(project, "rev-parse", f"{NAME}@v0.0.1^{{commit}}")
    message = f"Assigning stage prod to artifact {NAME} version v0.0.1"

    def prod_findings() -> list[str]:
        report = project_status(open_project(project))
        return [f.problem for f in report.stale if f.subject == f"{NAME}#prod"]

    # An annotated, unsigned tag (as `gto assign` or `git tag -a` make): in prod as GTO
    # reads it, but never a promotion the policy accepts.
    git(project, "tag", "-a", f"{NAME}#prod#1", "-m", message, commit)
    assert f"v0.0.1: policy: the promotion tag {NAME}#prod#1 is not signed" in prod_findings()
    assert m("status", "--check").exit_code == 1
    git(project, "tag", "-d", f"{NAME}#prod#1")

    # A lightweight tag carries no signature and is not counted at all.
    git(project, "tag", f"{NAME}#prod#1", commit)
    assert prod_findings() == []
    assert m("model", "show", f"{NAME}#prod").exit_code == 3
    git(project, "tag", "-d", f"{NAME}#prod#1")

    # Signed by mallory (a known signer, not in the group), then by alice.
    git(project, *signing(keys["mallory"]), "tag", "-s", f"{NAME}#prod#1", "-m", message, commit)
    assert any("signed by mallory@example.com, who is not in" in p for p in prod_findings())
    git(project, "tag", "-d", f"{NAME}#prod#1")
    git(project, *signing(keys["alice"]), "tag", "-s", f"{NAME}#prod#1", "-m", message, commit)
    assert not any("policy" in p for p in prod_findings())
    assert registry.resolve(open_project(project), f"{NAME}#prod").version == "v0.0.1"
    shown = m("model", "show", f"{NAME}#prod", "--json").json()
    assert shown["stages"] == ["prod"]
    assert any("was not made by `mlops model promote`" in w for w in shown["warnings"])


def test_policy_names_known_stages_and_groups(project: Path, cli: Any) -> None:
    text = (project / "mlops.yaml").read_text()
    (project / "mlops.yaml").write_text(
        text + "\npolicy:\n  signers: {release: [a@example.com]}\n"
        "  stages:\n    prod: {require: [promotion], signers: releasers}\n"
    )
    out = cli("-C", str(project), "config", "check")
    assert out.exit_code == 3
    assert "names signer group 'releasers', which `policy.signers` does not declare" in out.stderr
    (project / "mlops.yaml").write_text(
        text + "\npolicy:\n  signers: {release: [a@example.com]}\n"
        "  stages:\n    production: {require: [promotion], signers: release}\n"
    )
    out = cli("-C", str(project), "config", "check")
    assert out.exit_code == 3 and "policy.stages: 'production' is not one of the stages" in (
        out.stderr
    )


def test_promote_sign_makes_the_signed_promotion_the_policy_asks_for(
    cli: Any, project: Path, keys: dict[str, Path], allowed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`promote --sign` signs the stage tag with your own key and then holds it to the
    policy: a key outside the group is refused and its tag undone; alice's is kept."""
    monkeypatch.setenv(policy.ALLOWED_SIGNERS_ENV, str(allowed))
    m = registered_and_tested(cli, project, "promotion")
    out = m("model", "promote", NAME, "v0.0.1", "prod")
    assert out.exit_code == 1 and "promote with --sign" in out.stderr

    git(project, "config", "gpg.format", "ssh")
    git(project, "config", "user.signingkey", str(keys["mallory"]))
    out = m("model", "promote", NAME, "v0.0.1", "prod", "--sign")
    assert out.exit_code == 1
    assert "is signed by mallory@example.com, who is not in signer group release" in out.stderr
    assert tags(project) == [f"{NAME}@v0.0.1"]  # the signed stage tag was undone

    git(project, "config", "user.signingkey", str(keys["alice"]))
    out = m("model", "promote", NAME, "v0.0.1", "prod", "--sign")
    assert out.exit_code == 0, out.stderr
    assert git(project, "cat-file", "-p", f"{NAME}#prod#1").count("BEGIN SSH SIGNATURE") == 1
    p = open_project(project)
    assert registry.resolve(p, f"{NAME}#prod").version == "v0.0.1"
    assert not [f for f in project_status(p).stale if "policy" in f.problem]
