"""Signed versions (issue 13, part 3): `--sign` on register, `test --record` and promote, and
`mlops model verify`, with real ssh-keygen keys, git's own SSH signing and model-signing.

Trust comes only from what a clone cannot write: the allowed signers are the verifier's own
file (MLOPS_ALLOWED_SIGNERS or the global git config), never one planted in the repository
or in its `.git/config`.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.modelproject import NAME, copy_of, git, state_of, tags, trained


@dataclass(frozen=True)
class Signer:
    name: str
    email: str
    ssh_key: Path  # private; git signs with `user.signingKey` = its .pub
    model_key: Path  # EC private key (PEM) for model-signing
    model_pub: Path  # its public key (PEM)

    def allowed_line(self) -> str:
        return f"{self.email} {Path(str(self.ssh_key) + '.pub').read_text().strip()}\n"


def _keygen(*args: str) -> str:
    proc = subprocess.run(["ssh-keygen", *args], capture_output=True, text=True, check=True)
    return proc.stdout


def make_signer(folder: Path, name: str) -> Signer:
    folder.mkdir(parents=True, exist_ok=True)
    ssh_key = folder / f"{name}_ed25519"
    _keygen("-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(ssh_key))
    model_key = folder / f"{name}_model.pem"
    _keygen("-q", "-t", "ecdsa", "-b", "256", "-m", "PEM", "-N", "", "-f", str(model_key))
    model_pub = folder / f"{name}_model.pub.pem"
    model_pub.write_text(_keygen("-e", "-m", "PKCS8", "-f", f"{model_key}.pub"))
    return Signer(name, f"{name}@example.com", ssh_key, model_key, model_pub)


def use_signer(monkeypatch: pytest.MonkeyPatch, home: Path, signer: Signer) -> None:
    """Configure git (global config of this HOME) and mlops to sign as `signer`."""
    gitconfig = home / ".gitconfig"
    with gitconfig.open("a") as f:
        f.write(f"[gpg]\n\tformat = ssh\n[user]\n\tsigningKey = {signer.ssh_key}.pub\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(gitconfig))
    monkeypatch.setenv("MLOPS_SIGNING_KEY", str(signer.model_key))


def trust(monkeypatch: pytest.MonkeyPatch, folder: Path, *signers: Signer) -> Path:
    """The verifier's own allowed signers and model keys, outside any repository."""
    folder.mkdir(parents=True, exist_ok=True)
    allowed = folder / "allowed_signers"
    allowed.write_text("".join(s.allowed_line() for s in signers))
    keys = folder / "model-keys"
    keys.mkdir(exist_ok=True)
    for s in signers:
        (keys / f"{s.name}.pem").write_bytes(s.model_pub.read_bytes())
    monkeypatch.setenv("MLOPS_ALLOWED_SIGNERS", str(allowed))
    monkeypatch.setenv("MLOPS_MODEL_KEYS", str(keys))
    return allowed


@pytest.fixture
def alice(tmp_path_factory: pytest.TempPathFactory) -> Signer:
    return make_signer(tmp_path_factory.mktemp("keys"), "alice")


@pytest.fixture
def mallory(tmp_path_factory: pytest.TempPathFactory) -> Signer:
    return make_signer(tmp_path_factory.mktemp("keys"), "mallory")


@pytest.fixture
def project(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Path:
    return copy_of(trained(tmp_path_factory), tmp_path)


def run(cli: Any, project: Path, *args: str) -> Any:
    return cli("-C", str(project), *args)


def verify(cli: Any, project: Path, spec: str = f"{NAME}@v0.0.1") -> tuple[int, dict[str, Any]]:
    out = run(cli, project, "model", "verify", spec, "--json")
    return out.exit_code, json.loads(out.stdout)


def statuses(doc: dict[str, Any]) -> dict[str, str]:
    return {i["kind"]: i["status"] for i in doc["items"]}


@pytest.fixture
def signed(
    cli: Any, project: Path, alice: Signer, isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """churn@v0.0.1 registered, tested (recorded) and promoted to staging, all signed."""
    use_signer(monkeypatch, isolated_env, alice)
    trust(monkeypatch, isolated_env / "trust", alice)
    for args in (
        ("model", "register", NAME, "--sign"),
        ("test", f"{NAME}@v0.0.1", "--record", "--sign"),
        ("model", "promote", NAME, "v0.0.1", "staging", "--sign"),
    ):
        out = run(cli, project, *args)
        assert out.exit_code == 0, (args, out.stderr)
    return project


def test_signed_register_test_promote_verify(cli: Any, signed: Path, alice: Signer) -> None:
    code, doc = verify(cli, signed)
    assert code == 0, doc
    assert doc["verified"] is True and doc["command"] == "model verify"
    assert statuses(doc) == {
        "version_tag": "good",
        "record_commit": "good",
        "stage_tag": "good",
        "model_file": "good",
    }
    by_kind = {i["kind"]: i for i in doc["items"]}
    for kind in ("version_tag", "record_commit", "stage_tag"):
        assert by_kind[kind]["signer"] == alice.email
        assert by_kind[kind]["key"].startswith("SHA256:")
    assert by_kind["model_file"]["key"].endswith("alice.pem")
    # The record commit checked is the test record's, not the registration's.
    assert by_kind["record_commit"]["subject"] == git(signed, "rev-parse", "HEAD")
    # The bundle is committed beside the record, in the registration commit.
    files = git(signed, "diff-tree", "--name-only", "-r", "--no-commit-id", f"{NAME}@v0.0.1")
    assert sorted(files.split()) == [
        ".mlops/models/churn/v0.0.1.sig",
        ".mlops/models/churn/v0.0.1.yaml",
    ]
    assert "-----BEGIN SSH SIGNATURE-----" in git(signed, "cat-file", "tag", f"{NAME}@v0.0.1")
    human = run(cli, signed, "model", "verify", f"{NAME}#staging")
    assert human.exit_code == 0, human.stderr
    assert f"GOOD      tag churn@v0.0.1 by {alice.email}" in human.stdout


def test_deprecate_sign_signs_every_tag_it_writes(
    cli: Any, signed: Path, alice: Signer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`model deprecate --sign`, as `promote --sign`: the unassign tag, the deregistration
    and the model's deprecation are signed tags that verify against your allowed signers."""
    from mlops_cli.gitio import signing

    signers = signing.allowed_signers(signed)
    out = run(cli, signed, "model", "deprecate", f"{NAME}#staging", "--sign", "--json")
    assert out.exit_code == 0, out.stderr
    result = out.json()["result"]
    assert result["signed"] is True and result["what"] == "stage"
    human = run(cli, signed, "model", "deprecate", f"{NAME}@v0.0.1", "--sign")
    assert human.exit_code == 0, human.stderr
    assert f"deprecated {NAME}@v0.0.1 ({NAME}@v0.0.1!, signed)" in human.stderr + human.stdout
    assert run(cli, signed, "model", "deprecate", NAME, "--sign").exit_code == 0
    written = [*result["tags"], f"{NAME}@v0.0.1!", f"{NAME}@deprecated"]
    assert written[0].startswith(f"{NAME}#staging!#")
    for tag in written:
        assert "-----BEGIN SSH SIGNATURE-----" in git(signed, "cat-file", "tag", tag)
        sig = signing.verify(signed, "tag", f"refs/tags/{tag}", signers)
        assert (sig.status, sig.signer) == ("good", alice.email), tag

    # Without --sign the tag is not signed; without a usable key, nothing is written.
    other = run(cli, signed, "model", "register", NAME, "--version", "v0.0.2")
    assert other.exit_code == 0, other.stderr
    before = tags(signed)
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(signed.parent / "no-such.gitconfig"))
    git(signed, "config", "gpg.format", "ssh")
    out = run(cli, signed, "model", "deprecate", f"{NAME}@v0.0.2", "--sign")
    assert out.exit_code == 3 and "no SSH signing key" in out.stderr
    assert tags(signed) == before
    assert run(cli, signed, "model", "deprecate", f"{NAME}@v0.0.2").exit_code == 0
    assert "SIGNATURE" not in git(signed, "cat-file", "tag", f"{NAME}@v0.0.2!")


def test_unsigned_version_fails(cli: Any, project: Path, alice: Signer, isolated_env: Path,
                                monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    trust(monkeypatch, isolated_env / "trust", alice)
    assert run(cli, project, "model", "register", NAME).exit_code == 0
    code, doc = verify(cli, project)
    assert code == 1
    assert statuses(doc) == {
        "version_tag": "unsigned",
        "record_commit": "unsigned",
        "model_file": "unsigned",
    }


def test_tampered_record_fails(cli: Any, signed: Path) -> None:
    rec = signed / ".mlops/models/churn/v0.0.1.yaml"
    rec.write_text(rec.read_text().replace("passed: true", "passed: false", 1))
    git(signed, "commit", "-qam", "edit the record")
    code, doc = verify(cli, signed)
    assert code == 1
    assert statuses(doc)["record_commit"] == "unsigned"
    assert statuses(doc)["version_tag"] == "good"
    rec.write_text("model: [unclosed\n")  # unreadable: reported, not a crash
    git(signed, "commit", "-qam", "break the record")
    code, doc = verify(cli, signed)
    assert code == 1 and statuses(doc)["record_commit"] == "bad"


def test_image_entries_do_not_need_a_signature(cli: Any, signed: Path) -> None:
    """`mlops image build/push` add `images:` in unsigned commits; those are skipped."""
    from mlops_cli.project.root import open_project
    from mlops_cli.registry.records import add_image

    add_image(open_project(signed), NAME, "v0.0.1", {"ref": "localhost:5000/churn:v0.0.1"})
    code, doc = verify(cli, signed)
    assert code == 0, doc


def test_model_file_bytes_must_match_the_bundle(signed: Path) -> None:
    """The bundle signs the model file's bytes: other bytes do not verify."""
    from mlops_cli.registry.modelsig import signed_sha256, verify_model

    bundle = (signed / ".mlops/models/churn/v0.0.1.sig").read_bytes()
    record = (signed / ".mlops/models/churn/v0.0.1.yaml").read_text()
    assert f"sha256: {signed_sha256(bundle)}" in record
    other = signed / "other.bin"
    other.write_bytes(b"not the model")
    bundle = (signed / ".mlops/models/churn/v0.0.1.sig").read_bytes()
    assert verify_model(signed, other, bundle).status == "bad"
    assert verify_model(signed, signed / "models/model.skops", bundle).status == "good"


def test_repointed_tag_fails(cli: Any, signed: Path, isolated_env: Path,
                             monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    # An unsigned tag of the same name on another commit...
    git(signed, "tag", "-f", "-a", "-m", "Registering artifact churn version v0.0.1",
        f"{NAME}@v0.0.1", "HEAD")  # fmt: skip
    code, doc = verify(cli, signed)
    assert code == 1 and statuses(doc)["version_tag"] == "unsigned"
    # ...and the ref pointed at another signed tag object (the stage tag's): the object's
    # own name gives it away.
    stage_tag = next(t for t in tags(signed) if t.startswith(f"{NAME}#staging#"))
    obj = git(signed, "rev-parse", f"refs/tags/{stage_tag}")
    git(signed, "update-ref", f"refs/tags/{NAME}@v0.0.1", obj)
    code, doc = verify(cli, signed)
    assert code == 1
    item = next(i for i in doc["items"] if i["kind"] == "version_tag")
    assert item["status"] == "bad" and f"named '{stage_tag}'" in item["detail"]


def test_tag_object_renamed_under_another_ref_fails(cli: Any, signed: Path) -> None:
    """A signed registration tag object of v0.0.1 under the ref churn@v0.0.2."""
    obj = git(signed, "rev-parse", f"refs/tags/{NAME}@v0.0.1")
    git(signed, "update-ref", f"refs/tags/{NAME}@v0.0.2", obj)
    code, doc = verify(cli, signed, f"{NAME}@v0.0.2")
    assert code == 1
    item = next(i for i in doc["items"] if i["kind"] == "version_tag")
    assert item["status"] == "bad" and "re-pointed" in item["detail"]


def test_key_not_in_allowed_signers_fails(cli: Any, project: Path, mallory: Signer,
                                          alice: Signer, isolated_env: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    use_signer(monkeypatch, isolated_env, mallory)
    trust(monkeypatch, isolated_env / "trust", alice)  # the verifier allows alice only
    assert run(cli, project, "model", "register", NAME, "--sign").exit_code == 0
    code, doc = verify(cli, project)
    assert code == 1
    assert statuses(doc) == {
        "version_tag": "untrusted",
        "record_commit": "untrusted",
        "model_file": "untrusted",
    }


def test_allowed_signers_planted_in_the_repository_are_ignored(
    cli: Any, project: Path, mallory: Signer, alice: Signer, isolated_env: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """The attacker signs with their key and ships an allowed-signers file naming it, in the
    work tree and in the repository's .git/config; the verifier's own list wins."""
    use_signer(monkeypatch, isolated_env, mallory)
    planted = project / ".allowed_signers"
    planted.write_text(mallory.allowed_line())
    keys = project / ".model-keys"
    keys.mkdir()
    (keys / "mallory.pem").write_bytes(mallory.model_pub.read_bytes())
    git(project, "config", "gpg.ssh.allowedSignersFile", str(planted))
    assert run(cli, project, "model", "register", NAME, "--sign").exit_code == 0
    # git itself, with the repository's config, would call it good:
    verdict = subprocess.run(
        ["git", "-C", str(project), "verify-tag", f"{NAME}@v0.0.1"], capture_output=True
    )
    assert verdict.returncode == 0
    trust(monkeypatch, isolated_env / "trust", alice)
    code, doc = verify(cli, project)
    assert code == 1, doc
    assert doc["allowed_signers"] == str((isolated_env / "trust/allowed_signers").resolve())
    assert statuses(doc)["version_tag"] == "untrusted"
    assert statuses(doc)["record_commit"] == "untrusted"

    # With no list of their own configured, the verifier does not fall back on the repo's.
    monkeypatch.delenv("MLOPS_ALLOWED_SIGNERS")
    code, doc = verify(cli, project)
    assert code == 1 and doc["allowed_signers"] is None
    assert statuses(doc)["version_tag"] == "untrusted"
    # And pointing one's own config at a file inside the repository is refused (exit 4).
    for value, where in ((str(planted), "MLOPS_ALLOWED_SIGNERS"), (".allowed_signers", "")):
        if where:
            monkeypatch.setenv(where, value)
        else:
            monkeypatch.delenv("MLOPS_ALLOWED_SIGNERS")
            git(project, "config", "--global", "gpg.ssh.allowedSignersFile", value)
        out = run(cli, project, "model", "verify", f"{NAME}@v0.0.1")
        assert out.exit_code == 4, out.stderr
    monkeypatch.setenv("MLOPS_MODEL_KEYS", str(keys))
    monkeypatch.setenv("MLOPS_ALLOWED_SIGNERS", str(isolated_env / "trust/allowed_signers"))
    assert run(cli, project, "model", "verify", f"{NAME}@v0.0.1").exit_code == 4


def test_sign_without_a_key_writes_nothing(cli: Any, project: Path, alice: Signer,
                                           isolated_env: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    gitconfig = isolated_env / ".gitconfig"
    with gitconfig.open("a") as f:
        f.write("[gpg]\n\tformat = ssh\n")
    monkeypatch.setenv("MLOPS_SIGNING_KEY", str(alice.model_key))
    before = state_of(project)
    out = run(cli, project, "model", "register", NAME, "--sign")
    assert out.exit_code == 3
    assert "git has no SSH signing key" in out.stderr
    assert len([line for line in out.stderr.splitlines() if line.startswith("error:")]) == 1
    assert state_of(project) == before and tags(project) == []

    # git configured, but no model-signing key
    with gitconfig.open("a") as f:
        f.write(f"[user]\n\tsigningKey = {alice.ssh_key}.pub\n")
    monkeypatch.delenv("MLOPS_SIGNING_KEY")
    out = run(cli, project, "model", "register", NAME, "--sign")
    assert out.exit_code == 3 and "no key to sign the model file" in out.stderr
    assert state_of(project) == before and tags(project) == []

    # a key git cannot load: the failure comes from git itself, after the model is signed
    monkeypatch.setenv("MLOPS_SIGNING_KEY", str(alice.model_key))
    broken = isolated_env / "broken.pub"
    broken.write_text("ssh-ed25519 not-a-key\n")
    git(project, "config", "user.signingKey", str(broken))
    out = run(cli, project, "model", "register", NAME, "--sign")
    assert out.exit_code == 3 and "git could not sign" in out.stderr, out.stderr
    assert state_of(project) == before and tags(project) == []
    assert not (project / ".mlops/models/churn/v0.0.1.sig").exists()

    # test --record --sign and promote --sign refuse before anything runs
    git(project, "config", "--unset", "user.signingKey")
    gitconfig.write_text("[gpg]\n\tformat = ssh\n")
    assert run(cli, project, "model", "register", NAME).exit_code == 0
    before = state_of(project)
    out = run(cli, project, "test", f"{NAME}@v0.0.1", "--record", "--sign")
    assert out.exit_code == 3 and "no SSH signing key" in out.stderr
    out = run(cli, project, "model", "promote", NAME, "v0.0.1", "dev", "--force", "--reason",
              "x", "--sign")  # fmt: skip
    assert out.exit_code == 3 and "no SSH signing key" in out.stderr
    assert state_of(project) == before
    assert run(cli, project, "test", NAME, "--sign").exit_code == 2  # --sign needs --record


def test_team_clone_verifies_with_its_own_allowed_signers(
    project: Path, alice: Signer, tmp_path: Path, mlops: Any
) -> None:
    """Clone A signs and pushes to a bare remote; clone B, with another HOME and its own
    allowed-signers file and model keys, verifies; and fails with a list that lacks A."""
    bare = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(bare)], check=True)
    git(project, "remote", "add", "origin", str(bare))
    git(project, "push", "-q", "origin", "HEAD:main")
    git(project, "branch", "-q", "--set-upstream-to=origin/main")

    def home(name: str) -> dict[str, str]:
        h = tmp_path / name
        h.mkdir()
        (h / ".gitconfig").write_text("[init]\n\tdefaultBranch = main\n")
        return {
            **os.environ,
            "HOME": str(h),
            "XDG_CONFIG_HOME": str(h / ".config"),
            "XDG_CACHE_HOME": str(h / ".cache"),
            "GIT_CONFIG_GLOBAL": str(h / ".gitconfig"),
        }

    env_a = home("home-a")
    with open(env_a["GIT_CONFIG_GLOBAL"], "a") as f:
        f.write(f"[gpg]\n\tformat = ssh\n[user]\n\tsigningKey = {alice.ssh_key}.pub\n")
    env_a["MLOPS_SIGNING_KEY"] = str(alice.model_key)
    done = mlops("-C", str(project), "model", "register", NAME, "--sign", "--push", env=env_a)
    assert done.exit_code == 0, done.stderr

    env_b = home("home-b")
    clone = tmp_path / "clone-b"
    subprocess.run(["git", "clone", "-q", str(bare), str(clone)], check=True, env=env_b)
    # B's model file comes from the work tree here (no DVC remote in this test): copy it.
    (clone / "models").mkdir(exist_ok=True)
    (clone / "models/model.skops").write_bytes((project / "models/model.skops").read_bytes())
    trust_b = Path(env_b["HOME"]) / "trust"
    trust_b.mkdir()
    (trust_b / "allowed_signers").write_text(alice.allowed_line())
    keys = Path(env_b["XDG_CONFIG_HOME"]) / "mlops/model-keys"
    keys.mkdir(parents=True)
    (keys / "alice.pem").write_bytes(alice.model_pub.read_bytes())
    with open(env_b["GIT_CONFIG_GLOBAL"], "a") as f:
        f.write(f'[gpg "ssh"]\n\tallowedSignersFile = {trust_b / "allowed_signers"}\n')
    out = mlops("-C", str(clone), "model", "verify", f"{NAME}@v0.0.1", "--json", env=env_b)
    assert out.exit_code == 0, out.stdout + out.stderr
    doc = json.loads(out.stdout)
    assert doc["allowed_signers_source"] == "git config --global"
    assert {i["signer"] for i in doc["items"] if i["kind"] != "model_file"} == {alice.email}

    (trust_b / "allowed_signers").write_text("")
    out = mlops("-C", str(clone), "model", "verify", f"{NAME}@v0.0.1", env=env_b)
    assert out.exit_code == 1


def _signature_findings(cli: Any, project: Path) -> list[dict[str, Any]]:
    doc = run(cli, project, "status", "--json").json()
    return [f for f in doc["findings"] if "signatures" in f["problem"]]


def test_status_check_reports_a_stage_whose_signatures_fail(
    cli: Any, signed: Path, isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _signature_findings(cli, signed) == []
    rec = signed / ".mlops/models/churn/v0.0.1.yaml"
    rec.write_text(rec.read_text().replace("passed: true", "passed: false", 1))
    git(signed, "commit", "-qam", "edit the record")
    [finding] = _signature_findings(cli, signed)
    assert finding["subject"] == f"{NAME}#staging" and finding["blocking"] is True
    assert "record commit unsigned" in finding["problem"]
    out = run(cli, signed, "status", "--check")
    assert out.exit_code == 1 and "signatures do not verify" in out.stderr

    git(signed, "reset", "-q", "--hard", "HEAD^")
    (isolated_env / "trust/allowed_signers").write_text("")  # alice no longer allowed
    [finding] = _signature_findings(cli, signed)
    assert finding["blocking"] is True and "version tag untrusted" in finding["problem"]


def test_gto_reads_signed_versions_and_stages_as_we_do(cli: Any, signed: Path) -> None:
    """A signed tag is still an annotated tag GTO parses: `gto show` (the real CLI, as a user
    runs it) sees the signed version and its signed stage exactly as `mlops model list` does.
    """
    import shutil
    import sys

    gto = shutil.which("gto") or str(Path(sys.executable).with_name("gto"))
    assert Path(gto).exists(), "gto is a dev dependency"
    shown = subprocess.run(
        [gto, "show", "--json"], cwd=signed, capture_output=True, text=True, check=False
    )
    assert shown.returncode == 0, shown.stderr
    theirs = json.loads(shown.stdout)[NAME]
    assert theirs["version"] == "v0.0.1"
    assert theirs["stage"] == {"staging": "v0.0.1"}
    ours = run(cli, signed, "model", "list", "--json")
    assert ours.exit_code == 0, ours.stderr
    rows = {r["version"]: r["stages"] for r in ours.json()["versions"] if r["model"] == NAME}
    assert rows == {"v0.0.1": ["staging"]}
