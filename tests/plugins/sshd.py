"""A real OpenSSH server on 127.0.0.1 for the SSH DVC remote tests (DESIGN.md §6).

The session fixture starts a private `sshd -D` at a free port with a host key and a client
key made here, key authentication only, and stops it at the end; no system sshd or port 22
is involved. Without Debian's openssh-server the tests skip with the reason, unless
MLOPS_REQUIRE_ALL=1 (CI), where a missing service is a failure.
"""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests import servers
from tests.required import unavailable

SSHD = Path(os.environ.get("MLOPS_TEST_SSHD", "/usr/sbin/sshd"))


@dataclass(frozen=True)
class SshServer:
    host: str
    port: int
    user: str
    keyfile: Path  # the client's private key
    host_key: str  # "ssh-ed25519 AAAA...", for known_hosts
    log: Path

    def url(self, path: Path) -> str:
        return f"ssh://{self.host}:{self.port}{path}"

    def trust(self, home: Path) -> None:
        """Add the server's host key to `home`/.ssh/known_hosts, as `ssh` would after a yes."""
        ssh_dir = home / ".ssh"
        ssh_dir.mkdir(mode=0o700, exist_ok=True)
        known = ssh_dir / "known_hosts"
        with known.open("a") as fh:
            fh.write(f"[{self.host}]:{self.port} {self.host_key}\n")
        known.chmod(0o600)


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            return s.recv(8).startswith(b"SSH-")
    except OSError:
        return False


def _keygen(path: Path) -> None:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "mlops-test", "-f", str(path)],
        check=True,
        capture_output=True,
    )


def _config(folder: Path, port: int, user: str) -> Path:
    config = folder / "sshd_config"
    config.write_text(
        "\n".join(
            [
                f"Port {port}",
                "ListenAddress 127.0.0.1",
                f"HostKey {folder / 'host_key'}",
                f"PidFile {folder / 'sshd.pid'}",
                f"AuthorizedKeysFile {folder / 'authorized_keys'}",
                f"AllowUsers {user}",
                "StrictModes no",
                "PubkeyAuthentication yes",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "PermitRootLogin prohibit-password",
                "UsePAM no",
                "Subsystem sftp internal-sftp",
                "LogLevel VERBOSE",
                "",
            ]
        )
    )
    return config


@pytest.fixture(scope="session")
def sshd_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshServer]:
    if not SSHD.exists():
        unavailable(f"{SSHD} is not installed (Debian: openssh-server; `make services`)")
    if shutil.which("ssh-keygen") is None:
        unavailable("ssh-keygen is not installed (Debian: openssh-client)")
    if os.geteuid() == 0:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation
    folder = tmp_path_factory.mktemp("sshd")
    _keygen(folder / "host_key")
    _keygen(folder / "client_key")
    (folder / "authorized_keys").write_text((folder / "client_key.pub").read_text())
    user = getpass.getuser()
    log = folder / "sshd.log"
    try:
        started = servers.start(
            lambda port: [str(SSHD), "-D", "-e", "-f", str(_config(folder, port, user))],
            _answers,
            log=log,
            wait=10,
            poll=0.05,
        )
    except servers.DidNotStart as exc:
        unavailable(f"sshd {exc}")
        return
    host_key = " ".join((folder / "host_key.pub").read_text().split()[:2])
    try:
        yield SshServer("127.0.0.1", started.port, user, folder / "client_key", host_key, log)
    finally:
        servers.stop(started.proc)


@pytest.fixture
def ssh_server(sshd_server: SshServer) -> SshServer:
    """The session's sshd, its host key trusted by this test's (temporary) HOME."""
    sshd_server.trust(Path.home())
    return sshd_server
