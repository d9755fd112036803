"""registry/verify.py, the parts below `mlops model verify` (whose whole runs, signed and
forged, are in tests/security/test_signatures.py): what counts as a signed tag, and the
name a tag object carries, on real tags made by real git and ssh-keygen."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_cli.registry import verify
from tests.gitrepo import g, new_repo
from tests.required import unavailable
from tests.sshkeys import HAVE_SSH_KEYGEN, keypair, signing


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return new_repo(tmp_path / "repo")


def test_only_a_tag_object_with_a_signature_block_is_signed(repo: Path, tmp_path: Path) -> None:
    if not HAVE_SSH_KEYGEN:
        unavailable("ssh-keygen is not installed")
    key = keypair(tmp_path, "alice")
    g(repo, "tag", "light")
    g(repo, "tag", "-a", "plain", "-m", "annotated, not signed")
    g(repo, *signing(key), "tag", "-s", "signed", "-m", "signed")
    g(repo, "tag", "-a", "mimic", "-m", "text\n\n-----BEGIN SSH SIGNATURE-----\nforged\n")
    assert verify.is_signed(repo, "signed")
    assert not verify.is_signed(repo, "light")
    assert not verify.is_signed(repo, "plain")
    # git's own rule: a line that starts with the marker begins a signature block, so a
    # forged block counts as signed here, and verification then calls it bad.
    assert verify.is_signed(repo, "mimic")
    assert not verify.is_signed(repo, "missing")


def test_a_tag_object_names_itself(repo: Path) -> None:
    """A ref re-pointed at another tag object is caught by the name inside the object."""
    g(repo, "tag", "-a", "churn@v1.0.0", "-m", "v1")
    g(repo, "tag", "-a", "churn@v2.0.0", "-m", "v2")
    other = g(repo, "rev-parse", "refs/tags/churn@v2.0.0")
    g(repo, "update-ref", "refs/tags/churn@v1.0.0", other)
    assert verify._tag_name_in_object(repo, "refs/tags/churn@v1.0.0") == "churn@v2.0.0"
    assert verify._tag_name_in_object(repo, "refs/tags/churn@v2.0.0") == "churn@v2.0.0"
    g(repo, "tag", "light")
    assert verify._tag_name_in_object(repo, "refs/tags/light") is None
