"""Where the registry keeps its files in a project (records.py re-exports these): a module
of its own so that `policy.py`, which `records.resolve` asks, need not import records."""

from __future__ import annotations

RECORDS_DIR = ".mlops/models"
ARTIFACT_CACHE = ".mlops/cache/artifacts"


def record_path(name: str, version: str) -> str:
    return f"{RECORDS_DIR}/{name}/{version}.yaml"


def signature_path(name: str, version: str) -> str:
    """The model-signing bundle of the version's model file, committed beside its record."""
    return f"{RECORDS_DIR}/{name}/{version}.sig"
