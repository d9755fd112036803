"""Load pandera for its polars engine without pandas and numpy, where that is known to work.

pandera imports pandas and numpy whenever they are installed, although its polars engine
uses neither: at `import pandera`, and at the first check it runs. That is 0.3-0.6 s and
~50 MB on every `mlops validate` of a polars-engine data set. pandera supports installs
without pandas (its GH #2387), so mlops imports and runs it as in one, by hiding pandas and
numpy from the importing thread, and completes pandera's pandas API on first use for any
later caller in the same process.

This leans on two pandera internals (`pandera._pandas_deprecated.__all__` and the cache in
`pandera.backends.register_checks`), so it is used only for the pandera versions in
TESTED; any other version, or an import that fails this way, loads pandera the usual way.
No supported pandera import path avoids pandas (docs/design-decisions.md, "pandera without
pandas", with the figures). tests/validation/test_panderaload.py fails the day pandera
changes under it (its version, the internals, the verdicts on real data against a plain
`import pandera`); tests/validation/test_validate.py checks a pandas-engine run after it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

# pandera minor versions whose internals this module was tested against.
TESTED = ("0.35.",)


def fast_import_supported() -> bool:
    from mlops_cli.validation.cache import engine_version

    return engine_version("pandera").startswith(TESTED)


class _Unimportable:
    """A meta path finder under which `names` cannot be imported by the thread that made it
    (other threads, such as the one reading the file, import normally)."""

    def __init__(self, names: tuple[str, ...]) -> None:
        import threading

        self.names = names
        self.thread = threading.get_ident()

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        import threading

        if name.partition(".")[0] in self.names and threading.get_ident() == self.thread:
            # The very message of a missing module: pandera tells a polars-only install by it.
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)


@contextlib.contextmanager
def without_pandas() -> Iterator[None]:
    """pandas and numpy cannot be imported by this thread within (unless already imported).

    pandera imports them whenever they are installed, although its polars engine uses
    neither: at `import pandera`, and at the first check it runs, to see whether the data is
    a pandas-like frame. pandera supports installs without them (its GH #2387); hiding them
    loads and runs it as in one, which saves 0.3-0.6 s and ~50 MB on every validation.
    """
    import sys

    if "pandas" in sys.modules:
        yield
        return
    # numpy once imported (pyarrow imports it, for a CSV) is left alone, submodules included.
    hide = _Unimportable(tuple(n for n in ("pandas", "numpy") if n not in sys.modules))
    # A new list each time, never the live one changed in place: another thread (the chunk
    # reader) may be iterating over it in an import, and would skip a finder.
    sys.meta_path = [hide, *sys.meta_path]
    try:
        yield
    finally:
        sys.meta_path = [finder for finder in sys.meta_path if finder is not hide]
        # pandera caches that its pandas types failed to import; forget it, for whoever
        # uses pandas in this process later.
        register_checks = sys.modules.get("pandera.backends.register_checks")
        cached = getattr(register_checks, "_load_get_backend_types_from_mro", None)
        getattr(cached, "cache_clear", lambda: None)()


def import_for_polars() -> None:
    """Import pandera as where pandas is not installed (see `without_pandas`).

    Its pandas API is then completed on first use, so that pandera works as usual for whoever
    asks for it later in this process: the first missing attribute of `pandera` or
    `pandera.typing` (`pandera.DataFrameSchema`, or `from pandera.typing import DataFrame`
    inside `import pandera.pandas`) imports pandas and pandera's pandas modules and adds
    their names, as `import pandera` would have done.
    """
    import sys

    if "pandera" in sys.modules or "pandas" in sys.modules:
        return  # already imported, or pandas is paid for anyway: pandera loads as usual
    if not fast_import_supported():
        return
    try:
        with without_pandas():
            import pandera.io.polars_io  # noqa: F401
    except ImportError:  # not an install pandera knows how to load this way: load it as usual
        for name in [m for m in sys.modules if m.partition(".")[0] == "pandera"]:
            del sys.modules[name]
        return
    top, typing = sys.modules["pandera"], sys.modules["pandera.typing"]
    if "DataFrame" not in vars(typing):
        vars(typing)["__getattr__"] = _complete_pandera_typing
    if "DataFrameSchema" not in vars(top):
        vars(top)["__getattr__"] = _complete_pandera


def _complete_pandera_typing(name: str) -> Any:
    import sys

    typing = sys.modules["pandera.typing"]
    vars(typing).pop("__getattr__", None)  # first: the imports below look attributes up too
    from pandera.typing import pandas as pandas_types

    for key, value in vars(pandas_types).items():
        if not key.startswith("_") and key not in vars(typing):
            setattr(typing, key, value)
    return _attribute(typing, name)


def _complete_pandera(name: str) -> Any:
    import sys

    top = sys.modules["pandera"]
    vars(top).pop("__getattr__", None)
    import pandera._pandas_deprecated as pandas_api

    names = vars(pandas_api)["__all__"]
    for key in names:
        setattr(top, key, getattr(pandas_api, key))
    vars(top)["__all__"] = ["__version__", "set_config", *names]
    return _attribute(top, name)


def _attribute(module: Any, name: str) -> Any:
    if name in vars(module):
        return vars(module)[name]
    raise AttributeError(f"module {module.__name__!r} has no attribute {name!r}")
