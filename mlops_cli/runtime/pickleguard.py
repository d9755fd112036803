"""The allow-list under every pickle and joblib load: a static scan and a guarded unpickler.

One definition for the whole project: `mlops test`, the regression baseline, `image build`'s
check and the runtime inside the image all import this module (it lives in runtime/, which
imports nothing else from mlops_cli, so the image carries it).

A pickle may reach only what is listed here; everything else is refused by name before any
import, and a name that is listed is resolved and checked once more:

* pickle's own reconstructors (`copyreg._reconstructor`, `__newobj__`, `_codecs.encode`) and
  numpy's (`multiarray._reconstruct`, `scalar`, `_frombuffer`, the random-state ctors);
* plain data types of the standard library (list, dict, set, slice, OrderedDict, ...);
* classes, never functions, of scikit-learn (`sklearn.*`, not its datasets or testing
  modules), numpy (scalar types, dtypes, ndarray, random generators; not memmap) and
  scipy.sparse matrices, plus Cython's generated `__pyx_unpickle_*` helpers of those
  packages and numpy/scipy ufuncs (pure array math);
* the object found must be the canonical one for that module and name, which defeats
  attribute chains such as `sklearn.utils.os.system`;
* BUILD on a class or function (setattr on a global) is refused.

pandas, the standard library's callables (os, subprocess, builtins.eval, operator,
functools, pydoc, timeit, code...) and every other package are outside the list: a class
whose constructor evaluates its argument (pandas' `Expr`) is a way to run code, so the
list names what models need instead of what attackers use. Extra names are the local
user's decision (`extra`, filled by the CLI from the environment or user configuration).
"""

from __future__ import annotations

import _compat_pickle
import importlib
import pickle
import pickletools
import types
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Reconstructors real scikit-learn pickles and joblib files call (collected from pipelines,
# forests, boosting, SVMs, scalers, encoders and sparse inputs; tests/runtime/test_pickleguard).
ALLOWED_FUNCTIONS = frozenset(
    {
        ("_codecs", "encode"),
        ("copyreg", "_reconstructor"),
        ("copyreg", "__newobj__"),
        ("copyreg", "__newobj_ex__"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy.core.numeric", "_frombuffer"),
        ("numpy._core.numeric", "_frombuffer"),
        ("numpy.random._pickle", "__randomstate_ctor"),
        ("numpy.random._pickle", "__bit_generator_ctor"),
        ("numpy.random._pickle", "__generator_ctor"),
        # `cls.__new__(cls)` for the trees of nearest-neighbour models; `cls` comes from
        # the stream, so through this list too.
        ("sklearn.neighbors._kd_tree", "newObj"),
        ("sklearn.neighbors._ball_tree", "newObj"),
        ("sklearn.metrics._dist_metrics", "newObj"),
        # Masked arrays (a search's `cv_results_`): builds an ndarray subclass, no call out.
        ("numpy.ma.core", "_mareconstruct"),
    }
)
ALLOWED_STDLIB_TYPES = frozenset(
    {
        ("builtins", n)
        for n in (
            *("object", "set", "frozenset", "slice", "complex", "bytearray", "bytes", "dict"),
            *("list", "tuple", "int", "float", "str", "bool", "range"),
        )
    }
    | {("collections", n) for n in ("OrderedDict", "defaultdict", "deque", "Counter")}
    | {("datetime", n) for n in ("date", "datetime", "time", "timedelta", "timezone")}
    | {("decimal", "Decimal"), ("fractions", "Fraction")}
)
# Packages whose classes may be model state, and where in them.
ALLOWED_PACKAGES = ("sklearn", "numpy", "scipy")
_CLASS_MODULES = ("sklearn", "numpy", "numpy.dtypes", "numpy.random", "scipy.sparse")
# Inside those packages: modules whose objects touch files, the network or run code.
DENIED_MODULES = (
    "numpy.lib",
    "numpy.testing",
    "numpy.f2py",
    "numpy.distutils",
    "numpy.ctypeslib",
    "numpy.core.memmap",
    "numpy._core.memmap",
    "numpy.core.records",
    "numpy._core.records",
    "scipy.sparse.linalg",
    "scipy.sparse.csgraph",
    "sklearn.datasets",
    "sklearn.utils._testing",
    "sklearn.externals",
)
DENIED_NAMES = frozenset({"memmap", "vectorize", "DataSource", "recarray", "record"})


class Refused(Exception):
    """A global or an operation the guard does not allow; the message says which."""


class Missing(Exception):
    """An allowed global that cannot be imported here (a package or version is missing)."""


def _canonical(module: str, name: str) -> tuple[str, str]:
    """Python 2 names (`__builtin__`, `copy_reg`) as pickle itself maps them."""
    if (module, name) in _compat_pickle.NAME_MAPPING:
        return _compat_pickle.NAME_MAPPING[(module, name)]
    return _compat_pickle.IMPORT_MAPPING.get(module, module), name


def _under(module: str, prefixes: Iterable[str]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def precheck(module: str, name: str, extra: frozenset[str] = frozenset()) -> str | None:
    """Why `module.name` is refused without importing anything; None if it may be resolved."""
    module, name = _canonical(module, name)
    label = f"{module}.{name}"
    if label in extra:
        return None
    if (module, name) in ALLOWED_FUNCTIONS or (module, name) in ALLOWED_STDLIB_TYPES:
        return None
    if not name or any(p.startswith("__") and p.endswith("__") for p in name.split(".")):
        return f"{label}: reaches a dunder attribute"
    if "." in name:
        return f"{label}: reaches an attribute of an attribute"
    if not _under(module, ALLOWED_PACKAGES):
        return f"{label}: not on the allow-list (only scikit-learn, numpy and scipy classes)"
    if _under(module, DENIED_MODULES) or name in DENIED_NAMES or "memmap" in name.lower():
        return f"{label}: reads or writes files or wraps a callable"
    return None


def resolve(module: str, name: str, extra: frozenset[str] = frozenset()) -> Any:
    """The object `module.name` if the allow-list admits it; Refused otherwise."""
    if reason := precheck(module, name, extra):
        raise Refused(reason)
    module, name = _canonical(module, name)
    label = f"{module}.{name}"
    try:
        obj: Any = importlib.import_module(module)
        for part in name.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise Missing(f"{label} cannot be imported here: {exc}") from None
    if label in extra or (module, name) in ALLOWED_FUNCTIONS:
        return obj
    if (module, name) in ALLOWED_STDLIB_TYPES:
        return obj
    real_module = getattr(obj, "__module__", None)
    real_name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
    if (real_module, real_name) != (module, name):
        raise Refused(f"{label}: is really {real_module}.{real_name}, reached by another name")
    if isinstance(obj, type) and _class_allowed(module, obj):
        return obj
    if type(obj).__name__ == "ufunc" and _under(module, ("numpy", "scipy.special")):
        return obj  # pure array math on the arrays it is given
    if name.startswith("__pyx_unpickle_") and _under(
        module, ("sklearn", "scipy.sparse", "numpy.random")
    ):
        return obj  # Cython's generated unpickler of a class in the same module
    kind = "a class outside the allow-list" if isinstance(obj, type) else "a function"
    raise Refused(f"{label}: {kind}; only model classes and known reconstructors are allowed")


def _class_allowed(module: str, cls: type) -> bool:
    """scikit-learn classes; numpy scalar types, dtypes, arrays, random generators; scipy
    sparse matrices."""
    if _under(module, ("sklearn", "numpy.dtypes", "numpy.random")):
        return True
    if _under(module, ("scipy.sparse",)):
        return True
    if module == "numpy" or _under(module, ("numpy.ma",)):
        import numpy

        return issubclass(cls, (numpy.generic, numpy.dtype, numpy.ndarray))
    return False


def allowed_type(dotted: str) -> str | None:
    """Why a dotted type name (a skops `trusted_types` entry) is refused; None if it names a
    class on the allow-list. Imports only modules of the allowed packages."""
    module, _, name = dotted.rpartition(".")
    if reason := precheck(module, name):
        return reason
    try:
        obj = resolve(module, name)
    except Refused as exc:
        return str(exc)
    except Missing:
        return f"{dotted}: cannot be imported here"
    if not isinstance(obj, type):
        return f"{dotted}: not a class"
    return None


@dataclass
class Scan:
    """What `scan` found without executing the pickle."""

    globals: list[tuple[str, str]] = field(default_factory=list)
    complete: bool = False  # the stream ends with STOP
    error: str | None = None


_STRINGS = {
    "STRING",
    "BINSTRING",
    "SHORT_BINSTRING",
    "UNICODE",
    "BINUNICODE",
    "SHORT_BINUNICODE",
    "BINUNICODE8",
}


def scan(data: bytes) -> Scan:
    """List the globals of a pickle stream, simulating its stack and memo for STACK_GLOBAL.

    Unknown operands are recorded as `?`, which `precheck` refuses: a stream built to hide
    its imports from a scanner gets refused rather than trusted.
    """
    result = Scan()
    stack: list[Any] = []
    memo: dict[int, Any] = {}
    unknown = object()
    try:
        for op, arg, _pos in pickletools.genops(data):
            name = op.name
            if name in _STRINGS:
                stack.append(arg if isinstance(arg, str) else str(arg))
            elif name in ("GLOBAL", "INST"):
                module, _, attr = str(arg).partition(" ")
                result.globals.append((module, attr))
                stack.append(unknown)
            elif name == "STACK_GLOBAL":
                top = stack.pop() if stack else unknown
                below = stack.pop() if stack else unknown
                result.globals.append(
                    (below if isinstance(below, str) else "?", top if isinstance(top, str) else "?")
                )
                stack.append(unknown)
            elif name in ("PUT", "BINPUT", "LONG_BINPUT"):
                memo[int(str(arg))] = stack[-1] if stack else unknown
            elif name == "MEMOIZE":
                memo[len(memo)] = stack[-1] if stack else unknown
            elif name in ("GET", "BINGET", "LONG_BINGET"):
                stack.append(memo.get(int(str(arg)), unknown))
            elif name == "STOP":
                result.complete = True
                break
            else:
                _effect(op, stack, unknown)
    except (ValueError, IndexError, KeyError) as exc:
        result.error = str(exc)
    return result


def _effect(op: Any, stack: list[Any], unknown: object) -> None:
    """Approximate an opcode's stack effect: pop what it consumes, push an opaque value."""
    if op.name == "MARK":
        stack.append(op)
        return
    if op.name == "POP_MARK" or any(s is pickletools.markobject for s in op.stack_before):
        while stack and getattr(stack[-1], "name", None) != "MARK":
            stack.pop()
        if stack:
            stack.pop()
    else:
        for _ in op.stack_before:
            if stack:
                stack.pop()
    stack.extend(unknown for s in op.stack_after if s is not pickletools.markobject)


def _guarded_build(base_build: Any) -> Any:
    def load_build(self: Any) -> None:
        if len(self.stack) >= 2 and isinstance(
            self.stack[-2], (type, types.FunctionType, types.BuiltinFunctionType, types.ModuleType)
        ):
            raise Refused(f"BUILD would set attributes on {self.stack[-2]!r}")
        base_build(self)

    return load_build


class GuardedUnpickler(pickle._Unpickler):
    """pickle's Python unpickler with `resolve` as its only way to reach a global."""

    dispatch = pickle._Unpickler.dispatch.copy()
    dispatch[pickle.BUILD[0]] = _guarded_build(pickle._Unpickler.load_build)  # type: ignore[attr-defined]

    extra: frozenset[str] = frozenset()

    def find_class(self, module: str, name: str) -> Any:
        return resolve(module, name, self.extra)


def guarded_joblib_unpickler(filename: str, fobj: Any, extra: frozenset[str] = frozenset()) -> Any:
    """joblib's NumpyUnpickler (arrays stored beside the pickle) under the same guard."""
    from joblib.numpy_pickle import NumpyArrayWrapper, NumpyUnpickler

    class Guarded(NumpyUnpickler):  # type: ignore[misc]
        dispatch = NumpyUnpickler.dispatch.copy()
        dispatch[pickle.BUILD[0]] = _guarded_build(NumpyUnpickler.load_build)

        def find_class(self, module: str, name: str) -> Any:
            if (module, name) == ("joblib.numpy_pickle", "NumpyArrayWrapper"):
                return NumpyArrayWrapper
            return resolve(module, name, extra)

    return Guarded(filename, fobj, True)


def load_pickle(path: Path, fmt: str, extra: frozenset[str] = frozenset()) -> Any:
    """Unpickle a pickle or joblib file through the allow-list (Refused, Missing)."""
    with Path(path).open("rb") as fh:
        if fmt == "pickle":
            unpickler = GuardedUnpickler(fh)
            unpickler.extra = extra
            return unpickler.load()
        from joblib.numpy_pickle_utils import _validate_fileobject_and_memmap

        with _validate_fileobject_and_memmap(fh, str(path)) as (fobj, _):
            if isinstance(fobj, str):
                raise Refused(f"{path} uses joblib's pre-0.10 format, which is not loaded")
            return guarded_joblib_unpickler(str(path), fobj, extra).load()
