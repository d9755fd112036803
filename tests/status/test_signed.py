"""status.signed_tag: registry/verify.is_signed's answer, from the tag list `mlops status`
has already read, on real tags made by real git and ssh-keygen."""

from __future__ import annotations

from pathlib import Path

from mlops_cli.gitio import refs as gitrefs
from mlops_cli.registry import verify
from mlops_cli.status.status import signed_tag
from tests.gitrepo import g, new_repo
from tests.required import unavailable
from tests.sshkeys import HAVE_SSH_KEYGEN, keypair, signing


def test_the_same_answer_as_is_signed_for_every_kind_of_tag(tmp_path: Path) -> None:
    if not HAVE_SSH_KEYGEN:
        unavailable("ssh-keygen is not installed")
    repo = new_repo(tmp_path / "repo")
    key = keypair(tmp_path, "alice")
    g(repo, "tag", "light")
    g(repo, "tag", "-a", "plain", "-m", "annotated, not signed")
    g(repo, *signing(key), "tag", "-s", "signed", "-m", "signed")
    g(repo, *signing(key), "tag", "-s", "signed-empty", "-m", "")
    g(repo, "tag", "-a", "mimic", "-m", "text\n\n-----BEGIN SSH SIGNATURE-----\nforged\n")
    g(repo, "tag", "-a", "indented", "-m", "  -----BEGIN SSH SIGNATURE-----")
    g(repo, "tag", "-a", "inline", "-m", "says -----BEGIN x SIGNATURE----- mid-line")
    tags = {t.name: t for t in gitrefs.list_tags(repo)}
    names = [*tags, "missing"]
    got = {n: signed_tag(repo, tags, n) for n in names}
    assert got == {n: verify.is_signed(repo, n) for n in names}
    assert got["signed"] and got["signed-empty"] and not got["plain"] and not got["light"]
