"""validation/panderaload.py: pandera's polars engine loaded without pandas and numpy.

It leans on pandera's internals, so these tests are its tripwires: each fails the day a
pandera release changes what the module relies on (docs/design-decisions.md, "pandera
without pandas"). When one fails after an upgrade: check the internals named in the failing
test against the new pandera, then add its minor to `panderaload.TESTED`, or retire the
module (pandera then loads pandas, ~2x the time of an uncached `mlops validate`).

Each check runs in a fresh interpreter: the trick only works where pandera and pandas are
not imported yet, and pytest's process has imported both.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from mlops_cli.validation import panderaload


def fresh(code: str) -> Any:
    """Run `code` in a new interpreter; it prints one JSON document, returned parsed."""
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_the_installed_pandera_is_a_version_this_was_tested_with() -> None:
    """With any other version the module stands aside (pandera loads pandas, the verdicts are
    the same: test_validate.py), silently, and the saving is lost: fail, so it is noticed."""
    from importlib.metadata import version

    installed = version("pandera")
    assert panderaload.fast_import_supported(), (
        f"pandera {installed} is not in panderaload.TESTED {panderaload.TESTED}: run this "
        "file's tests with it, then add its minor (see the module docstring)"
    )


def test_pandera_imports_as_in_an_install_without_pandas() -> None:
    """pandera's `__init__` takes a ModuleNotFoundError "No module named 'pandas'" (or
    'numpy') for a polars-only install (its GH #2387) and still registers its checks; a
    finder that raises exactly that error is what `without_pandas` is."""
    got = fresh(
        """
        import json, sys
        from mlops_cli.validation import panderaload
        with panderaload.without_pandas():
            import pandera
            import pandera.io.polars_io
            import pandera.polars as pa
            import polars as pl
            schema = pa.DataFrameSchema({"x": pa.Column(int, pa.Check.ge(0))})
            try:
                schema.validate(pl.DataFrame({"x": [1, -1]}), lazy=True)
                failed = []
            except pa.errors.SchemaErrors as exc:
                failed = exc.failure_cases.select("check", "index").rows()
        print(json.dumps({
            "heavy": sorted({"pandas", "numpy"} & {m.split(".")[0] for m in sys.modules}),
            "all": sorted(pandera.__all__),
            "failed": failed,
        }))
        """
    )
    assert got["heavy"] == []
    # pandera's own names of its polars-only namespace (pandera/__init__.py, except branch)
    assert "DataFrameSchema" not in got["all"] and {"Check", "Field", "typing"} <= set(got["all"])
    assert got["failed"] == [["greater_than_or_equal_to(0)", 1]]


def test_the_private_names_it_completes_pandera_from_still_exist() -> None:
    """`pandera._pandas_deprecated.__all__`: the names `import pandera` exports when pandas
    is there; `pandera.backends.register_checks._load_get_backend_types_from_mro`: an
    lru_cache that remembers pandas' types failed to import, cleared after the trick."""
    got = fresh(
        """
        import json
        import pandera, pandera._pandas_deprecated as dep
        from pandera.backends import register_checks
        cached = register_checks._load_get_backend_types_from_mro
        print(json.dumps({
            "names": list(vars(dep)["__all__"]),
            "missing": [n for n in vars(dep)["__all__"] if not hasattr(dep, n)],
            "top": sorted(pandera.__all__),
            "cache_clear": callable(getattr(cached, "cache_clear", None)),
            "cache_info": callable(getattr(cached, "cache_info", None)),
        }))
        """
    )
    assert {"DataFrameSchema", "Column", "Check", "DataFrameModel"} <= set(got["names"])
    assert got["missing"] == []
    assert sorted(["__version__", "set_config", *got["names"]]) == got["top"]
    assert got["cache_clear"] and got["cache_info"]


_NAMESPACES = textwrap.dedent(
    """
    import json, sys
    import pandera, pandera.typing
    from pandera.typing import DataFrame, Series
    where = lambda o: f"{o.__module__}.{o.__qualname__}"
    found = {n: where(getattr(pandera, n)) for n in ("DataFrameSchema", "Column", "Check")}
    found["DataFrame"], found["Series"] = where(DataFrame), where(Series)
    ns = lambda m: sorted(k for k in vars(m) if not k.startswith("_"))
    names = {"pandera": ns(pandera), "all": sorted(pandera.__all__),
             "typing": ns(pandera.typing), "found": found}
    """
)


def test_after_first_use_pandera_looks_as_a_plain_import_left_it() -> None:
    """Whoever uses pandera's pandas API later in the process gets what `import pandera`
    would have given: the same public names in `pandera` and `pandera.typing`."""
    plain = fresh(_NAMESPACES + "print(json.dumps(names))\n")
    ours = fresh(
        "from mlops_cli.validation import panderaload\n"
        "panderaload.import_for_polars()\n"
        "import sys\n"
        "assert 'pandas' not in sys.modules\n" + _NAMESPACES + "print(json.dumps(names))\n"
    )
    assert ours["found"] == plain["found"]
    assert ours["found"]["DataFrameSchema"] == "pandera._pandas_deprecated.DataFrameSchema"
    assert ours["all"] == plain["all"]
    # The lookups above completed both namespaces. A plain import also holds the submodules
    # it happened to import and its own `np` and `pd` aliases (not API); nothing else.
    assert set(plain["pandera"]) - set(ours["pandera"]) <= _submodules() | {"np", "pd"}
    assert set(plain["typing"]) <= set(ours["typing"])


@functools.cache
def _submodules() -> set[str]:
    spec = importlib.util.find_spec("pandera")
    assert spec is not None and spec.submodule_search_locations
    root = Path(next(iter(spec.submodule_search_locations)))
    return {p.stem for p in root.iterdir() if p.suffix == ".py" or (p / "__init__.py").exists()}


def _penguins() -> Path:
    spec = importlib.util.find_spec("palmerpenguins")
    assert spec is not None and spec.origin, "palmerpenguins is in the dev extra"
    return Path(spec.origin).parent / "data" / "penguins.csv"


# Real data, a schema it breaks in several ways: nulls, a range, a set, a dtype, uniqueness.
PENGUIN_SCHEMA = """\
schema_type: dataframe
columns:
  species:
    dtype: str
    checks:
      isin: [Adelie, Gentoo]
  island:
    dtype: str
    unique: true
  bill_length_mm:
    dtype: float64
    nullable: false
    checks:
      in_range: {min_value: 33, max_value: 58}
  body_mass_g:
    dtype: float64
    nullable: true
    checks:
      less_than: 6000
  sex:
    dtype: str
    nullable: true
    checks:
      str_length: {min_value: 4, max_value: 4}
  year:
    dtype: int64
"""

_VALIDATE = """
    import json, sys
    from pathlib import Path
    from mlops_cli.validation.validate import validate_file
    reports = [
        validate_file(Path(data), Path(schema), root=Path(root), use_cache=False, engine=engine)
        for data in DATA
    ]
    print(json.dumps({
        "pandas": "pandas" in sys.modules,
        "reports": [{**r.to_dict(), "seconds": 0} for r in reports],
    }))
"""


def test_our_import_gives_the_verdicts_of_a_plain_import_on_real_data(tmp_path: Path) -> None:
    """The same reports, failures, counts and examples, for data that passes and data that
    fails, whether pandera was loaded by panderaload or by a plain `import pandera` first."""
    import polars as pl

    schema = tmp_path / "penguins.yaml"
    schema.write_text(PENGUIN_SCHEMA)
    csv = _penguins()
    parquet = tmp_path / "penguins.parquet"
    pl.read_csv(csv, null_values="NA").write_parquet(parquet)
    good = tmp_path / "good.csv"
    good.write_text(
        "species,island,bill_length_mm,body_mass_g,sex,year\nAdelie,Biscoe,40.1,3700,male,2007\n"
    )
    head = (
        f"DATA = {[str(csv), str(parquet), str(good)]!r}\n"
        f"root, schema, engine = {str(tmp_path)!r}, {str(schema)!r}, 'polars'\n"
    )
    ours = fresh(head + textwrap.dedent(_VALIDATE))
    plain = fresh(head + "import pandera\n" + textwrap.dedent(_VALIDATE))
    assert (ours["pandas"], plain["pandas"]) == (False, True)
    assert ours["reports"] == plain["reports"]
    verdicts = [r["passed"] for r in ours["reports"]]
    assert verdicts == [False, False, True]
    failed = {(f["column"], f["check"]) for f in ours["reports"][0]["failures"]}
    assert {
        ("species", "isin(['Adelie', 'Gentoo'])"),
        ("island", "field_uniqueness"),
        ("bill_length_mm", "not_nullable"),
        ("bill_length_mm", "in_range(33, 58)"),
        ("body_mass_g", "less_than(6000)"),
    } <= failed
