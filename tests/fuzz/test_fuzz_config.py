"""Hostile mlops.yaml, fuzzed: every input ends in exit 0 or 3 with one line, never a crash.

Bounds stated here and checked per example: a document is rejected or accepted within
1 second; loading never needs more than the 1 MiB size limit's worth of parsing.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mlops_cli.common.errors import MlopsError
from mlops_cli.project.root import load_config
from tests.fuzz import examples

SETTINGS = settings(
    max_examples=examples(300),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

KEYS = [
    "project",
    "schema_version",
    "datasets",
    "models",
    "image",
    "stages",
    "remote",
    "template",
    "path",
    "schema",
    "target",
    "tests",
    "metrics",
    "min",
    "max",
    "format",
    "train_data",
    "test_data",
    "registry",
    "port",
    "base",
    "&a",
    "*a",
    "<<",
    "!!binary",
    "!!python/object:os.system",
    "? ",
    "- ",
    "{",
    "[",
    "'",
    '"',
    "\t",
    ":",
    "#",
    "|",
    ">",
]

yaml_ish = st.lists(
    st.one_of(st.sampled_from(KEYS), st.text(max_size=8), st.integers().map(str)),
    max_size=40,
).map(lambda parts: "".join(p + (": " if i % 3 == 0 else "\n  ") for i, p in enumerate(parts)))

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=30,
)


def check_one(tmp_path: Path, raw: bytes) -> None:
    path = tmp_path / "mlops.yaml"
    path.write_bytes(raw)
    start = time.monotonic()
    try:
        load_config(path)
    except MlopsError as exc:
        assert exc.exit_code == 3
        assert "\n" not in str(exc), str(exc)
        assert str(path) in str(exc) or "mlops.yaml" in str(exc)
    assert time.monotonic() - start < 1.0


@SETTINGS
@given(raw=st.binary(max_size=2048))
def test_random_bytes(tmp_path: Path, raw: bytes) -> None:
    check_one(tmp_path, raw)


@SETTINGS
@given(text=yaml_ish)
def test_yaml_shaped_text(tmp_path: Path, text: str) -> None:
    check_one(tmp_path, text.encode("utf-8"))


@SETTINGS
@given(value=json_values)
@example(value={"\n": None})  # a model name holding a newline once broke the one-line message
@example(value={" m": {"path": "x"}, "m\t": None})
def test_structured_documents(tmp_path: Path, value: Any) -> None:
    import yaml

    doc = {"project": "demo", "models": value} if isinstance(value, dict) else value
    check_one(tmp_path, yaml.safe_dump(doc, allow_unicode=True).encode("utf-8"))


@pytest.mark.parametrize(
    "raw",
    [
        b"project: " + b"[" * 10_000,  # deep nesting
        b"a: &a [*a]\n",  # recursive alias
        b"project: x\n" + b"k: " + b"x" * (2 * 1024 * 1024),  # over the size limit
        b"\xef\xbb\xbfproject: bom\n",  # UTF-8 BOM is fine
        b"project: x\x00y\n",  # NUL
        b"project: x\n---\nproject: y\n",  # two documents
    ],
)
def test_known_nasty_inputs(tmp_path: Path, raw: bytes) -> None:
    check_one(tmp_path, raw)
