"""gitio/signing.py with real git and real ssh-keygen keys: signed tags made without a ref in
the repository, signed commits, and allowed signers read only from outside the repository."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from mlops_cli.common.errors import InputError, UnsafeError
from mlops_cli.gitio import refs, signing


def _git(root: Path, *args: str) -> str:
    proc = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path, isolated_env: Path) -> Path:
    key = tmp_path / "keys" / "alice"
    key.parent.mkdir()
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "alice", "-f", str(key)],
        check=True,
    )
    with (isolated_env / ".gitconfig").open("a") as f:
        f.write(f"[gpg]\n\tformat = ssh\n[user]\n\tsigningKey = {key}.pub\n")
    (tmp_path / "allowed").write_text(f"alice@example.com {Path(f'{key}.pub').read_text()}")
    root = tmp_path / "repo"
    root.mkdir()
    _git(root, "init", "-q")
    (root / "f").write_text("x\n")
    _git(root, "add", "f")
    _git(root, "commit", "-qm", "one")
    return root


def test_signed_tag_writes_the_object_but_no_ref(repo: Path, tmp_path: Path) -> None:
    head = _git(repo, "rev-parse", "HEAD")
    obj = signing.signed_tag(repo, "m@v0.0.1", "Registering artifact m version v0.0.1", head)
    assert _git(repo, "tag", "--list") == ""  # no ref: the caller's transaction makes it
    body = _git(repo, "cat-file", "tag", obj)
    assert body.startswith(f"object {head}\ntype commit\ntag m@v0.0.1\n")
    assert "Registering artifact m version v0.0.1\n-----BEGIN SSH SIGNATURE-----" in body
    refs.create_tags(repo, [refs.NewTag("m@v0.0.2", "msg", head)], "test", sign=True)
    signers = signing.AllowedSigners(tmp_path / "allowed", "test")
    sig = signing.verify(repo, "tag", "refs/tags/m@v0.0.2", signers)
    assert (sig.status, sig.signer) == ("good", "alice@example.com")
    unsigned = signing.verify(repo, "commit", "HEAD", signers)
    assert unsigned.status == "unsigned"


def test_signed_commit_file_and_a_failure_leaves_nothing(repo: Path, tmp_path: Path) -> None:
    head = _git(repo, "rev-parse", "HEAD")
    commit = refs.commit_file(
        repo, "r.yaml", b"a: 1\n", "record", expect_head=head,
        tags=[refs.NewTag("m@v0.0.1", "reg")], also=[("r.sig", b"{}")], sign=True,
    )  # fmt: skip
    signers = signing.AllowedSigners(tmp_path / "allowed", "test")
    assert signing.verify(repo, "commit", commit, signers).status == "good"
    assert signing.verify(repo, "tag", "refs/tags/m@v0.0.1", signers).status == "good"
    assert sorted(_git(repo, "ls-tree", "--name-only", commit).split()) == ["f", "r.sig", "r.yaml"]

    # Signed, then the transaction refuses (the tag appeared meanwhile): nothing stays.
    (repo / "t.sig").write_text("mine, uncommitted\n")
    with pytest.raises(refs.ConflictWithGit):
        refs.commit_file(
            repo, "t.yaml", b"c: 1\n", "record", expect_head=commit,
            tags=[refs.NewTag("m@v0.0.1", "again")], also=[("t.sig", b"{}")], sign=True,
        )  # fmt: skip
    assert _git(repo, "rev-parse", "HEAD") == commit
    assert not (repo / "t.yaml").exists()
    assert (repo / "t.sig").read_text() == "mine, uncommitted\n"
    (repo / "t.sig").unlink()

    _git(repo, "config", "user.signingKey", str(tmp_path / "nope.pub"))
    with pytest.raises(signing.SigningError, match="git could not sign the record commit"):
        refs.commit_file(
            repo, "s.yaml", b"b: 1\n", "record", expect_head=commit, also=[("s.sig", b"{}")],
            sign=True,
        )  # fmt: skip
    assert _git(repo, "rev-parse", "HEAD") == commit
    assert not (repo / "s.yaml").exists() and not (repo / "s.sig").exists()
    with pytest.raises(signing.SigningError, match="is not a file"):
        signing.require_signing(repo)


def test_allowed_signers_come_from_env_or_global_config_only(
    repo: Path, tmp_path: Path, isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    planted = repo / ".allowed"
    planted.write_text("")
    _git(repo, "config", "gpg.ssh.allowedSignersFile", str(planted))  # repo-local: ignored
    found = signing.allowed_signers(repo)
    assert (found.path, found.source) == (None, "none configured")
    assert f"gpg.ssh.allowedSignersFile={__import__('os').devnull}" in found.git_args

    _git(repo, "config", "--global", "gpg.ssh.allowedSignersFile", str(tmp_path / "allowed"))
    found = signing.allowed_signers(repo)
    assert found.path == (tmp_path / "allowed").resolve()
    assert found.source == "git config --global"

    monkeypatch.setenv(signing.ALLOWED_ENV, str(tmp_path / "missing"))
    with pytest.raises(InputError, match="does not exist"):
        signing.allowed_signers(repo)
    for bad in (str(planted), ".allowed", str(repo / "sub/../.allowed")):
        monkeypatch.setenv(signing.ALLOWED_ENV, bad)
        with pytest.raises(UnsafeError):
            signing.allowed_signers(repo)


def test_a_policy_floor_raises_the_trust_level_never_lowers_it(
    repo: Path, isolated_env: Path
) -> None:
    assert "gpg.minTrustLevel=marginal" in signing.allowed_signers(repo).git_args
    assert "gpg.minTrustLevel=fully" in signing.allowed_signers(repo, min_trust="fully").git_args
    _git(repo, "config", "gpg.minTrustLevel", "undefined")  # repo-local: ignored
    assert "gpg.minTrustLevel=fully" in signing.allowed_signers(repo, min_trust="fully").git_args
    _git(repo, "config", "--global", "gpg.minTrustLevel", "ultimate")
    for floor in (None, "fully"):
        found = signing.allowed_signers(repo, min_trust=floor)
        assert "gpg.minTrustLevel=ultimate" in found.git_args


def test_a_lightweight_tag_is_unsigned(repo: Path, tmp_path: Path) -> None:
    _git(repo, "tag", "m@v0.0.1")
    signers = signing.AllowedSigners(tmp_path / "allowed", "test")
    sig = signing.verify(repo, "tag", "refs/tags/m@v0.0.1", signers)
    assert (sig.status, sig.detail) == ("unsigned", signing.LIGHTWEIGHT)


@pytest.fixture
def gnupg(monkeypatch: pytest.MonkeyPatch) -> Any:
    """A throwaway GnuPG home (a short path: the agent's socket lives there), its agent
    stopped afterwards."""
    import shutil
    import tempfile

    if shutil.which("gpg") is None:
        pytest.skip("gpg is not installed")
    home = Path(tempfile.mkdtemp(prefix="gpg", dir="/tmp"))
    home.chmod(0o700)
    monkeypatch.setenv("GNUPGHOME", str(home))
    yield home
    subprocess.run(["gpgconf", "--kill", "gpg-agent"], capture_output=True, check=False)
    shutil.rmtree(home, ignore_errors=True)


def test_openpgp_signing_through_git(repo: Path, tmp_path: Path, gnupg: Path,
                                     isolated_env: Path) -> None:  # fmt: skip
    """git's own signing: with gpg.format openpgp the same calls sign with GnuPG, and the
    verifier's keyring (not the repository) decides."""
    subprocess.run(
        ["gpg", "--batch", "--passphrase", "", "--quick-gen-key", "Alice <alice@example.com>",
         "ed25519", "sign", "never"],
        capture_output=True, check=True,
    )  # fmt: skip
    listing = subprocess.run(
        ["gpg", "--with-colons", "--list-secret-keys"], capture_output=True, text=True, check=True
    ).stdout
    fpr = next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:"))
    _git(repo, "config", "gpg.format", "openpgp")
    _git(repo, "config", "user.signingKey", fpr)
    signing.require_signing(repo)
    head = _git(repo, "rev-parse", "HEAD")
    commit = refs.commit_file(
        repo, "r.yaml", b"a: 1\n", "record", expect_head=head,
        tags=[refs.NewTag("m@v0.0.1", "reg")], sign=True,
    )  # fmt: skip
    assert "-----BEGIN PGP SIGNATURE-----" in _git(repo, "cat-file", "tag", "m@v0.0.1")
    signers = signing.allowed_signers(repo)
    for kind, rev in (("tag", "refs/tags/m@v0.0.1"), ("commit", commit)):
        sig = signing.verify(repo, kind, rev, signers)  # type: ignore[arg-type]
        assert (sig.status, sig.signer, sig.key) == ("good", "Alice <alice@example.com>", fpr)
        assert sig.principal == "alice@example.com"  # as a policy's group names the signer
    # A stage policy asks for full trust: the key is the user's own (ultimate), so it counts.
    strict = signing.allowed_signers(repo, min_trust="fully")
    assert "gpg.minTrustLevel=fully" in strict.git_args
    assert signing.verify(repo, "commit", commit, strict).status == "good"
