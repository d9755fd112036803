"""tests/servers.py, the helper every test server starts through: a real HTTP server."""

from __future__ import annotations

import sys
import urllib.request
from pathlib import Path

import pytest

from tests import servers


def test_serving_waits_until_it_answers_and_stops_it(tmp_path: Path) -> None:
    (tmp_path / "hello.txt").write_text("hi\n")
    command = [sys.executable, "-m", "http.server", "--bind", "127.0.0.1"]
    with servers.serving(
        lambda port: [*command, "--directory", str(tmp_path), str(port)],
        servers.accepts,
        log=tmp_path / "server.log",
        wait=60,
    ) as started:
        url = f"http://127.0.0.1:{started.port}/hello.txt"
        with urllib.request.urlopen(url, timeout=30) as resp:
            assert resp.read() == b"hi\n"
    assert started.proc.returncode is not None
    assert not servers.accepts(started.port)


def test_a_server_that_exits_is_retried_then_reported_with_its_log(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    code = "import sys; print('cannot bind', sys.argv[1], file=sys.stderr); sys.exit(1)"
    with pytest.raises(servers.DidNotStart, match="after 3 attempts") as err:
        servers.start(
            lambda port: [sys.executable, "-c", code, str(port)],
            servers.accepts,
            log=log,
            wait=60,
            attempts=3,
        )
    assert str(err.value).count("cannot bind") == 3


def test_stop_kills_a_server_that_ignores_sigterm(tmp_path: Path) -> None:
    code = (
        "import signal, socket, sys, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "s = socket.socket(); s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen()\n"
        "time.sleep(600)\n"
    )
    started = servers.start(
        lambda port: [sys.executable, "-c", code, str(port)],
        servers.accepts,
        log=tmp_path / "server.log",
        wait=60,
    )
    servers.stop(started.proc, timeout=0.5)
    assert started.proc.returncode == -9
