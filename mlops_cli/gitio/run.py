"""The one way mlops runs git: `git -C ROOT ARGS...`, bytes in and out, errors mapped.

Every git command mlops runs goes through `git()` here; the rest of `gitio/` names what it
asks (`refs`, `data`, `repo`, `state`), `porcelain.py` is the one `git status` reader and
`objects.py` the one `git cat-file --batch` reader. A module outside `gitio/` that needs a
git command of its own (`scaffold/update.py`, `scaffold/history.py`, `registry/verify.py`)
runs it through `git()` too (but `registry/policy.py`, still to move: docs/architecture.md).

- git not installed (not on PATH): InputError, exit 3, "git is not installed".
- git has no identity for a commit or tag: InputError, exit 3, with the `git config` fix.
- any other failure (`check=True`): ExternalToolError (exit 3) naming the command,
  `git SUBCOMMAND failed: <the end of git's stderr>`.

With `check=False` the completed process is returned whatever git's exit status (missing
git still raises: no caller can do anything useful without it). On an interrupt (Ctrl-C)
the child is killed and waited for before the interrupt goes on, so no `git` keeps writing
into a folder a rollback has just removed. Plain subprocesses, not GitPython: each call is
one process, and GitPython costs start-up time.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from mlops_cli.common.errors import ExternalToolError, InputError

_STDERR_TAIL = 400  # characters of git's stderr kept in an error message
_NO_IDENTITY = ("Please tell me who you are", "empty ident")


def git(
    root: Path | None,
    *args: str,
    input: bytes | None = None,
    env: dict[str, str] | None = None,
    check: bool = True,
    replace_env: bool = False,
) -> subprocess.CompletedProcess[bytes]:
    """Run `git -C root *args` (plain `git *args` for root None: `git init DIR`, `--version`);
    `env` is added to the environment (with `replace_env`, it IS the environment: for a
    git that must not see the caller's GIT_DIR or command-line config), `input` is fed on
    stdin (else stdin is empty)."""
    cmd = ["git", *(["-C", str(root)] if root is not None else []), *args]
    try:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env if replace_env else ({**os.environ, **env} if env else None),
        )
    except FileNotFoundError:
        raise InputError("git is not installed", hint="install git and retry") from None
    try:
        stdout, stderr = proc.communicate(input)
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    done = subprocess.CompletedProcess(cmd, proc.returncode, stdout, stderr)
    if check and done.returncode != 0:
        raise _failure(args, done)
    return done


def _failure(args: tuple[str, ...], proc: subprocess.CompletedProcess[bytes]) -> InputError:
    """The error for a git command that failed: no identity, else one naming the command."""
    message = _stderr_line(proc)
    if any(marker in message for marker in _NO_IDENTITY):
        return InputError(
            "git has no identity to write the commit or tag with",
            hint="run `git config --global user.name ...` and `... user.email ...`",
        )
    return ExternalToolError(f"git {args[0] if args else ''} failed: {message[-_STDERR_TAIL:]}")


def _stderr_line(proc: subprocess.CompletedProcess[bytes]) -> str:
    """git's stderr on one line."""
    return proc.stderr.decode("utf-8", "replace").strip().replace("\n", " ")


def out(root: Path, *args: str) -> str:
    """git's stdout as text, stripped (check=True)."""
    return git(root, *args).stdout.decode("utf-8", "replace").strip()
