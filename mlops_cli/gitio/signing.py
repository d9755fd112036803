"""git's own signatures on the registry's commits and tags, and their verification.

Signing is git's: `git commit-tree -S` for the record commit, and `git tag -s` for a tag,
so `gpg.format` (ssh, openpgp, x509), `user.signingKey`, `gpg.ssh.defaultKeyCommand`,
`gpg.program` and the agent work exactly as for the user's own `git commit -S`.

A signed tag is made by `git tag -s` run against a throwaway GIT_DIR whose object store is
the repository's own (`GIT_OBJECT_DIRECTORY`): git writes the signed tag object into the
repository, and the only ref it creates is in the throwaway folder. The repository's
`refs/tags/...` is then created by the same single `git update-ref --stdin` transaction as
before, so a signed register still leaves the record commit and its tag both or neither:
an unreferenced object is all a failure can leave behind (git's gc removes it).

Verification trusts nothing the repository being verified can write. The allowed signers
(SSH) come from `MLOPS_ALLOWED_SIGNERS`, else `gpg.ssh.allowedSignersFile` from the global
or system git config, never from the repository's `.git/config` or work tree; it and the
programs git runs to verify (`gpg.program`, `gpg.ssh.program`, ...) are passed with `git
-c`, which overrides whatever a repository-local config says.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from mlops_cli.common.errors import InputError, UnsafeError
from mlops_cli.gitio.run import git

Status = Literal["good", "unsigned", "bad", "untrusted", "error"]

ALLOWED_ENV = "MLOPS_ALLOWED_SIGNERS"
_HINT = "see docs/security.md#signed-versions"
# The keys a signed tag needs from the repository's effective config (identity, signing).
_SIGN_KEYS = ("user.", "gpg.")
_VERIFY_PROGRAMS = (
    ("gpg.program", "gpg"),
    ("gpg.openpgp.program", "gpg"),
    ("gpg.x509.program", "gpgsm"),
    ("gpg.ssh.program", "ssh-keygen"),
)


class SigningError(InputError):
    """git could not sign: no key, no program, a key that does not load. Nothing written."""

    kind = "signing"


def _run(args: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None,
         input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:  # fmt: skip
    """`git ARGS` through the one runner (gitio/run.py); `env`, when given, is the whole
    environment (a throwaway GIT_DIR, config without the caller's), `cwd` the -C folder."""
    assert args[0] == "git"
    return git(cwd, *args[1:], input=input, env=env, check=False, replace_env=env is not None)


def _config(root: Path, key: str) -> str | None:
    proc = _run(["git", "-C", str(root), "config", "--get", key])
    return proc.stdout.decode("utf-8", "replace").strip() if proc.returncode == 0 else None


def require_signing(root: Path) -> None:
    """SigningError (exit 3) now, before anything runs or is written, when git's signing
    config cannot work: no `user.signingKey` for SSH, a key file that is not there, no gpg."""
    fmt = (_config(root, "gpg.format") or "openpgp").lower()
    key = _config(root, "user.signingkey")
    if fmt == "ssh":
        if not key and not _config(root, "gpg.ssh.defaultKeyCommand"):
            raise SigningError(
                "--sign: git has no SSH signing key (gpg.format is ssh, user.signingKey is"
                " not set)",
                hint="git config --global user.signingKey ~/.ssh/id_ed25519.pub; " + _HINT,
            )
        literal = key and (key.startswith(("key::", "ssh-", "ecdsa-", "sk-")))
        if key and not literal and not Path(key).expanduser().is_file():
            raise SigningError(
                f"--sign: git's user.signingKey {key} is not a file",
                hint="point user.signingKey at your SSH public or private key; " + _HINT,
            )
        program = _config(root, "gpg.ssh.program") or "ssh-keygen"
    elif fmt == "x509":
        program = _config(root, "gpg.x509.program") or "gpgsm"
    else:
        program = _config(root, "gpg.openpgp.program") or _config(root, "gpg.program") or "gpg"
    if shutil.which(program) is None:
        raise SigningError(
            f"--sign: git signs with {program} (gpg.format {fmt}), which is not installed",
            hint="install it, or use an SSH key: git config --global gpg.format ssh; " + _HINT,
        )


def signing_failed(what: str, stderr: bytes) -> SigningError:
    text = stderr.decode("utf-8", "replace").strip().replace("\n", " ")
    return SigningError(f"--sign: git could not sign the {what}: {text[-300:]}", hint=_HINT)


def _sign_env(root: Path) -> dict[str, str]:
    """The repository's effective user.* and gpg.* settings, as git's command-line config
    (GIT_CONFIG_COUNT), for a git run against another GIT_DIR."""
    proc = _run(["git", "-C", str(root), "config", "--list", "-z"])
    # `config --list` has the parent's command-line settings already: replace, not add.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GIT_CONFIG_COUNT", "GIT_CONFIG_KEY_", "GIT_CONFIG_VALUE_"))
    }
    count = 0
    for entry in proc.stdout.decode("utf-8", "replace").split("\0"):
        key, _, value = entry.partition("\n")
        if key.startswith(_SIGN_KEYS):
            env[f"GIT_CONFIG_KEY_{count}"] = key
            env[f"GIT_CONFIG_VALUE_{count}"] = value
            count += 1
    env["GIT_CONFIG_COUNT"] = str(count)
    return env


def signed_tag(root: Path, name: str, message: str, target: str) -> str:
    """A signed annotated tag object `name` -> `target`, written into `root`'s object store
    by `git tag -s`, with no ref created in `root`. Returns the object id."""
    objects = _run(["git", "-C", str(root), "rev-parse", "--git-path", "objects"])
    store = (root / objects.stdout.decode().strip()).resolve()
    fmt = _run(["git", "-C", str(root), "rev-parse", "--show-object-format"])
    object_format = fmt.stdout.decode().strip() or "sha1"
    with tempfile.TemporaryDirectory(prefix="mlops-tag-") as tmp:
        gitdir = Path(tmp) / "tag.git"
        made = _run(["git", "init", "-q", "--bare", f"--object-format={object_format}",
                     str(gitdir)])  # fmt: skip
        if made.returncode != 0:
            raise signing_failed(f"tag {name}", made.stderr)
        env = {**_sign_env(root), "GIT_DIR": str(gitdir), "GIT_OBJECT_DIRECTORY": str(store)}
        env.pop("GIT_WORK_TREE", None)
        proc = _run(
            ["git", "tag", "-s", "--cleanup=verbatim", "-F", "-", name, target],
            cwd=root,
            env=env,
            input=f"{message}\n".encode(),
        )
        if proc.returncode != 0:
            raise signing_failed(f"tag {name}", proc.stderr)
        ref = _run(["git", "rev-parse", f"refs/tags/{name}"], env=env)
        return ref.stdout.decode().strip()


# --- verification -------------------------------------------------------------------------


@dataclass(frozen=True)
class AllowedSigners:
    path: Path | None  # None: none configured
    source: str  # where the path came from, for the report
    git_args: tuple[str, ...] = ()  # the `-c` settings every verification runs with


def _outside_config(key: str) -> tuple[str, str] | None:
    """`key` from the global, else the system git config, never a repository's."""
    env = {k: v for k, v in os.environ.items() if k not in ("GIT_DIR", "GIT_WORK_TREE")}
    for scope in ("--global", "--system"):
        proc = _run(["git", "config", scope, "--get", key], cwd=Path("/"), env=env)
        if proc.returncode == 0 and proc.stdout.strip():
            return proc.stdout.decode("utf-8", "replace").strip(), f"git config {scope}"
    return None


def outside_repository(path_text: str, root: Path, what: str, source: str) -> Path:
    """`path_text` as an absolute path that is not inside the repository at `root`;
    UnsafeError (exit 4) otherwise: the repository being verified cannot vouch for itself."""
    path = Path(path_text).expanduser()
    if not path.is_absolute():
        raise UnsafeError(
            f"{what} {path_text} ({source}) is a relative path, which would be read from the"
            " repository being verified",
            hint="give an absolute path outside the repository",
        )
    resolved, top = path.resolve(), root.resolve()
    if resolved == top or top in resolved.parents:
        raise UnsafeError(
            f"{what} {path} ({source}) is inside the repository being verified, which cannot"
            " vouch for itself",
            hint="keep it outside the repository (e.g. ~/.config/git/allowed_signers)",
        )
    return resolved


def configured_signers(root: Path, *, min_trust: str | None = None) -> AllowedSigners:
    """The SSH allowed-signers file as configured: `MLOPS_ALLOWED_SIGNERS`, else
    `gpg.ssh.allowedSignersFile` of the global or system git config; a repository-local
    setting is never read. A relative path, or one inside the repository, is refused
    (UnsafeError, exit 4); whether the file exists is the caller's to check.

    `min_trust`: a floor for `gpg.minTrustLevel` (a stage policy asks for `fully`); the
    user's own level counts when it is stricter."""
    text, source = os.environ.get(ALLOWED_ENV, "").strip(), ALLOWED_ENV
    if not text:
        found = _outside_config("gpg.ssh.allowedSignersFile")
        if found is None:
            return AllowedSigners(None, "none configured", _verify_config(None, min_trust))
        text, source = found
    path = outside_repository(text, root, "the allowed signers file", source)
    return AllowedSigners(path, source, _verify_config(path, min_trust))


def allowed_signers(root: Path, *, min_trust: str | None = None) -> AllowedSigners:
    """`configured_signers`, and InputError (exit 3) when the file it names is not there."""
    signers = configured_signers(root, min_trust=min_trust)
    if signers.path is not None and not signers.path.is_file():
        raise InputError(
            f"the allowed signers file {signers.path} ({signers.source}) does not exist",
            hint="create it (one `principal key` line per signer, see ssh-keygen(1))",
        )
    return signers


# git's trust levels, weakest first (gpg-interface.c); a name git does not know is passed
# through unchanged, and git refuses to verify with it.
_TRUST_LEVELS = ("undefined", "never", "marginal", "fully", "ultimate")


def _stricter(level: str, floor: str | None) -> str:
    if floor is None or level.lower() not in _TRUST_LEVELS:
        return level
    return max(level.lower(), floor, key=_TRUST_LEVELS.index)


def _verify_config(path: Path | None, min_trust: str | None = None) -> tuple[str, ...]:
    args = ["-c", f"gpg.ssh.allowedSignersFile={path or os.devnull}"]
    for key, default in _VERIFY_PROGRAMS:
        found = _outside_config(key)
        args += ["-c", f"{key}={found[0] if found else default}"]
    trust = _outside_config("gpg.minTrustLevel")
    level = _stricter(trust[0] if trust else "marginal", min_trust)
    args += ["-c", f"gpg.minTrustLevel={level}"]
    return tuple(args)


@dataclass(frozen=True)
class Signature:
    status: Status
    signer: str | None = None  # the SSH principal, or the GPG user id
    key: str | None = None  # the key's fingerprint
    detail: str = ""

    @property
    def principal(self) -> str | None:
        """Who signed, as an allowed-signers file or a policy's group names them: the SSH
        principal, or the e-mail address of the GPG user id (`Alice <alice@example.com>`)."""
        if self.signer is None:
            return None
        found = re.search(r"<([^>]+)>", self.signer)
        return found[1].strip() if found else self.signer.strip()


_SSH_GOOD = re.compile(r'Good "git" signature for (?P<who>.+?) with (?P<alg>\S+) key (?P<key>\S+)')
_SSH_KEY = re.compile(r'Good "git" signature with \S+ key (?P<key>\S+)')
_GPG_GOOD = re.compile(r"^\[GNUPG:\] GOODSIG (?P<keyid>\S+) (?P<who>.*)", re.MULTILINE)
_GPG_VALID = re.compile(r"^\[GNUPG:\] VALIDSIG (?P<fpr>\S+)", re.MULTILINE)
LIGHTWEIGHT = "a lightweight tag, which cannot carry a signature"


def verify(root: Path, kind: Literal["commit", "tag"], rev: str,
           signers: AllowedSigners) -> Signature:  # fmt: skip
    """Verify the signature on commit or tag `rev` with the allowed signers given (and the
    user's own GPG keyring for OpenPGP), never with the repository's own settings. This is
    the one verifier of git signatures: `mlops model verify`, `status` and stage policies
    (registry/policy.py) all ask it."""
    config = signers.git_args or _verify_config(signers.path)
    args = ["git", *config, "-C", str(root), f"verify-{kind}", "--raw", rev]
    proc = _run(args)
    text = proc.stderr.decode("utf-8", "replace")
    last = text.strip().splitlines()[-1] if text.strip() else ""
    if "no signature found" in text or (proc.returncode != 0 and not text.strip()):
        # verify-tag says so; verify-commit of an unsigned commit says nothing and exits 1
        return Signature("unsigned", detail="no signature")
    if proc.returncode != 0 and "cannot verify a non-tag object" in text:
        return Signature("unsigned", detail=LIGHTWEIGHT)
    if (good := _SSH_GOOD.search(text)) and proc.returncode == 0:
        return Signature("good", good["who"], good["key"])
    if (gpg := _GPG_GOOD.search(text)) and proc.returncode == 0:
        valid = _GPG_VALID.search(text)
        return Signature("good", gpg["who"], valid["fpr"] if valid else gpg["keyid"])
    if key := _SSH_KEY.search(text):
        why = "no allowed signers configured" if signers.path is None else "not allowed"
        return Signature(
            "untrusted", key=key["key"], detail=f"a valid signature by a key that is {why}"
        )
    if gpg:
        return Signature("untrusted", gpg["who"], detail="the key is not trusted enough")
    if "BADSIG" in text or "incorrect signature" in text or "verification failed" in text:
        return Signature("bad", detail="the signature does not match the content")
    return Signature("error", detail=last[-200:] or f"git verify-{kind} failed")
