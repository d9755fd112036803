"""What the prediction log costs a request, against the same server with the log off.

The scaffolded sklearn-classifier (iris), served by the runtime (`python -m mlops_cli.runtime
serve`, one worker) three times side by side:

* log off: the anchor (metrics are always on, so this is what every request pays);
* log on, every row logged (`MLOPS_PREDICTION_LOG_SAMPLE=1`), to a temporary folder;
* log on, writer stuck: the log's next file is a FIFO nobody reads, so the writer thread
  blocks in open() for good and the queue stays full (every row dropped, counted).

Requests of `--rows` rows are sent round-robin to the three (so load and thermal drift
hit each alike); the figure is the median wall time of one request, client side.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import Row, report
from modeltests import scaffold

TARGET = 1.25  # the log may add at most a quarter to a request


def model_dir(project: Path, dest: Path) -> Path:
    from mlops_cli.common.progress import NullReporter
    from mlops_cli.images.bundle import prepare_bundle, write_model_dir
    from mlops_cli.project.root import open_project

    bundle = prepare_bundle(open_project(project), "churn", reporter=NullReporter())
    write_model_dir(bundle, dest)
    return dest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def post(port: int, body: bytes) -> float:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        start = time.perf_counter()
        conn.request("POST", "/predict", body=body, headers={"content-type": "application/json"})
        resp = conn.getresponse()
        resp.read()
        elapsed = time.perf_counter() - start
        assert resp.status == 200, resp.status
        return elapsed
    finally:
        conn.close()


def start(folder: Path, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    cmd = [sys.executable, "-m", "mlops_cli.runtime", "--model-dir", str(folder), "serve"]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MLOPS_PREDICTION_LOG")}
    proc = subprocess.Popen(
        cmd, env={**environ, **env, "MLOPS_LOG_LEVEL": "error"}, stdin=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 90
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/health")
            if conn.getresponse().status == 200:
                return proc, port
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the runtime did not start")
        time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mlops-bench-") as tmp:
        base = Path(tmp)
        project = scaffold(base)
        folder = model_dir(project, base / "model")
        import pandas as pd

        frame = pd.read_csv(project / "data/prepared/holdout.csv").drop(columns=["target"])
        records = frame.to_dict("records")
        body = json.dumps((records * (args.rows // len(records) + 1))[: args.rows]).encode()
        stuck = base / "stuck"
        servers = {
            "off": start(folder, {}),
            "on": start(folder, {"MLOPS_PREDICTION_LOG": str(base / "log")}),
            "stuck": start(folder, {"MLOPS_PREDICTION_LOG": str(stuck)}),
        }
        from mlops_cli.runtime.predlog import file_prefix

        prefix = file_prefix(socket.gethostname(), servers["stuck"][0].pid)
        os.mkfifo(stuck / f"{prefix}000001.jsonl")
        times: dict[str, list[float]] = {name: [] for name in servers}
        try:
            for _, port in servers.values():  # warm-up
                for _ in range(10):
                    post(port, body)
            for _ in range(args.requests):
                for name, (_, port) in servers.items():
                    times[name].append(post(port, body))
        finally:
            for proc, _ in servers.values():
                proc.kill()
                proc.wait()
        logged = sum(len(p.read_text().splitlines()) for p in (base / "log").glob("*.jsonl"))
        anchor = statistics.median(times["off"]) * 1000
        for name, figure in (
            ("on", f"POST {args.rows} rows, log every row"),
            ("stuck", f"POST {args.rows} rows, log writer stuck"),
        ):
            measured = statistics.median(times[name]) * 1000
            report(
                Row(
                    benchmark="serving",
                    figure=figure,
                    measured=measured,
                    anchor_name="same server, log off",
                    anchor=anchor,
                    unit="ms",
                    target=f"<= {TARGET}x",
                    ok=measured / anchor <= TARGET,
                )
            )
        print(f"rows logged by the 'on' server: {logged}")


if __name__ == "__main__":
    main()
