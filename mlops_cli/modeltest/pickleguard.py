"""The second layer under pickle and joblib loading: a static scan and a guarded unpickler.

The first layer is in `safeload`: a pickle is unpickled at all only when its sha256 is in a
committed version record or the user passed `--trust`. This module never replaces that
gate, because a scanner can be fooled (memo and STACK_GLOBAL tricks, attribute chains,
stdlib functions that run code; see picklescan and modelscan advisories). It narrows what a
trusted file can reach:

* `scan` walks the opcodes without executing anything: it proves the stream is complete
  (a truncated file is caught here) and lists the globals it imports, simulating the stack
  and memo so STACK_GLOBAL operands are found however they were assembled.
* `GuardedUnpickler` / `guarded_joblib_unpickler` resolve each global through `resolve`,
  at the moment pickle asks for it, so the check sees the real module and name:
  - nothing from the standard library except plain data types and pickle's own helpers;
  - from numpy, scipy, scikit-learn and pandas only classes, ufuncs and their unpickling
    helpers, never functions (no `numpy.load`, no `numpy.testing...runstring`), never
    `numpy.memmap` (it creates files);
  - the object found must be the canonical one for that module and name, which defeats
    attribute chains such as `joblib.numpy_pickle.os.system`;
  - other third-party or project classes only, never functions;
  - BUILD on a class or function (setattr on a global) is refused.
"""

from __future__ import annotations

import _compat_pickle
import importlib
import pickle
import pickletools
import sys
import types
from dataclasses import dataclass, field
from typing import Any

KNOWN_PACKAGES = ("numpy", "scipy", "sklearn", "pandas")
# Functions pickle streams of scikit-learn models legitimately call (collected from real
# pickles of pipelines, forests, boosting, SVMs, pandas and numpy objects).
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
        ("pandas._libs.internals", "_unpickle_block"),
        ("pandas.core.internals.blocks", "new_block"),
        ("pandas.core.indexes.base", "_new_Index"),
        ("pandas._libs.tslibs.timestamps", "_unpickle_timestamp"),
        ("pandas._libs.tslibs.timedeltas", "_timedelta_unpickle"),
        ("pyarrow.lib", "_restore_array"),
        ("pyarrow.lib", "py_buffer"),
        ("pyarrow.lib", "type_for_alias"),
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
    | {("decimal", "Decimal"), ("fractions", "Fraction"), ("uuid", "UUID")}
)
# Inside the known packages: modules whose classes touch files, the network or run code.
DENIED_MODULES = (
    "numpy.lib._datasource",
    "numpy.lib.format",
    "numpy.lib.npyio",
    "numpy.lib._npyio_impl",
    "numpy.testing",
    "numpy.f2py",
    "numpy.distutils",
    "numpy.ctypeslib",
    "numpy.core.memmap",
    "numpy._core.memmap",
    "pandas.io",
    "pandas.plotting",
    "scipy.io",
    "scipy.datasets",
    "sklearn.datasets",
    "sklearn.utils._testing",
)
# Third-party packages whose classes are never model state.
DENIED_ROOTS = frozenset(
    {
        *("pip", "setuptools", "pkg_resources", "dill", "cloudpickle", "joblib", "torch"),
        *("tensorflow", "keras", "IPython", "mlops_cli", "git", "dvc", "docker", "yaml"),
        *("fsspec", "pyarrow", "requests", "urllib3", "paramiko", "fabric"),
    }
)
STDLIB = frozenset(sys.stdlib_module_names) | {"__builtin__", "copy_reg", "__main__"}


class Refused(Exception):
    """A global or an operation the guard does not allow; the message says which."""


class Missing(Exception):
    """An allowed global that cannot be imported here (a package or version is missing)."""


def _canonical(module: str, name: str) -> tuple[str, str]:
    """Python 2 names (`__builtin__`, `copy_reg`) as pickle itself maps them."""
    if (module, name) in _compat_pickle.NAME_MAPPING:
        return _compat_pickle.NAME_MAPPING[(module, name)]
    return _compat_pickle.IMPORT_MAPPING.get(module, module), name


def _under(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def precheck(module: str, name: str) -> str | None:
    """Why `module.name` is refused without importing anything; None if it may be resolved."""
    module, name = _canonical(module, name)
    root = module.split(".")[0]
    label = f"{module}.{name}"
    if any(p.startswith("__") and p.endswith("__") for p in name.split(".")) or not name:
        return f"{label}: reaches a dunder attribute"
    if (module, name) in ALLOWED_FUNCTIONS or (module, name) in ALLOWED_STDLIB_TYPES:
        return None
    if root in STDLIB:
        return f"{label}: standard-library objects other than plain data types are refused"
    if root in DENIED_ROOTS:
        return f"{label}: objects from {root} are never part of a model"
    if _under(module, DENIED_MODULES) or "memmap" in name.lower():
        return f"{label}: reads or writes files"
    return None


def resolve(module: str, name: str) -> Any:
    """The object `module.name` if the guard allows it; Refused otherwise."""
    if reason := precheck(module, name):
        raise Refused(reason)
    module, name = _canonical(module, name)
    label = f"{module}.{name}"
    try:
        obj: Any = importlib.import_module(module)
        for part in name.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise Missing(f"{label} cannot be imported here: {exc}") from None
    if (module, name) in ALLOWED_FUNCTIONS or (module, name) in ALLOWED_STDLIB_TYPES:
        return obj
    real_module = getattr(obj, "__module__", None)
    real_name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
    if (real_module, real_name) != (module, name):
        raise Refused(f"{label}: is really {real_module}.{real_name}, reached by another name")
    root = module.split(".")[0]
    if isinstance(obj, type) and root not in STDLIB:
        return obj
    if type(obj).__name__ == "ufunc" and root in ("numpy", "scipy"):
        return obj
    if root in KNOWN_PACKAGES and name.startswith("__pyx_unpickle_"):
        return obj  # Cython's generated unpickler of a class in the same module
    raise Refused(f"{label}: a function, and only known unpickling helpers may be called")


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

    def find_class(self, module: str, name: str) -> Any:
        return resolve(module, name)


def guarded_joblib_unpickler(filename: str, fobj: Any) -> Any:
    """joblib's NumpyUnpickler (arrays stored beside the pickle) under the same guard."""
    from joblib.numpy_pickle import NumpyArrayWrapper, NumpyUnpickler

    class Guarded(NumpyUnpickler):  # type: ignore[misc]
        dispatch = NumpyUnpickler.dispatch.copy()
        dispatch[pickle.BUILD[0]] = _guarded_build(NumpyUnpickler.load_build)

        def find_class(self, module: str, name: str) -> Any:
            if (module, name) == ("joblib.numpy_pickle", "NumpyArrayWrapper"):
                return NumpyArrayWrapper
            return resolve(module, name)

    return Guarded(filename, fobj, True)
