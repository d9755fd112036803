"""Real SSH signing keys for the signature tests: ssh-keygen keys, an allowed-signers file,
and git's `-c` options that sign with `gpg.format=ssh` (no agent, no passphrase)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

HAVE_SSH_KEYGEN = shutil.which("ssh-keygen") is not None


def keypair(where: Path, who: str) -> Path:
    """A new ed25519 key `where/<who>_ed25519` (and `.pub`), without a passphrase."""
    key = where / f"{who}_ed25519"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", who, "-f", str(key)], check=True
    )
    return key


def public(key: Path) -> str:
    return Path(f"{key}.pub").read_text().strip()


def allowed_signers(path: Path, entries: dict[str, Path]) -> Path:
    """An allowed-signers file: one `principal key` line per entry."""
    path.write_text("".join(f"{who} {public(key)}\n" for who, key in entries.items()))
    return path


def signing(key: Path) -> list[str]:
    """git options that sign commits and tags with `key` (put them before the command)."""
    return ["-c", "gpg.format=ssh", "-c", f"user.signingkey={key}"]
