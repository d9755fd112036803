"""Start a real server process for tests on a free port, wait until it answers, stop it.

One way for every server the tests start themselves (the served model in
tests/runtime/test_app.py, moto's S3 in tests/plugins/s3.py, sshd in tests/plugins/sshd.py):
a free port, the process in its own session with its output in a log file, a readiness
check polled until a deadline, a new port when another process took the probed one before
the server bound it, and a stop that terminates, waits, then kills.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class DidNotStart(Exception):
    """The server exited, or did not answer in time, on every attempt; says its log's end."""


@dataclass
class Started:
    proc: subprocess.Popen[bytes]
    port: int
    log: Path


def free_port() -> int:
    """A port nothing listens on now (the server may still lose it to another process)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def accepts(port: int, timeout: float = 1) -> bool:
    """Does something accept TCP connections on 127.0.0.1:port?"""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


def start(
    command: Callable[[int], list[str]],
    ready: Callable[[int], bool],
    *,
    log: Path,
    wait: float,
    poll: float = 0.1,
    attempts: int = 5,
    env: Mapping[str, str] | None = None,
) -> Started:
    """Run `command(port)` until `ready(port)` holds, at most `wait` s per attempt."""
    for _attempt in range(attempts):  # a free port can be taken between our probe and the bind
        port = free_port()
        with log.open("ab") as out:
            proc = subprocess.Popen(
                command(port),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                env=dict(env) if env is not None else None,
                start_new_session=True,  # a Ctrl-C of pytest does not reach it; stop() does
            )
        deadline = time.monotonic() + wait
        while proc.poll() is None and time.monotonic() < deadline and not ready(port):
            time.sleep(poll)
        if proc.poll() is None and ready(port):
            return Started(proc, port, log)
        stop(proc)
    tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
    raise DidNotStart(f"did not start after {attempts} attempts; its log ({log}): {tail}")


def stop(proc: subprocess.Popen[bytes], timeout: float = 10) -> None:
    """SIGTERM, then SIGKILL if it has not exited after `timeout` s; always reaped."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
    proc.wait()


@contextmanager
def serving(
    command: Callable[[int], list[str]], ready: Callable[[int], bool], **options: Any
) -> Iterator[Started]:
    """`start(command, ready, **options)`, and `stop` on the way out."""
    started = start(command, ready, **options)
    try:
        yield started
    finally:
        stop(started.proc)


def environ_without(*names: str) -> dict[str, str]:
    """This process's environment without `names` (settings a server must not inherit)."""
    return {k: v for k, v in os.environ.items() if k not in names}
