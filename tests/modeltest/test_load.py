"""Safe loading: skops type lists, the pickle trust gate, the guard, broken files."""

from __future__ import annotations

import io
import os
import pickle
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from mlops_cli.common.errors import InputError, UnsafeError
from mlops_cli.common.fs import sha256_file
from mlops_cli.modeltest import load as safeload
from mlops_cli.project.root import open_project
from mlops_cli.registry.register import register
from mlops_cli.runtime import pickleguard as picklesafe
from tests.modelproject import NAME, commit_all, copy_of, edit_config, trained

P = pickle


def _model() -> Any:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 3))
    return make_pipeline(StandardScaler(), LogisticRegression()).fit(x, x[:, 0] > 0)


# -- payloads whose __reduce__ creates a file -----------------------------------------


def payloads(target: Path) -> dict[str, bytes]:
    """Several ways a pickle can create `target` when loaded, from naive to evasive."""
    cmd = f"touch {target}"
    code = f"open({str(target)!r}, 'w').close()"

    class System:
        def __reduce__(self) -> Any:
            return (os.system, (cmd,))

    class Open:
        def __reduce__(self) -> Any:
            return (open, (str(target), "w"))

    class Popen:
        def __reduce__(self) -> Any:
            return (subprocess.Popen, (["touch", str(target)],))

    class Exec:
        def __reduce__(self) -> Any:
            return (exec, (code,))

    out: dict[str, bytes] = {}
    for name, cls in (("system", System), ("open", Open), ("popen", Popen), ("exec", Exec)):
        for proto in (0, 2, 5):
            out[f"{name}-p{proto}"] = pickle.dumps(cls(), protocol=proto)

    def s(text: str) -> bytes:
        raw = text.encode()
        return P.SHORT_BINUNICODE + bytes([len(raw)]) + raw

    # os/system parked in the memo with BINPUT, decoys memoized, then fetched for
    # STACK_GLOBAL (picklescan issue #14).
    out["memo-stack-global"] = (
        b"\x80\x04" + s("os") + P.BINPUT + b"\x00" + s("system") + P.BINPUT + b"\x01"
        + P.POP + P.POP + s("sklearn.base") + P.MEMOIZE + s("clone") + P.MEMOIZE + P.POP
        + P.POP + P.BINGET + b"\x00" + P.BINGET + b"\x01" + P.STACK_GLOBAL + s(cmd)
        + P.TUPLE1 + P.REDUCE + P.STOP
    )  # fmt: skip
    # INST calls the global it names, with no GLOBAL opcode at all (picklescan issue #13).
    out["inst"] = b"(S'" + cmd.encode() + b"'\nios\nsystem\n."
    # A dotted name walking from an allowed-looking module to os.system.
    out["attribute-chain"] = (
        b"\x80\x04" + s("joblib.numpy_pickle") + s("os.system") + P.STACK_GLOBAL + s(cmd)
        + P.TUPLE1 + P.REDUCE + P.STOP
    )  # fmt: skip
    # A numpy class that creates a file when called.
    out["numpy-memmap"] = (
        b"\x80\x04" + P.GLOBAL + b"numpy\nmemmap\n" + s(str(target)) + s("w+") + P.TUPLE2
        + P.REDUCE + P.STOP
    )  # fmt: skip
    # Standard-library and numpy functions that run source code.
    out["timeit"] = b"\x80\x04" + P.GLOBAL + b"timeit\ntimeit\n" + s(code) + P.TUPLE1
    out["timeit"] += P.REDUCE + P.STOP
    out["numpy-runstring"] = (
        b"\x80\x04" + P.GLOBAL + b"numpy.testing._private.utils\nrunstring\n" + s(code)
        + P.EMPTY_DICT + P.TUPLE2 + P.REDUCE + P.STOP
    )  # fmt: skip
    # BUILD on an allowed function to smuggle attributes (modelscan issue #85).
    out["build-on-global"] = (
        b"\x80\x04" + P.GLOBAL + b"numpy\nprod\n" + P.NONE + P.MARK + s("a") + s("os")
        + P.DICT + P.TUPLE2 + P.BUILD + P.STOP
    )  # fmt: skip
    # The classic inside a legitimate-looking model dict, through joblib.
    buf = io.BytesIO()
    joblib.dump({"model": _model(), "hook": System()}, buf)
    out["joblib-nested"] = buf.getvalue()
    arr = np.empty(2, dtype=object)
    arr[0], arr[1] = System(), 1
    buf = io.BytesIO()
    joblib.dump(arr, buf)
    out["joblib-object-array"] = buf.getvalue()
    buf = io.BytesIO()
    joblib.dump({"hook": System()}, buf, compress=3)
    out["joblib-compressed"] = buf.getvalue()
    return out


PAYLOAD_NAMES = sorted(payloads(Path("/x")))


@pytest.mark.parametrize("name", PAYLOAD_NAMES)
@pytest.mark.parametrize("trust", [False, True])
def test_a_pickle_that_would_create_a_file_is_refused(
    tmp_path: Path, name: str, trust: bool
) -> None:
    target = tmp_path / "PWNED"
    path = tmp_path / "model.bin"
    path.write_bytes(payloads(target)[name])
    fmt = "joblib" if name.startswith("joblib") else "pickle"
    with pytest.raises(UnsafeError) as err:
        safeload.load_model(path, fmt, project=None, trust=trust)
    assert err.value.exit_code == 4
    assert not target.exists()
    if not trust:
        assert "in no committed version record" in err.value.message


@pytest.mark.parametrize("name", [n for n in PAYLOAD_NAMES if not n.startswith("joblib")])
def test_the_guard_holds_without_the_scanner(tmp_path: Path, name: str) -> None:
    """The second layer alone: even if the static scan missed it, unpickling stops."""
    target = tmp_path / "PWNED"
    with pytest.raises(picklesafe.Refused):
        picklesafe.GuardedUnpickler(io.BytesIO(payloads(target)[name])).load()
    assert not target.exists()


@pytest.mark.parametrize("name", [n for n in PAYLOAD_NAMES if n.startswith("joblib")])
def test_the_joblib_guard_holds_without_the_scanner(tmp_path: Path, name: str) -> None:
    from joblib.numpy_pickle_utils import _validate_fileobject_and_memmap

    target = tmp_path / "PWNED"
    path = tmp_path / "m.joblib"
    path.write_bytes(payloads(target)[name])
    with (
        path.open("rb") as fh,
        _validate_fileobject_and_memmap(fh, str(path)) as (fobj, _),
        pytest.raises(picklesafe.Refused),
    ):
        picklesafe.guarded_joblib_unpickler(str(path), fobj).load()
    assert not target.exists()


def test_the_scanner_sees_through_the_memo(tmp_path: Path) -> None:
    found = picklesafe.scan(payloads(tmp_path / "x")["memo-stack-global"])
    assert ("os", "system") in found.globals and found.complete


@pytest.mark.parametrize(("fmt", "compress"), [("pickle", 0), ("joblib", 0), ("joblib", 3)])
def test_real_models_load_through_the_guard_when_trusted(
    tmp_path: Path, fmt: str, compress: int
) -> None:
    model = _model()
    path = tmp_path / f"m.{fmt}"
    if fmt == "pickle":
        path.write_bytes(pickle.dumps(model, protocol=5))
    else:
        joblib.dump(model, path, compress=compress)
    loaded = safeload.load_model(path, fmt, project=None, trust=True)
    x = np.eye(3)
    assert (loaded.predict(x) == model.predict(x)).all()
    check = safeload.check_loadable(path, fmt, project=None, trust=True)
    assert check.trusted_by == "--trust"
    assert "sklearn.pipeline.Pipeline" in check.types


# -- skops ----------------------------------------------------------------------------


def test_skops_loads_default_trusted_types(tmp_path: Path) -> None:
    path = tmp_path / "m.skops"
    sio.dump(_model(), path)
    check = safeload.check_loadable(path, "skops", project=None)
    assert (check.types, check.trusted_by) == ([], "skops defaults")
    assert safeload.load_model(path, "skops", project=None).predict(np.eye(3)).shape == (3,)


def test_skops_refuses_types_mlops_yaml_does_not_trust(tmp_path: Path) -> None:
    import collections

    path = tmp_path / "m.skops"
    sio.dump(FunctionTransformer(collections.OrderedDict).fit(np.eye(2)), path)
    with pytest.raises(UnsafeError, match=r"skops does not trust collections\.OrderedDict") as err:
        safeload.load_model(path, "skops", project=None)
    assert "trusted_types" in (err.value.hint or "")
    with pytest.raises(UnsafeError):  # --trust does not widen a skops type list
        safeload.load_model(path, "skops", project=None, trust=True)
    loaded = safeload.load_model(
        path, "skops", project=None, trusted_types=["collections.OrderedDict"]
    )
    assert isinstance(loaded, FunctionTransformer)


def test_a_pickle_declared_as_skops_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "m.skops"
    path.write_bytes(pickle.dumps(_model()))
    with pytest.raises(UnsafeError, match="declared skops but holds a pickle"):
        safeload.check_loadable(path, "skops", project=None)


# -- missing, pointer and truncated files: exit 3 -------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such model file") as err:
        safeload.check_loadable(tmp_path / "nope.skops", "skops", project=None)
    assert err.value.exit_code == 3 and "dvc pull" in (err.value.hint or "")


@pytest.mark.parametrize(
    ("content", "what", "fix"),
    [
        (
            b"outs:\n- md5: 24966d4be7a20d2797edceff9e8f4ec2\n  size: 36540\n  hash: md5\n"
            b"  path: model.skops\n",
            "DVC pointer",
            "dvc pull",
        ),
        (
            b"version https://git-lfs.github.com/spec/v1\noid sha256:"
            + b"a" * 64
            + b"\nsize 36540\n",
            "git-lfs pointer",
            "git lfs pull",
        ),
    ],
)
@pytest.mark.parametrize("fmt", ["skops", "joblib", "pickle"])
def test_pointer_files(tmp_path: Path, content: bytes, what: str, fix: str, fmt: str) -> None:
    path = tmp_path / "model.bin"
    path.write_bytes(content)
    with pytest.raises(InputError, match=what) as err:
        safeload.check_loadable(path, fmt, project=None, trust=True)
    assert err.value.exit_code == 3 and fix in (err.value.hint or "")


@pytest.mark.parametrize("kind", ["skops", "joblib", "joblib-raw", "pickle"])
def test_truncated_files(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "m.bin"
    model = _model()
    fmt = kind.split("-")[0]
    if kind == "skops":
        sio.dump(model, path)
    elif kind.startswith("joblib"):
        joblib.dump(model, path, compress=0 if kind == "joblib-raw" else 3)
    else:
        path.write_bytes(pickle.dumps(model))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="truncated or corrupt") as err:
        safeload.load_model(path, fmt, project=None, trust=True)
    assert err.value.exit_code == 3
    path.write_bytes(b"")
    with pytest.raises(InputError, match="empty"):
        safeload.check_loadable(path, fmt, project=None, trust=True)


def test_a_corrupt_skops_member_is_caught(tmp_path: Path) -> None:
    path = tmp_path / "m.skops"
    sio.dump(_model(), path)
    with zipfile.ZipFile(path) as archive:
        info = archive.infolist()[-1]
    data = bytearray(path.read_bytes())
    offset = info.header_offset + 30 + len(info.filename) + len(info.extra)
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(InputError, match="truncated or corrupt"):
        safeload.check_loadable(path, "skops", project=None)


# -- trust from a committed record -----------------------------------------------------


@pytest.fixture
def joblib_project(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Path:
    """The trained project, its model saved with joblib and committed to git."""
    project = copy_of(trained(tmp_path_factory), tmp_path)
    model = safeload.load_model(project / "models/model.skops", "skops", project=None)
    joblib.dump(model, project / "models/model.joblib")
    edit_config(project, "path: models/model.skops", "path: models/model.joblib")
    edit_config(project, "format: skops", "format: joblib")
    commit_all(project, "keep a joblib copy in git")
    return project


def test_a_joblib_model_loads_once_a_committed_record_names_it(joblib_project: Path) -> None:
    p = open_project(joblib_project)
    path = joblib_project / "models/model.joblib"
    with pytest.raises(UnsafeError, match="in no committed version record"):
        safeload.check_loadable(path, "joblib", project=p)
    done = register(p, NAME)
    assert done.record.artifact["dvc_md5"] is None  # git-tracked, not DVC
    check = safeload.check_loadable(path, "joblib", project=p)
    assert check.trusted_by == f"record {NAME}@v0.0.1"
    rows = pd.read_csv(joblib_project / "data/prepared/holdout.csv").drop(columns="target")
    assert safeload.load_model(path, "joblib", project=p).predict(rows).shape == (len(rows),)
    # A record on another branch, reachable only through its tag, still vouches.
    subprocess.run(
        ["git", "checkout", "-q", "-b", "other", "HEAD~1"], cwd=joblib_project, check=True
    )
    assert not (joblib_project / done.record_path).exists()
    assert safeload.check_loadable(path, "joblib", project=p).trusted_by.startswith("record")
    # Another file, vouched for only by a record in the work tree, is not trusted.
    other = joblib_project / "models/other.joblib"
    shutil.copy(path, other)
    with other.open("ab") as fh:
        fh.write(b"\0")
    fake = joblib_project / ".mlops/models/churn/v9.9.9.yaml"
    fake.parent.mkdir(parents=True, exist_ok=True)
    fake.write_text(
        done.record.to_yaml().replace(done.record.artifact["sha256"], sha256_file(other)[0])
    )
    with pytest.raises(UnsafeError, match="in no committed version record"):
        safeload.check_loadable(other, "joblib", project=p)
