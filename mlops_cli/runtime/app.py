"""The HTTP API as a plain ASGI application (served by uvicorn).

  GET  /health     200 {"status": "ok", ...} once the model is loaded
  GET  /metadata   the lineage record and input schema baked in at build time
  GET  /metrics    Prometheus text format (runtime/metrics.py; docs/monitoring.md)
  POST /predict    JSON records in; predictions (and probabilities) out;
                   422 with {"problems": [...]} when the input does not fit the schema

Hostile input is answered, never crashes a worker, and every answer is a JSON body:
  413  a body over $MLOPS_MAX_BODY_BYTES (default 8 MiB), from Content-Length or while reading
  400  a body that is not JSON
  422  NaN / Infinity / -Infinity, a float that overflows (1e999), an integer outside the
       64-bit range, JSON nested deeper than $MLOPS_MAX_JSON_DEPTH (default 64); and
       input the schema admits but the model rejects with ValueError or TypeError (a
       category it never saw): {"error": ..., "problems": ["ValueError: ..."]}
  500  the model failed in any other way (a JSON body naming the exception)
JSON is parsed in a worker thread, and at most $MLOPS_MAX_INFLIGHT requests (default 2) are
parsed and predicted at once, so /health answers during a heavy batch and memory stays bounded.
With $MLOPS_PREDICTION_LOG set, a sample of the predicted rows is logged (runtime/predlog.py).

No web framework: four routes do not need one, and every dependency is one more wheel in
the image and one more thing to pin.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import re
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from mlops_cli.runtime import MODEL_DIR_ENV
from mlops_cli.runtime.metrics import CONTENT_TYPE, Metrics
from mlops_cli.runtime.model import InputProblems, ServedModel, load
from mlops_cli.runtime.predlog import LogConfig, PredictionLog

MAX_BODY_ENV = "MLOPS_MAX_BODY_BYTES"
MAX_DEPTH_ENV = "MLOPS_MAX_JSON_DEPTH"
MAX_INFLIGHT_ENV = "MLOPS_MAX_INFLIGHT"
DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024
DEFAULT_MAX_DEPTH = 64
DEFAULT_MAX_INFLIGHT = 2
SHUTDOWN_FLUSH_SECONDS = 5.0
INT_MIN, INT_MAX = -(2**63), 2**64 - 1  # int64 and uint64: what a column dtype can hold
log = logging.getLogger("mlops.runtime")

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class BadNumber(ValueError):
    """A JSON number the model cannot take: non-finite, or outside the 64-bit range."""


class TooDeep(ValueError):
    """JSON nested deeper than the configured limit."""


class App:
    def __init__(self, model: ServedModel) -> None:
        self.model = model
        self.max_body = _env_int(MAX_BODY_ENV, DEFAULT_MAX_BODY_BYTES)
        self.max_depth = _env_int(MAX_DEPTH_ENV, DEFAULT_MAX_DEPTH)
        self.inflight = asyncio.Semaphore(_env_int(MAX_INFLIGHT_ENV, DEFAULT_MAX_INFLIGHT))
        meta = model.metadata
        self.metrics = Metrics(
            model.name,
            model.version,
            str((meta.get("artifact") or {}).get("sha256", "")),
            str(meta.get("task") or ("classification" if model.classes else "regression")),
        )
        config = LogConfig.from_env()
        self.predlog = None
        if config is not None:
            dropped = self.metrics.log_dropped
            self.predlog = PredictionLog(
                config,
                model.name,
                model.version,
                written=self.metrics.log_rows.inc,
                dropped=lambda reason, n: dropped.labels(reason=reason).inc(n),
            )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send, self.shutdown)
            return
        if scope["type"] != "http":
            return
        started, code, begun = False, 500, time.perf_counter()

        async def tracked(message: dict[str, Any]) -> None:
            nonlocal started, code
            if message["type"] == "http.response.start":
                started, code = True, int(message["status"])
            await send(message)

        try:
            await self._route(scope, receive, tracked)
        except Exception as exc:  # anything unforeseen: a JSON 500, the worker keeps serving
            log.exception("request failed")
            self.metrics.error("internal")
            if not started:
                await _json(send, 500, {"error": f"internal error: {type(exc).__name__}"})
        finally:
            path = scope["path"].rstrip("/") or "/"
            self.metrics.request(path, code, time.perf_counter() - begun)

    async def _route(self, scope: Scope, receive: Receive, send: Send) -> None:
        method, path = scope["method"], scope["path"].rstrip("/") or "/"
        if path == "/health" and method in ("GET", "HEAD"):
            body = {"status": "ok", "model": self.model.name, "version": self.model.version}
            await _json(send, 200, body)
        elif path == "/metadata" and method == "GET":
            await _json(send, 200, self.model.metadata)
        elif path == "/metrics" and method == "GET":
            await _send(send, 200, self.metrics.render(), CONTENT_TYPE.encode())
        elif path == "/predict" and method == "POST":
            await self._predict(scope, receive, send)
        elif path in ("/health", "/metadata", "/metrics", "/predict"):
            await _json(send, 405, {"error": f"{method} is not allowed on {path}"})
        else:
            routes = "/health, /metadata, /metrics, /predict"
            await _json(send, 404, {"error": f"no route {path}; try {routes}"})

    async def _predict(self, scope: Scope, receive: Receive, send: Send) -> None:
        too_big = {"error": f"request body over {self.max_body} bytes (${MAX_BODY_ENV})"}
        declared = _content_length(scope)
        if declared is not None and declared > self.max_body:
            self.metrics.error("body_too_large")
            await _json(send, 413, too_big)
            return
        raw = await _body(receive, self.max_body)
        if raw is None:
            self.metrics.error("body_too_large")
            await _json(send, 413, too_big)
            return
        async with self.inflight:
            try:
                # Off the event loop: a large body must not stall /health.
                payload = await asyncio.to_thread(parse_json, raw, self.max_depth)
            except (BadNumber, TooDeep) as exc:
                self.metrics.error("bad_json")
                await _json(send, 422, {"error": str(exc)})
                return
            except ValueError as exc:
                self.metrics.error("bad_json")
                await _json(send, 400, {"error": f"the body is not JSON: {exc}"})
                return
            try:
                result = await asyncio.to_thread(self.predict, payload)
            except InputProblems as exc:
                self.metrics.error("schema")
                await _json(send, 422, {"error": "input does not match the schema", **vars(exc)})
                return
            except (ValueError, TypeError) as exc:
                # Values the schema admits but the model cannot take: a category it never
                # saw (OneHotEncoder's "Found unknown categories"), an object where it wants
                # a number. The caller's input, not a server fault.
                problem = f"{type(exc).__name__}: {exc}"
                problem = problem if len(problem) <= 500 else problem[:497] + "..."
                log.warning("the model rejected the input: %s", problem)
                self.metrics.error("model")
                body = {"error": "the model cannot use this input", "problems": [problem]}
                await _json(send, 422, body)
                return
            except Exception as exc:  # the model itself failed: say so, keep serving
                log.exception("prediction failed")
                self.metrics.error("model")
                error = f"prediction failed: {type(exc).__name__}: {exc}"
                await _json(send, 500, {"error": error})
                return
            del payload
        await _json(send, 200, result)

    async def shutdown(self) -> None:
        """On a graceful stop (SIGTERM): let the log write what is queued, a few seconds
        at most (a stuck disk must not hold the stop past the orchestrator's grace)."""
        if self.predlog is not None:
            await asyncio.to_thread(self.predlog.flush, SHUTDOWN_FLUSH_SECONDS)

    def predict(self, payload: Any) -> dict[str, Any]:
        """Predict, count and log, on the worker thread: a large batch's counting must not
        stall the event loop either. The log only queues: it never waits for its disk."""
        records = self.model.check(payload)
        result = self.model.predict_checked(records)
        predictions = result["predictions"]
        self.metrics.predicted(predictions)
        if self.predlog is not None:
            try:
                self.predlog.submit(records, predictions)
            except Exception:  # the log never fails a request that was answered
                log.exception("the prediction log could not take the rows")
        return result


_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")


def json_depth_over(raw: bytes, limit: int) -> bool:
    """True when the JSON text nests deeper than `limit`, checked without recursion.

    Strings are cut out, everything but brackets deleted, then empty pairs are removed one
    layer per pass (C-speed bytes operations, at most limit + 1 passes). Unbalanced text
    stops changing and is left for the parser to reject.
    """
    brackets = _STRING.sub(b"", raw).translate(None, _NOT_BRACKET)
    for _ in range(limit):
        if not brackets:
            return False
        shorter = brackets.replace(b"{}", b"").replace(b"[]", b"")
        if shorter == brackets:
            return False
        brackets = shorter
    return bool(brackets) and brackets.replace(b"{}", b"").replace(b"[]", b"") != brackets


def parse_json(raw: bytes, max_depth: int = DEFAULT_MAX_DEPTH) -> Any:
    """The body as JSON; BadNumber / TooDeep (422) or ValueError (400) when it cannot be."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 ({exc.reason} at byte {exc.start})") from None
    if json_depth_over(raw, max_depth):
        raise TooDeep(f"JSON nested deeper than {max_depth} levels (${MAX_DEPTH_ENV})")
    try:
        return json.loads(text, parse_constant=_constant, parse_float=_float, parse_int=_int)
    except RecursionError:
        raise TooDeep("JSON nested too deeply") from None


def _constant(name: str) -> Any:
    raise BadNumber(f"{name} is not a number a model takes; send finite numbers or null")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise BadNumber(f"{_short(text)} is out of range for a 64-bit float")
    return value


def _int(text: str) -> int:
    # The length test first: int() of a 10,000-digit string is slow, then refused anyway.
    if len(text) > 21 or not INT_MIN <= (value := int(text)) <= INT_MAX:
        raise BadNumber(f"{_short(text)} is out of range for a 64-bit integer")
    return value


def _short(text: str) -> str:
    return text if len(text) <= 24 else f"{text[:20]}... ({len(text)} characters)"


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    try:
        number = int(value) if value.strip() else default
    except ValueError:
        log.warning("ignoring %s=%r: not an integer; using %d", name, value, default)
        return default
    return number if number > 0 else default


def _content_length(scope: Scope) -> int | None:
    for key, value in scope.get("headers") or []:
        if key.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _lifespan(receive: Receive, send: Send, shutdown: Callable[[], Awaitable[None]]) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await shutdown()
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _body(receive: Receive, limit: int) -> bytes | None:
    """The whole body, or None as soon as it grows past `limit` (chunked bodies too)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(chunks)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _json(send: Send, status: int, body: Any) -> None:
    data = json.dumps(body, allow_nan=False, default=str).encode("utf-8")
    await _send(send, status, data, b"application/json")


async def _send(send: Send, status: int, data: bytes, content_type: bytes) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(data)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


def app_from_env() -> App:
    """uvicorn's factory (one per worker): the model folder from $MLOPS_MODEL_DIR."""
    return App(load(Path(os.environ.get(MODEL_DIR_ENV, "/app/model"))))
