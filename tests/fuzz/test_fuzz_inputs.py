"""Hostile schema files, version records, template names and CSV bytes, fuzzed.

Every input ends in a result (a validation report, a record, a template) or an MlopsError
with a one-line message and a documented exit code (1, 3 or 4) — never another exception.

Bounds stated here and checked: each example within 5 seconds (TIME_BOUND); the whole
module's peak RSS grows by less than 512 MiB (RSS_BOUND) over the process's peak before it,
and one CLI run with a huge-field CSV ends in exit 1 or 3 under `ulimit -v` of 4 GiB
with a peak RSS under 1 GiB.
"""

from __future__ import annotations

import copy
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

from mlops_cli.common.errors import MlopsError
from mlops_cli.registry.records import parse_record
from mlops_cli.scaffold.templates import builtin_root, load_template_dir, resolve_template
from mlops_cli.validation.validate import validate_file
from tests.conftest import mlops_bin, tree_bytes
from tests.fuzz import examples
from tests.valdata import SCHEMA, rows, write_csv

TIME_BOUND = 5.0
RSS_BOUND_MIB = 512
DOCUMENTED = {1, 3, 4}

SETTINGS = settings(
    max_examples=examples(150),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

TEMPLATE_SCHEMA = (builtin_root() / "sklearn-classifier/partials/schemas/iris.yaml").read_text()
IRIS_HEADER = "sepal_length_cm,sepal_width_cm,petal_length_cm,petal_width_cm,target\n"

RECORD = """\
model: churn
version: v1.2.0
created: 2026-11-27T12:00:00Z
git: {commit: 3f2c7e0b5a3f2c7e0b5a3f2c7e0b5a3f2c7e0b5a, tag: churn@v1.2.0}
artifact: {path: models/model.skops, format: skops, sha256: SHA_A, bytes: 48211}
data: {train: {path: data/train.csv, md5: 0123456789abcdef0123456789abcdef, rows: 10000}}
params: {n_estimators: 200, max_depth: 8}
metrics: {accuracy: 0.912}
environment: {python: "3.11", packages: {scikit-learn: 1.5.2, numpy: 2.1.3}}
tests: {passed: true, checks: [], ran: 2026-11-27T12:03:00Z}
images: [{ref: registry.example/churn:v1.2.0, digest: "sha256:SHA_B", pushed: true}]
""".replace("SHA_A", "a" * 64).replace("SHA_B", "b" * 64)


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


@pytest.fixture(scope="module", autouse=True)
def rss_bound() -> Iterator[None]:
    before = peak_rss_mib()
    yield
    grown = peak_rss_mib() - before
    assert grown < RSS_BOUND_MIB, f"peak RSS grew by {grown:.0f} MiB during the fuzz module"


def bounded(
    call: Callable[[], Any], *, allowed: tuple[type[MlopsError], ...] = (MlopsError,)
) -> Any:
    """Run call(); an MlopsError must be allowed, one line, documented exit; time bounded."""
    start = time.monotonic()
    try:
        result = call()
    except MlopsError as exc:
        assert isinstance(exc, allowed), f"{type(exc).__name__}: {exc}"
        assert exc.exit_code in DOCUMENTED, exc
        assert "\n" not in exc.message, repr(exc.message)
        result = exc
    elapsed = time.monotonic() - start
    if currently_in_test_context():  # --hypothesis-show-statistics: what the inputs reach
        event(f"outcome: {type(result).__name__}")
    assert elapsed < TIME_BOUND, f"took {elapsed:.1f}s"
    return result


# --- mutation helpers ---------------------------------------------------------------------

leaves = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | st.sampled_from(
        [
            "int64",
            "float64",
            "str",
            "bool",
            "datetime64[ns]",
            "category",
            "object",
            "Int64",
            "in_range",
            "isin",
            "str_matches",
            "(",
            "[a-",
            ".*" * 20,
            "!!python/name:os.system",
            "lambda x: x",
            "__import__('os')",
            "nan",
            "inf",
            "-1e309",
            "2026-13-45",
        ]
    )
)
keys = st.text(max_size=10) | st.integers() | st.booleans() | st.sampled_from(
    ["id", "age", "income", "segment", "score", "dtype", "checks", "nullable", "unique",
     "regex", "coerce", "required", "strict", "columns", "schema_type", "index", "title",
     "in_range", "isin", "min_value", "max_value", "str_matches", "git", "tests", "images",
     "artifact", "sha256", "variables", "choices", "pattern", "exports", "path", "dvc_add"]
)  # fmt: skip
values = st.recursive(
    leaves,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=4),
    max_leaves=20,
)


def paths_of(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += paths_of(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += paths_of(v, (*prefix, i))
    return out


@st.composite
def mutated(draw: st.DrawFn, base: dict[str, Any]) -> Any:
    """A valid document with 1-4 nodes replaced, deleted, or given an extra key."""
    doc = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 4))):
        targets = paths_of(doc)
        where = draw(st.sampled_from(targets))
        if not where:
            doc = draw(values)
            continue
        parent = doc
        for step in where[:-1]:
            parent = parent[step]
        op = draw(st.sampled_from(["replace", "delete", "add"]))
        key = where[-1]
        if op == "replace":
            parent[key] = draw(values)
        elif op == "delete":
            del parent[key]
        elif isinstance(parent, dict):
            parent[draw(keys)] = draw(values)
        else:
            parent.insert(key, draw(values))
        if not isinstance(doc, dict | list):
            break
    return doc


def dump(doc: Any) -> bytes:
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False).encode("utf-8")


def byte_mutations(base: bytes) -> st.SearchStrategy[bytes]:
    """Flip, cut or splice bytes of a valid document."""

    @st.composite
    def strat(draw: st.DrawFn) -> bytes:
        data = bytearray(base)
        for _ in range(draw(st.integers(1, 6))):
            if not data:
                break
            i = draw(st.integers(0, len(data) - 1))
            op = draw(st.sampled_from(["flip", "cut", "insert"]))
            if op == "flip":
                data[i] = draw(st.integers(0, 255))
            elif op == "cut":
                del data[i : i + draw(st.integers(1, 40))]
            else:
                data[i:i] = draw(
                    st.sampled_from(
                        [
                            b"\x00",
                            b"\xff\xfe",
                            b"&a ",
                            b"*a",
                            b"!!binary ",
                            b"{",
                            b"[",
                            b"\n- ",
                            b": ",
                            b"\t",
                            b"'",
                            b"\xe9",
                            b"<<: *a\n",
                        ]
                    )
                )
        return bytes(data)

    return strat()


# --- schema files -------------------------------------------------------------------------


@pytest.fixture
def small_csv(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "data.csv", rows(20))


def check_schema(tmp_path: Path, csv: Path, raw: bytes) -> None:
    schema = tmp_path / "schema.yaml"
    schema.write_bytes(raw)
    bounded(lambda: validate_file(csv, schema, root=tmp_path, use_cache=False))


SCHEMA_DOC = yaml.safe_load(SCHEMA)


@SETTINGS
@given(doc=mutated(SCHEMA_DOC))
# Found by the explore profile: pandera's polars backend crashed on a column with no spec
# under a schema-level `coerce` that is not a bool.
@example(doc={**SCHEMA_DOC, "columns": {**SCHEMA_DOC["columns"], "": None}, "coerce": "0"})
def test_schema_documents_mutated(tmp_path: Path, small_csv: Path, doc: Any) -> None:
    check_schema(tmp_path, small_csv, dump(doc))


@SETTINGS
@given(raw=byte_mutations(SCHEMA.encode()) | st.binary(max_size=512))
def test_schema_bytes_mutated(tmp_path: Path, small_csv: Path, raw: bytes) -> None:
    check_schema(tmp_path, small_csv, raw)


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"columns: " + b"[" * 5000,
        b"a: &a [*a, *a]\nb: &b [*a, *a]\nc: &c [*b, *b]\nd: &d [*c, *c]\ncolumns: [*d, *d]\n",
        b"schema_type: dataframe\ncolumns:\n  segment: {checks: {str_matches: '(a+)+$'}}\n",
        b"schema_type: dataframe\ncolumns:\n  id: {checks: {no_such_check: 1}}\n",
        b"schema_type: dataframe\ncolumns:\n  id: !!python/object/apply:os.system [echo pwned]\n",
        b"schema_type: series\n",
        b"schema_type: dataframe\ncolumns: {id: {dtype: 'no-such-dtype'}}\n",
        b"schema_type: dataframe\ncolumns:\n  id:\n  age: {dtype: int64}\n",  # was a crash
    ],
    ids=[
        "empty",
        "deep",
        "billion-laughs",
        "regex",
        "unknown-check",
        "python-tag",
        "series",
        "dtype",
        "bare-column",
    ],
)
def test_schema_known_nasty(tmp_path: Path, small_csv: Path, raw: bytes) -> None:
    check_schema(tmp_path, small_csv, raw)


@pytest.mark.parametrize(
    "raw",
    [b"columns: [", b"schema_type: dataframe\ncolumns: {id: {dtype: nope}}\n", b"\xff\xfe\x00"],
)
def test_schema_cli_one_line_exit_3(
    tmp_path: Path, small_csv: Path, mlops: Any, raw: bytes
) -> None:
    (tmp_path / "schema.yaml").write_bytes(raw)
    (tmp_path / "mlops.yaml").write_text(
        "schema_version: 1\nproject: demo\ndatasets:\n  d: {path: data.csv, schema: schema.yaml}\n"
    )
    run = mlops("validate", "d", cwd=tmp_path, timeout=60)
    assert run.exit_code in (1, 3), run.stderr
    assert "Traceback" not in run.stderr + run.stdout
    errors = [line for line in run.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, run.stderr


# --- version records ----------------------------------------------------------------------


def check_record(raw: bytes) -> None:
    from mlops_cli.common.errors import ConfigError, InputError

    result = bounded(lambda: parse_record(raw, "fuzz.yaml"), allowed=(ConfigError, InputError))
    if isinstance(result, MlopsError):
        assert result.exit_code == 3


@pytest.mark.parametrize(
    "section", ["git: true", "artifact: [1]", "data: {train: 3}", "images: {a: 1}", "tests: 7"]
)
def test_record_with_a_section_of_the_wrong_type_is_exit_3(section: str) -> None:
    key = section.split(":")[0]
    lines = [line for line in RECORD.splitlines() if not line.startswith(f"{key}:")]
    check_record("\n".join([*lines, section, ""]).encode())  # was an AttributeError
    with pytest.raises(MlopsError, match=f"`{key}` must be"):
        parse_record("\n".join([*lines, section, ""]).encode(), "r.yaml")


def test_valid_record_parses() -> None:
    record = parse_record(RECORD.encode(), "ok.yaml")
    assert (record.model, record.version) == ("churn", "v1.2.0")


@settings(SETTINGS, max_examples=examples(300))
@given(doc=mutated(yaml.safe_load(RECORD)))
def test_record_documents_mutated(doc: Any) -> None:
    check_record(dump(doc))


@settings(SETTINGS, max_examples=examples(300))
@given(raw=byte_mutations(RECORD.encode()) | st.binary(max_size=1024))
def test_record_bytes_mutated(raw: bytes) -> None:
    check_record(raw)


# --- template names and template.yaml -----------------------------------------------------

template_refs = st.one_of(
    st.text(max_size=40).filter(lambda s: "\x00" not in s),
    st.integers(200, 5000).map(lambda n: "x" * n),
    st.sampled_from(["~nosuchuser/t", "~root/../../etc"]),
    st.lists(
        st.sampled_from(
            [
                "..",
                ".",
                "~",
                "",
                "sklearn-classifier",
                "etc",
                "passwd",
                "x",
                "/",
                "template.yaml",
                "files",
                "%2e%2e",
                "\\",
            ]
        ),
        min_size=1,
        max_size=8,
    ).map("/".join),
)


@SETTINGS
@given(ref=template_refs)
def test_template_refs(tmp_path: Path, ref: str) -> None:
    before = tree_bytes(tmp_path)
    result = bounded(lambda: resolve_template(ref, cwd=tmp_path))
    if not isinstance(result, MlopsError):
        assert (result.root / "template.yaml").is_file()
    assert tree_bytes(tmp_path) == before


TEMPLATE_DOC = yaml.safe_load((builtin_root() / "sklearn-classifier/template.yaml").read_text())


@SETTINGS
@given(doc=mutated(TEMPLATE_DOC))
@example(doc={**TEMPLATE_DOC, "\n": None})  # a key holding a newline broke the one-line message
def test_template_yaml_mutated(tmp_path: Path, doc: Any) -> None:
    folder = tmp_path / "tpl"
    (folder / "project").mkdir(parents=True, exist_ok=True)
    (folder / "template.yaml").write_bytes(dump(doc))
    bounded(lambda: load_template_dir(folder, builtin=False))


@pytest.mark.parametrize(
    "ref",
    ["../../../../etc", "/etc", "~", "sklearn-classifier/../../..", "x" * 5000, "-rf", "."],
)
def test_init_with_hostile_template_writes_nothing(tmp_path: Path, mlops: Any, ref: str) -> None:
    work = tmp_path / "work"
    work.mkdir()
    run = mlops("init", "x", "--no-git", "--template", ref, cwd=work, timeout=60)
    assert run.exit_code in (2, 3, 4), run.stderr
    assert "Traceback" not in run.stderr + run.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["work"]
    assert list(work.iterdir()) == []


# --- CSV bytes ----------------------------------------------------------------------------

csv_cells = st.one_of(
    st.sampled_from(
        [
            "5.1",
            "3.5",
            "1.4",
            "0.2",
            "0",
            "1",
            "2",
            "",
            "nan",
            "inf",
            "-0",
            "1e308",
            "9" * 400,
            '"',
            '""',
            "a,b",
            "\x00",
            "\r",
            "é",
            "NULL",
            " 1.0 ",
        ]
    ),
    st.text(max_size=6),
)
csv_text = st.lists(st.lists(csv_cells, min_size=0, max_size=8), max_size=20).map(
    lambda rws: IRIS_HEADER + "".join(",".join(r) + "\n" for r in rws)
)


def check_csv(tmp_path: Path, raw: bytes) -> None:
    schema = tmp_path / "iris.yaml"
    if not schema.exists():
        schema.write_text(TEMPLATE_SCHEMA)
    data = tmp_path / "data.csv"
    data.write_bytes(raw)
    bounded(lambda: validate_file(data, schema, root=tmp_path, use_cache=False))


@SETTINGS
@given(raw=st.binary(max_size=2048))
def test_csv_random_bytes(tmp_path: Path, raw: bytes) -> None:
    check_csv(tmp_path, raw)


@SETTINGS
@given(text=csv_text)
def test_csv_ragged_rows(tmp_path: Path, text: str) -> None:
    check_csv(tmp_path, text.encode("utf-8", "surrogatepass"))


@SETTINGS
@given(raw=byte_mutations((IRIS_HEADER + "5.1,3.5,1.4,0.2,0\n" * 10).encode()))
def test_csv_bytes_mutated(tmp_path: Path, raw: bytes) -> None:
    check_csv(tmp_path, raw)


def _small_parquet() -> bytes:
    import io

    import polars as pl

    buf = io.BytesIO()
    columns = IRIS_HEADER.strip().split(",")
    values = [[5.1, 4.9], [3.5, 3.0], [1.4, 1.4], [0.2, 0.2], [0, 1]]
    frame = pl.DataFrame({name: pair * 10 for name, pair in zip(columns, values, strict=True)})
    frame.write_parquet(buf, row_group_size=7)
    return buf.getvalue()


def _non_utf8_column_name() -> bytes:
    """The small file with one byte of a column name in the footer's schema made 0xff: the
    input that once escaped `_pyarrow_layout` (then in readers.py) as a UnicodeDecodeError
    (found in CI)."""
    raw = _small_parquet()
    footer_start = len(raw) - 8 - int.from_bytes(raw[-8:-4], "little")
    at = raw.index(b"petal_width_cm", footer_start)
    return raw[:at] + b"\xff" + raw[at + 1 :]


@SETTINGS
@given(raw=byte_mutations(_small_parquet()))
@example(raw=_non_utf8_column_name())
def test_parquet_layout_of_mutated_bytes(tmp_path: Path, raw: bytes) -> None:
    """A damaged Parquet footer (read without pyarrow) gives pyarrow's layout, or exit 3.
    Only the layout: polars itself may abort the process on damaged data pages (it did
    before the footer was read this way), which a fuzzed suite cannot survive."""
    from mlops_cli.validation.parquetmeta import _pyarrow_layout, parquet_layout

    data = tmp_path / "data.parquet"
    data.write_bytes(raw)
    layout = bounded(lambda: parquet_layout(data, source="data.parquet"))
    expected = bounded(lambda: _pyarrow_layout(data, "data.parquet"))
    if not isinstance(layout, MlopsError) and not isinstance(expected, MlopsError):
        assert layout == expected


def test_non_utf8_column_name_is_a_damaged_file(tmp_path: Path) -> None:
    from mlops_cli.validation.parquetmeta import _pyarrow_layout, parquet_layout

    data = tmp_path / "data.parquet"
    data.write_bytes(_non_utf8_column_name())
    for read in (lambda: parquet_layout(data, source="d"), lambda: _pyarrow_layout(data, "d")):
        with pytest.raises(MlopsError) as info:
            read()
        assert info.value.exit_code == 3 and "not a Parquet file" in str(info.value)


HUGE = 8 * 1024 * 1024


@pytest.mark.parametrize(
    "raw",
    [
        IRIS_HEADER.encode() + b"5.1,3.5,1.4,0.2," + b"1" * HUGE + b"\n",
        IRIS_HEADER.encode() + b'"' + b"x" * HUGE + b'",1,1,1,0\n',
        IRIS_HEADER.encode() + b'"unterminated,1,1,1,0\n' * 1000,
        IRIS_HEADER.encode() + b"5.1,3.5,1.4,0.2,0" + b",0" * 100_000 + b"\n",
        b",".join([b"c"] * 50_000) + b"\n",
        IRIS_HEADER.encode() + b"\x00" * 4096,
        b"\xef\xbb\xbf" + IRIS_HEADER.encode() + b"5.1,3.5,1.4,0.2,0\r\n",
        IRIS_HEADER.encode() + b"5.1,3.5,1.4,0.2,\xff\n",
        IRIS_HEADER.encode() + b"\n" * 200_000,
        b"\x00a,\x00b\n1,2\n",  # was a polars DuplicateError: Arrow cuts names at NUL
        b"x" * HUGE + b",b\n1,2\n",  # a header field over the csv module's limit
    ],
    ids=[
        "huge-number",
        "huge-quoted",
        "unterminated",
        "wide-row",
        "wide-header",
        "nuls",
        "bom-crlf",
        "not-utf8",
        "blank-lines",
        "nul-in-header",
        "huge-header",
    ],
)
def test_csv_known_nasty(tmp_path: Path, raw: bytes) -> None:
    check_csv(tmp_path, raw)


def test_hostile_csv_cli_under_a_memory_limit(tmp_path: Path) -> None:
    """A CLI run on a huge-field CSV under `ulimit -v 4 GiB` (polars and pyarrow reserve
    ~2 GiB of address space at import): exit 1 or 3, no traceback, RSS under 1 GiB."""
    (tmp_path / "iris.yaml").write_text(TEMPLATE_SCHEMA)
    (tmp_path / "data.csv").write_bytes(
        IRIS_HEADER.encode() + b"5.1,3.5,1.4,0.2," + b"7" * HUGE + b"\n"
    )
    (tmp_path / "mlops.yaml").write_text(
        "schema_version: 1\nproject: demo\ndatasets:\n  d: {path: data.csv, schema: iris.yaml}\n"
    )
    limit_kib = 4 * 1024 * 1024
    cmd = " ".join(f"'{c}'" for c in mlops_bin())
    # A wrapper process reports the peak RSS of its own children only, so other tests'
    # subprocesses cannot skew the figure.
    wrapper = (
        "import resource, subprocess, sys; p = subprocess.run(sys.argv[1:]); "
        "print('peak-rss-kib', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, "
        "file=sys.stderr); sys.exit(p.returncode)"
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            wrapper,
            "bash",
            "-c",
            f"ulimit -v {limit_kib}; exec {cmd} validate d",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert proc.returncode in (1, 3), proc.stderr
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
    peak_kib = int(proc.stderr.rsplit("peak-rss-kib", 1)[1].split()[0])
    assert peak_kib < 1024 * 1024, f"peak RSS {peak_kib} KiB"
