"""`mlops schema ...`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mlops_cli.cli.console import CliReporter, escape
from mlops_cli.cli.options import JsonOption, state

app = typer.Typer(
    no_args_is_help=True,
    help="pandera schemas of data sets.\n\nExample: mlops schema infer data/raw/data.csv",
)


@app.command("infer")
def infer(
    ctx: typer.Context,
    data: Annotated[
        Path, typer.Argument(help="CSV or Parquet file to infer from.", show_default=False)
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--output",
            help="Schema file to write (default: schemas/<file name>.yaml in the project).",
            metavar="FILE",
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing schema.")] = False,
    name: Annotated[
        str | None, typer.Option("--name", help="Schema name (default: the file's stem).")
    ] = None,
    delimiter: Annotated[
        str | None,
        typer.Option(
            "--delimiter",
            help="CSV field separator, e.g. ';' or '\\t' (default: the data set's in"
            " mlops.yaml, else sniffed from the file).",
            metavar="CHAR",
        ),
    ] = None,
    decimal: Annotated[
        str | None,
        typer.Option(
            "--decimal", help="Decimal mark of a CSV's numbers: '.' or ','.", metavar="CHAR"
        ),
    ] = None,
    encoding: Annotated[
        str | None,
        typer.Option("--encoding", help="A CSV's text encoding (default utf-8).", metavar="CODEC"),
    ] = None,
    quotechar: Annotated[
        str | None, typer.Option("--quotechar", help="A CSV's quote character.", metavar="CHAR")
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Write a pandera YAML schema that describes a data file, for you to review.

    Bounds are the observed range widened by 10% and rounded; columns with few distinct
    values list them; dates in common formats are recognised. pandera reads the file
    (pandera.io.pandas_io.from_yaml) and agrees with `mlops validate` on the data.
    A CSV's delimiter, unless given or set in mlops.yaml, is sniffed from its first lines.

    Examples:

      mlops schema infer data/raw/customers.csv -o schemas/customers.yaml

      mlops schema infer data/raw/export.csv --delimiter ';' --decimal ',' --force
    """
    from mlops_cli.common.errors import NotAProject
    from mlops_cli.project.root import find_root
    from mlops_cli.validation.infer import dialect_for, infer_schema

    st = state(ctx, json_output)
    try:
        root: Path | None = find_root(st.cwd)
    except NotAProject:
        root = None
    source = st.cwd / data
    out = st.cwd / output if output else (root or st.cwd) / "schemas" / f"{source.stem}.yaml"
    dialect = dialect_for(root, source, delimiter=delimiter, decimal=decimal,
                          encoding=encoding, quotechar=quotechar)  # fmt: skip
    result = infer_schema(source, out, root=root or st.cwd, force=force, name=name,
                          reporter=CliReporter(st), dialect=dialect)  # fmt: skip
    if st.json:
        st.emit("schema infer", {"result": result})
        return
    st.success(
        f"wrote {escape(result.path)}: {len(result.columns)} columns from {result.rows:,} rows"
        f" of {escape(result.data)}"
    )
    for note in result.notes:
        st.warn(note)
    st.info("  review it, then point a data set at it: datasets.<name>.schema in mlops.yaml")
