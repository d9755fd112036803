"""A real S3-compatible server on 127.0.0.1 for the S3 DVC remote tests (DESIGN.md §6).

moto's server mode, as DVC's own test suite uses: the one `scripts/services.sh` started
(`$MLOPS_SERVICES_DIR/s3.url`) when it answers, else one this session starts from the test
venv (moto is in the dev extra) at a free port and stops at the end. Credentials are dummy
ones given through the environment only (`AWS_*`), never written into any file; a project
points at the server with `dvc remote modify --local NAME endpointurl URL`.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests import servers
from tests.required import unavailable

STATE_DIR = Path(os.environ.get("MLOPS_SERVICES_DIR", "/tmp/mlops-services"))
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "mlops-test-key",
    "AWS_SECRET_ACCESS_KEY": "mlops-test-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@dataclass(frozen=True)
class S3Server:
    endpoint: str  # http://127.0.0.1:PORT

    def make_bucket(self) -> str:
        import boto3

        name = f"mlops-{uuid.uuid4().hex[:12]}"
        client = boto3.client("s3", endpoint_url=self.endpoint, **_client_credentials())
        client.create_bucket(Bucket=name)
        return name

    def object_keys(self, bucket: str) -> list[str]:
        import boto3

        client = boto3.client("s3", endpoint_url=self.endpoint, **_client_credentials())
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        return sorted(o["Key"] for page in pages for o in page.get("Contents", []))


@dataclass(frozen=True)
class S3Bucket:
    server: S3Server
    name: str

    @property
    def endpoint(self) -> str:
        return self.server.endpoint

    def url(self, path: str = "dvc") -> str:
        return f"s3://{self.name}/{path}"

    def object_keys(self) -> list[str]:
        return self.server.object_keys(self.name)


def _client_credentials() -> dict[str, str]:
    return {
        "aws_access_key_id": CREDENTIALS["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        "region_name": CREDENTIALS["AWS_DEFAULT_REGION"],
    }


def _answers(endpoint: str) -> bool:
    try:
        with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    if importlib.util.find_spec("dvc_s3") is None:
        unavailable("dvc-s3 is not installed (`pip install -e '.[dev]'` brings it)")
    if importlib.util.find_spec("boto3") is None:
        unavailable("boto3 is not installed (moto[server] in the dev extra brings it)")
    try:
        started = (STATE_DIR / "s3.url").read_text().strip()
    except OSError:
        started = ""
    if started and _answers(started):
        yield S3Server(started)
        return
    if importlib.util.find_spec("moto") is None:
        unavailable("no S3 server: run `make services`, or install moto[server] (dev extra)")
    try:
        started = servers.start(
            lambda port: [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            lambda port: _answers(f"http://127.0.0.1:{port}"),
            log=tmp_path_factory.mktemp("s3") / "moto.log",
            wait=20,
        )
    except servers.DidNotStart as exc:
        unavailable(f"moto's server {exc}")
        return
    try:
        yield S3Server(f"http://127.0.0.1:{started.port}")
    finally:
        servers.stop(started.proc)


@pytest.fixture
def s3_bucket(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> S3Bucket:
    """A new, empty bucket of the session's server; the dummy credentials in the
    environment, as a user's would be (never in a file)."""
    for key, value in CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    return S3Bucket(s3_server, s3_server.make_bucket())
