"""images/container.py: the HTTP side of `mlops test --image`: HttpPredictor, post_json and
get_json against a real HTTP server on 127.0.0.1 (a stand-in for the image's runtime; the
container itself is run in tests/images/test_build.py)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mlops_cli.common.errors import CheckFailed
from mlops_cli.images.container import HttpPredictor, free_port, get_json, post_json

RECEIVED: list[Any] = []  # each request's records, in order


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, code: int, body: bytes) -> None:
        self.send_response(code)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self._send(200, b'{"status": "ok"}')

    def do_POST(self) -> None:
        records = json.loads(self.rfile.read(int(self.headers["content-length"])))
        RECEIVED.append(records)
        if self.path == "/broken/predict":
            self._send(500, b"not json at all")
        elif any(r.get("x") is None for r in records):
            self._send(422, json.dumps({"problems": ["row 0: x is null", "row 1: x"]}).encode())
        else:
            answer = {
                "predictions": ["b" if r["x"] > 1 else "a" for r in records],
                "probabilities": [[0.2, 0.8] if r["x"] > 1 else [0.9, 0.1] for r in records],
                "classes": ["a", "b"],
            }
            self._send(200, json.dumps(answer).encode())


@pytest.fixture
def server() -> Iterator[str]:
    RECEIVED.clear()
    httpd = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_the_predictor_posts_records_and_learns_the_classes(server: str) -> None:
    frame = pd.DataFrame({"x": [0.5, 3.0], "when": pd.to_datetime(["2026-01-02", "2026-03-04"])})
    predictor = HttpPredictor(server)
    assert predictor.classes is None
    assert predictor.predict(frame).tolist() == ["a", "b"]
    assert predictor.classes == ["a", "b"]
    proba = predictor.predict_proba(frame)
    assert isinstance(proba, np.ndarray) and proba.dtype == float and proba.shape == (2, 2)
    sent = RECEIVED[0]
    assert sent[0]["x"] == 0.5 and sent[0]["when"].startswith("2026-01-02T")  # ISO dates


def test_a_rejected_request_is_a_failed_check_with_the_problems(server: str) -> None:
    frame = pd.DataFrame({"x": [float("nan"), 1.0]})  # NaN goes as null
    with pytest.raises(CheckFailed, match=r"/predict answered 422: row 0: x is null; row 1: x"):
        HttpPredictor(server).predict(frame)
    assert RECEIVED[0][0]["x"] is None
    with pytest.raises(CheckFailed, match="answered 500: not json at all"):
        post_json(f"{server}broken/predict", [{"x": 1}])


def test_no_server_is_a_failed_check_and_get_json(server: str) -> None:
    assert get_json(server + "health") == {"status": "ok"}
    with pytest.raises(CheckFailed, match="did not answer"):
        post_json(f"http://127.0.0.1:{free_port()}/predict", [], timeout=5)


def test_free_port_is_bindable() -> None:
    import socket

    port = free_port()
    assert 1024 <= port <= 65535
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
