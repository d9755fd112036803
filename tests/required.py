"""A test whose real component is missing: skipped on a developer's machine, failed in CI
(MLOPS_REQUIRE_ALL=1, set by .ci/run), where every component must be there."""

from __future__ import annotations

import os

import pytest


def unavailable(reason: str) -> None:
    if os.environ.get("MLOPS_REQUIRE_ALL") == "1":
        pytest.fail(f"{reason} (MLOPS_REQUIRE_ALL=1: required here)", pytrace=False)
    pytest.skip(reason)
