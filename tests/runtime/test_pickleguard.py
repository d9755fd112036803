"""The allow-list unpickler against a corpus of known gadget chains, and real models.

Each gadget's payload creates a marker file. Where the callables exist here, the gadget
is first proven live (plain `pickle.loads` creates the marker), then every loader of the
project (`mlops_cli.modeltest.load`, the runtime's loader) is shown to refuse it with the
marker absent. Sources: the fickling, picklescan and modelscan corpora and advisories, and
issue 13 (pandas' `Expr`).
"""

from __future__ import annotations

import builtins
import code
import functools
import io
import operator
import os
import pickle
import pydoc
import subprocess
import time
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pytest

from mlops_cli.common.errors import UnsafeError
from mlops_cli.modeltest import load as safeload
from mlops_cli.runtime import pickleguard


class Call:
    """Pickles as `func(*args)`; callable itself so it can be the func of another Call."""

    def __init__(self, func: Any, *args: Any) -> None:
        self.func, self.args = func, args

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return self.func, self.args

    def __call__(self) -> None:  # pragma: no cover - only makes pickle accept it as a func
        raise AssertionError


def _raw(module: str, name: str, arg: str) -> bytes:
    """Protocol 0 `module.name(arg)`, for callables that cannot be imported here."""
    return f"c{module}\n{name}\n(V{arg}\ntR.".encode()


def corpus(marker: Path) -> dict[str, tuple[bytes, bool]]:
    """name -> (pickle bytes, whether plain unpickling is shown to run it here)."""
    sh = f"touch {marker}"
    imp = Call(builtins.__import__, "os")
    py = f"__import__('os').system({sh!r})"
    live: dict[str, Any] = {
        "os.system": Call(os.system, sh),
        "subprocess.Popen": Call(subprocess.call, ["sh", "-c", sh]),
        "builtins.eval": Call(builtins.eval, py),
        "builtins.exec": Call(builtins.exec, py),
        "builtins.getattr chain": Call(Call(builtins.getattr, imp, "system"), sh),
        "operator.attrgetter": Call(Call(Call(operator.attrgetter, "system"), imp), sh),
        "operator.methodcaller": Call(Call(operator.methodcaller, "system", sh), imp),
        "functools.partial": Call(Call(functools.partial, os.system, sh)),
        "pydoc.pipepager": Call(pydoc.pipepager, "x", sh),
        "timeit.timeit": Call(timeit.timeit, py, "pass", time.perf_counter, 1),
        "code.InteractiveInterpreter": Call(
            Call(builtins.getattr, Call(code.InteractiveInterpreter), "runsource"), py
        ),
        "numpy.testing runstring": Call(np.testing._private.utils.runstring, py, {}),
    }
    out = {name: (pickle.dumps(obj, protocol=4), True) for name, obj in live.items()}
    out["subprocess.Popen"] = (pickle.dumps(Call(subprocess.Popen, ["touch", str(marker)])), True)
    dead = {
        "pandas Expr (issue 13)": _raw("pandas.core.computation.expr", "Expr", py),
        "torch _rebuild_from_type_v2": _raw("torch._tensor", "_rebuild_from_type_v2", py),
        "torch.load": _raw("torch.serialization", "load", str(marker)),
        "numpy.load": _raw("numpy", "load", str(marker)),
        "numpy.memmap": _raw("numpy", "memmap", str(marker)),
        "numpy.f2py": _raw("numpy.f2py", "compile", py),
        "sklearn function": _raw("sklearn.utils.validation", "check_array", sh),
        "attribute chain": _raw("sklearn.base", "copy.deepcopy", sh),
        "module reached as attribute": _raw("sklearn.base", "inspect", sh),
        "dill/cloudpickle": _raw("dill._dill", "_create_function", sh),
        "runpy": _raw("runpy", "run_path", str(marker)),
        "webbrowser": _raw("webbrowser", "open", str(marker)),
        "joblib's own os": _raw("joblib.numpy_pickle", "os", sh),
        "pip main": _raw("pip", "main", sh),
    }
    out.update({name: (data, False) for name, data in dead.items()})
    # A FunctionTransformer (an allowed class) holding os.system as its func.
    from sklearn.preprocessing import FunctionTransformer

    out["FunctionTransformer(func=os.system)"] = (
        pickle.dumps(FunctionTransformer(func=os.system, kw_args={"command": sh})),
        False,
    )
    return out


def _loaders(path: Path) -> list[Callable[[], Any]]:
    return [
        lambda: safeload.load_model(path, "pickle", project=None, trust=True),
        lambda: pickleguard.load_pickle(path, "pickle"),
        lambda: pickleguard.load_pickle(path, "joblib"),
    ]


def test_every_gadget_is_live_then_refused(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    gadgets = corpus(marker)
    assert len(gadgets) >= 25
    for name, (data, is_live) in gadgets.items():
        if is_live:
            pickle.loads(data)  # the control: this payload does run when unpickled plainly
            for _ in range(100):  # Popen returns before its child has run
                if marker.exists():
                    break
                time.sleep(0.05)
            assert marker.exists(), f"{name}: the control payload did not run"
            marker.unlink()
        path = tmp_path / "model.pkl"
        path.write_bytes(data)
        for loader in _loaders(path):
            with pytest.raises((UnsafeError, pickleguard.Refused)):
                loader()
            assert not marker.exists(), f"{name} ran through a loader"


def test_refused_by_name_before_import() -> None:
    assert pickleguard.precheck("pandas.core.computation.expr", "Expr")
    assert pickleguard.precheck("builtins", "getattr")
    assert pickleguard.precheck("torch._utils", "_rebuild_tensor")
    assert pickleguard.precheck("sklearn.linear_model", "LogisticRegression") is None
    assert pickleguard.allowed_type("pydoc.pipepager")
    assert pickleguard.allowed_type("builtins.eval")
    assert pickleguard.allowed_type("sklearn.utils.validation.check_array")
    assert pickleguard.allowed_type("sklearn.preprocessing._data.StandardScaler") is None


def _models() -> dict[str, Any]:
    import pandas as pd
    from sklearn.cluster import KMeans
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import (
        GradientBoostingClassifier,
        HistGradientBoostingClassifier,
        RandomForestClassifier,
    )
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression, SGDClassifier
    from sklearn.model_selection import GridSearchCV
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler
    from sklearn.svm import SVC, LinearSVC

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = (X[:, 0] > 0).astype(int)
    frame = pd.DataFrame({"a": X[:, 0], "c": rng.choice(["x", "y"], 60)})
    text = [f"word{i % 5} token{i % 3}" for i in range(60)]
    cols = ColumnTransformer([("n", StandardScaler(), ["a"]), ("c", OneHotEncoder(), ["c"])])
    return {
        "scaler+logreg": (make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y), X),
        "forest": (RandomForestClassifier(n_estimators=5, random_state=0).fit(X, y), X),
        "boosting": (GradientBoostingClassifier(n_estimators=5).fit(X, y), X),
        "hist boosting": (HistGradientBoostingClassifier(max_iter=5).fit(X, y), X),
        "svc": (SVC(probability=True, random_state=0).fit(X, y), X),
        "knn (kd tree)": (KNeighborsClassifier(algorithm="kd_tree").fit(X, y), X),
        "knn (ball tree)": (KNeighborsClassifier(algorithm="ball_tree").fit(X, y), X),
        "sgd with a RandomState": (
            SGDClassifier(random_state=np.random.RandomState(0)).fit(X, y),
            X,
        ),
        "grid search (masked arrays)": (
            GridSearchCV(LogisticRegression(), {"C": [0.5, 1.0]}, cv=2).fit(X, y),
            X,
        ),
        "kmeans": (KMeans(n_clusters=2, n_init=1, random_state=0).fit(X), X),
        "columns on a frame": (make_pipeline(cols, LogisticRegression()).fit(frame, y), frame),
        "tfidf (sparse)": (make_pipeline(TfidfVectorizer(), LinearSVC()).fit(text, y), text),
        "log1p ufunc": (make_pipeline(FunctionTransformer(np.log1p), SVC()).fit(abs(X), y), abs(X)),
    }


@pytest.mark.parametrize("fmt", ["pickle", "joblib", "joblib-compressed"])
def test_real_sklearn_models_still_load(tmp_path: Path, fmt: str) -> None:
    for name, (model, rows) in _models().items():
        path = tmp_path / f"m.{fmt}"
        if fmt == "pickle":
            path.write_bytes(pickle.dumps(model))
        else:
            joblib.dump(model, path, compress=3 if fmt == "joblib-compressed" else 0)
        kind = "pickle" if fmt == "pickle" else "joblib"
        loaded = safeload.load_model(path, kind, project=None, trust=True)
        assert (loaded.predict(rows) == model.predict(rows)).all(), name
        again = pickleguard.load_pickle(path, kind)
        assert (again.predict(rows) == model.predict(rows)).all(), name


def test_a_pickled_function_is_refused_even_inside_sklearn(tmp_path: Path) -> None:
    """HistGradientBoosting with categorical features pickles functools.partial(check_array):
    a function, so refused; such a model is saved with skops or trusted locally."""
    from sklearn.ensemble import HistGradientBoostingRegressor

    X = np.floor(np.random.default_rng(0).random((40, 3)) * 3)
    model = HistGradientBoostingRegressor(max_iter=2, categorical_features=[0]).fit(X, X[:, 1])
    path = tmp_path / "m.pkl"
    path.write_bytes(pickle.dumps(model))
    with pytest.raises(pickleguard.Refused, match=r"functools\.partial"):
        pickleguard.load_pickle(path, "pickle")
    extra = frozenset({"functools.partial", "sklearn.utils.validation.check_array"})
    assert pickleguard.load_pickle(path, "pickle", extra).predict(X).shape == (40,)


def test_local_trust_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "m.pkl"
    path.write_bytes(pickle.dumps(io.BytesIO))  # a stdlib class outside the list
    with pytest.raises(UnsafeError, match="allow-list"):
        safeload.load_model(path, "pickle", project=None, trust=True)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.setenv(safeload.TRUSTED_TYPES_ENV, "_io.BytesIO")
    assert safeload.load_model(path, "pickle", project=None, trust=True) is io.BytesIO
