"""The HTTP API as a plain ASGI application (served by uvicorn).

  GET  /health     200 {"status": "ok", ...} once the model is loaded
  GET  /metadata   the lineage record and input schema baked in at build time
  POST /predict    JSON records in; predictions (and probabilities) out;
                   422 with {"problems": [...]} when the input does not fit the schema

No web framework: three routes do not need one, and every dependency is one more wheel in
the image and one more thing to pin.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from mlops_cli.runtime import MODEL_DIR_ENV
from mlops_cli.runtime.model import InputProblems, ServedModel, load

MAX_BODY_BYTES = 32 * 1024 * 1024
log = logging.getLogger("mlops.runtime")

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class App:
    def __init__(self, model: ServedModel) -> None:
        self.model = model

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        method, path = scope["method"], scope["path"].rstrip("/") or "/"
        if path == "/health" and method in ("GET", "HEAD"):
            body = {"status": "ok", "model": self.model.name, "version": self.model.version}
            await _json(send, 200, body)
        elif path == "/metadata" and method == "GET":
            await _json(send, 200, self.model.metadata)
        elif path == "/predict" and method == "POST":
            await self._predict(receive, send)
        elif path in ("/health", "/metadata", "/predict"):
            await _json(send, 405, {"error": f"{method} is not allowed on {path}"})
        else:
            await _json(send, 404, {"error": f"no route {path}; try /health, /metadata, /predict"})

    async def _predict(self, receive: Receive, send: Send) -> None:
        raw = await _body(receive)
        if raw is None:
            await _json(send, 413, {"error": f"request body over {MAX_BODY_BYTES} bytes"})
            return
        try:
            payload = json.loads(raw)
        except ValueError as exc:
            await _json(send, 400, {"error": f"the body is not JSON: {exc}"})
            return
        try:
            # Off the event loop: a large batch must not stall /health.
            result = await asyncio.to_thread(self.model.predict, payload)
        except InputProblems as exc:
            await _json(send, 422, {"error": "input does not match the schema", **vars(exc)})
            return
        except Exception as exc:  # the model itself failed: say so, keep serving
            log.exception("prediction failed")
            await _json(send, 500, {"error": f"prediction failed: {type(exc).__name__}: {exc}"})
            return
        await _json(send, 200, result)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _body(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _json(send: Send, status: int, body: Any) -> None:
    data = json.dumps(body, allow_nan=False, default=str).encode("utf-8")
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


def app_from_env() -> App:
    """uvicorn's factory (one per worker): the model folder from $MLOPS_MODEL_DIR."""
    return App(load(Path(os.environ.get(MODEL_DIR_ENV, "/app/model"))))
