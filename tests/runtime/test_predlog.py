"""The prediction log of a really served model: rotation, excluded columns, sampling, and a
log folder that is slow or cannot be written, which must never fail or hold a request."""

from __future__ import annotations

import json
import os
import re
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mlops_cli.runtime.predlog import LogConfig, PredictionLog, file_prefix
from tests.runtime.served import Served, model_dir_of, runtime, value

ROW = {"sepal_length_cm": 6.7, "sepal_width_cm": 3.0, "petal_length_cm": 5.2, "petal_width_cm": 2.3}


@pytest.fixture(scope="module")
def model_dir(trained_project: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return model_dir_of(trained_project, tmp_path_factory.mktemp("model-dir"))


def rows(n: int) -> list[dict[str, Any]]:
    """n distinct rows: the row number is in sepal_length_cm, to find each one in the log."""
    return [{**ROW, "sepal_length_cm": 4.0 + i / 1000} for i in range(n)]


def settled(server: Served, expected: int, timeout: float = 30) -> dict[Any, float]:
    """/metrics once the log has written or dropped `expected` rows."""
    deadline = time.monotonic() + timeout
    while True:
        samples = server.metrics()
        done = value(samples, "mlops_prediction_log_rows_total") + sum(
            v
            for (name, _), v in samples.items()
            if name == "mlops_prediction_log_dropped_rows_total"
        )
        if done >= expected or time.monotonic() > deadline:
            return samples
        time.sleep(0.1)


def lines(folder: Path) -> list[dict[str, Any]]:
    found = []
    for path in sorted(folder.glob("*.jsonl")):
        found.extend(json.loads(line) for line in path.read_text().splitlines())
    return found


def test_rows_rotate_within_the_bound_without_excluded_columns(
    model_dir: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "predictions"
    env = {
        "MLOPS_PREDICTION_LOG": str(folder),
        "MLOPS_PREDICTION_LOG_MAX_BYTES": "4000",
        "MLOPS_PREDICTION_LOG_FILES": "3",
        "MLOPS_PREDICTION_LOG_EXCLUDE": "sepal_width_cm, petal_length_cm",
    }
    with runtime(model_dir, tmp_path / "server.log", **env) as server:
        sent: list[tuple[dict[str, Any], Any]] = []
        for start in range(0, 400, 40):
            batch = rows(400)[start : start + 40]
            status, body = server.predict(batch)
            assert status == 200, body
            sent.extend(zip(batch, body["predictions"], strict=True))
        samples = settled(server, 400)
    assert value(samples, "mlops_prediction_log_rows_total") == 400
    files = sorted(folder.iterdir())
    assert 1 < len(files) <= 3, files  # rotated, the oldest deleted
    assert all(f.stat().st_size <= 4000 for f in files)
    name = re.compile(rf"predictions-[A-Za-z0-9_.]+-{server.pid}-\d{{6}}\.jsonl")
    assert all(name.fullmatch(f.name) for f in files), files
    logged = lines(folder)
    assert len(logged) < 400  # the deleted files' rows are gone
    # What is kept is the newest rows, in order, each as sent and as answered.
    assert [(r["inputs"]["sepal_length_cm"], r["prediction"]) for r in logged] == [
        (row["sepal_length_cm"], prediction) for row, prediction in sent[-len(logged) :]
    ]
    for row in logged:
        assert set(row) == {"timestamp", "model", "version", "inputs", "prediction"}
        assert set(row["inputs"]) == {"sepal_length_cm", "petal_width_cm"}
        assert (row["model"], row["version"]) == ("churn", None)
        assert row["timestamp"].endswith("Z")


def test_sampling_at_zero_writes_nothing(model_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "predictions"
    env = {"MLOPS_PREDICTION_LOG": str(folder), "MLOPS_PREDICTION_LOG_SAMPLE": "0"}
    with runtime(model_dir, tmp_path / "server.log", **env) as server:
        for _ in range(5):
            assert server.predict(rows(20))[0] == 200
        samples = server.metrics()
    assert value(samples, "mlops_predicted_rows_total") == 100
    assert value(samples, "mlops_prediction_log_rows_total") == 0
    assert list(folder.iterdir()) == []


def test_an_unwritable_log_folder_drops_rows_and_serves_on(model_dir: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder\n")
    env = {"MLOPS_PREDICTION_LOG": str(blocker / "predictions")}  # even root cannot mkdir it
    with runtime(model_dir, tmp_path / "server.log", **env) as server:
        for _ in range(3):
            status, body = server.predict(rows(10))
            assert status == 200 and len(body["predictions"]) == 10
        samples = settled(server, 30)
        assert server.request("GET", "/health")[0] == 200
    assert value(samples, "mlops_prediction_log_dropped_rows_total", reason="write_error") == 30
    assert value(samples, "mlops_prediction_log_rows_total") == 0
    assert "cannot create the prediction log folder" in (tmp_path / "server.log").read_text()


def test_a_log_that_blocks_never_holds_a_request(model_dir: Path, tmp_path: Path) -> None:
    """The log's next file is a FIFO nobody reads: the writer's open() never returns. Every
    request is still answered (each within the client's 30 s timeout), and what the queue
    cannot hold is dropped and counted, exactly."""
    folder = tmp_path / "predictions"
    env = {"MLOPS_PREDICTION_LOG": str(folder), "MLOPS_PREDICTION_LOG_QUEUE_ROWS": "50"}
    with runtime(model_dir, tmp_path / "server.log", **env) as server:
        fifo = folder / f"{file_prefix(socket.gethostname(), server.pid)}000001.jsonl"
        os.mkfifo(fifo)
        try:
            for _ in range(10):
                status, body = server.predict(rows(30))
                assert status == 200 and len(body["predictions"]) == 30
            samples = server.metrics()
            assert server.request("GET", "/health")[0] == 200
        finally:
            # Let the writer's open() return, so the server stops as it would.
            reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
            os.close(reader)
    assert value(samples, "mlops_predicted_rows_total") == 300
    # 50 rows fit in the queue (the writer holds the first batch, still queued): the rest.
    assert value(samples, "mlops_prediction_log_dropped_rows_total", reason="queue_full") == 250
    assert value(samples, "mlops_prediction_log_rows_total") == 0


def collected(tmp_path: Path, **config: Any) -> tuple[PredictionLog, Callable[[], dict[str, int]]]:
    counts: dict[str, int] = {}

    def dropped(reason: str, n: int) -> None:
        counts[reason] = counts.get(reason, 0) + n

    def written(n: int) -> None:
        counts["written"] = counts.get("written", 0) + n

    log = PredictionLog(
        LogConfig(tmp_path / "log", **config), "m", "v1", written=written, dropped=dropped
    )
    return log, lambda: dict(counts)


def test_a_sample_keeps_about_that_share_of_rows(tmp_path: Path) -> None:
    log, counts = collected(tmp_path, sample=0.25)
    records = [{"i": i} for i in range(4000)]
    log.submit(records, list(range(4000)))
    assert log.flush()
    kept = [row["inputs"]["i"] for row in lines(tmp_path / "log")]
    assert counts() == {"written": len(kept)}
    assert 800 <= len(kept) <= 1200  # 1000 expected; 6 standard deviations either side
    assert all(row["prediction"] == row["inputs"]["i"] for row in lines(tmp_path / "log"))


def test_a_row_over_the_file_bound_is_dropped_not_written(tmp_path: Path) -> None:
    log, counts = collected(tmp_path, max_bytes=300)
    log.submit([{"note": "x" * 400}, {"note": "short"}], ["a", "b"])
    assert log.flush()
    assert counts() == {"too_large": 1, "written": 1}
    assert [r["inputs"] for r in lines(tmp_path / "log")] == [{"note": "short"}]


def test_a_restarted_server_continues_its_files_and_keeps_the_bound(tmp_path: Path) -> None:
    """A container restarted in its pod has the same host name and pid (1) and the same
    emptyDir: it counts the files it wrote before towards its bound."""
    for run in range(3):
        log, _ = collected(tmp_path, max_bytes=200, files=2)
        for i in range(5):
            log.submit([{"run": run, "i": i}], [i])
        assert log.flush()
        assert log.file is not None
        log.file.close()
    files = sorted((tmp_path / "log").iterdir())
    assert len(files) == 2
    assert lines(tmp_path / "log")[-1]["inputs"] == {"run": 2, "i": 4}


def test_settings_out_of_range_fall_back_to_the_defaults(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    monkeypatch.delenv("MLOPS_PREDICTION_LOG", raising=False)
    assert LogConfig.from_env() is None  # off by default
    monkeypatch.setenv("MLOPS_PREDICTION_LOG", str(tmp_path))
    monkeypatch.setenv("MLOPS_PREDICTION_LOG_SAMPLE", "1.5")
    monkeypatch.setenv("MLOPS_PREDICTION_LOG_MAX_BYTES", "lots")
    monkeypatch.setenv("MLOPS_PREDICTION_LOG_FILES", "0")
    monkeypatch.setenv("MLOPS_PREDICTION_LOG_EXCLUDE", " email, ,phone ")
    with caplog.at_level("WARNING", logger="mlops.runtime"):
        config = LogConfig.from_env()
    assert config == LogConfig(tmp_path, exclude=frozenset({"email", "phone"}))
    said = caplog.text
    assert "ignoring MLOPS_PREDICTION_LOG_SAMPLE='1.5'" in said
    assert "ignoring MLOPS_PREDICTION_LOG_MAX_BYTES='lots'" in said
    assert "ignoring MLOPS_PREDICTION_LOG_FILES='0'" in said


def test_a_graceful_stop_writes_what_is_queued(tmp_path: Path) -> None:
    """SIGTERM's lifespan shutdown waits for the writer (a few seconds at most)."""
    import asyncio

    from mlops_cli.runtime.app import App
    from tests.runtime.test_app import _plan_model

    os.environ["MLOPS_PREDICTION_LOG"] = str(tmp_path / "log")
    try:
        app = App(_plan_model())
    finally:
        del os.environ["MLOPS_PREDICTION_LOG"]
    assert app.predlog is not None
    app.predlog.submit([{"plan": "pro", "extra": float(i)} for i in range(9_000)], [1] * 9_000)
    messages = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
    sent: list[str] = []

    async def receive() -> dict[str, Any]:
        return next(messages)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message["type"])

    asyncio.run(app({"type": "lifespan"}, receive, send))
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert len(lines(tmp_path / "log")) == 9_000
