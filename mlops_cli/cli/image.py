"""`mlops image build|push|inspect`."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mlops_cli.cli.console import CliReporter, State, escape
from mlops_cli.cli.options import JsonOption, state

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

app = typer.Typer(
    no_args_is_help=True,
    help=(
        "Container images of models: build, push, inspect.\n\n"
        "Example: mlops image build churn@v0.2.0 && mlops image push churn@v0.2.0"
    ),
)

SpecArg = Annotated[
    str,
    typer.Argument(
        help="Model: NAME (the workspace file), NAME@vX.Y.Z or NAME#STAGE.",
        metavar="MODEL[@VERSION]",
        show_default=False,
    ),
]
RegistryOption = Annotated[
    str | None,
    typer.Option(
        "--registry", help="Registry host[:port][/path] instead of image.registry.", metavar="HOST"
    ),
]
TrustOption = Annotated[
    bool,
    typer.Option("--trust", help="Load a pickle/joblib model whose sha256 is not recorded."),
]


class ImageReporter(CliReporter):
    """Steps as lines; per-layer push progress as bars on a terminal, one line per layer
    and status elsewhere (no carriage-return floods in CI logs)."""

    def __init__(self, st: State) -> None:
        super().__init__(st)
        self._bars: Progress | None = None
        self._tasks: dict[str, TaskID] = {}
        self._seen: set[tuple[str, str]] = set()

    def step(self, message: str) -> None:
        # A build step echoes its Dockerfile line; the LABEL line alone can be a screenful.
        super().step(message if len(message) <= 110 else message[:107] + "...")

    def layer(self, layer_id: str, status: str, current: int | None, total: int | None) -> None:
        if self.state.quiet:
            return
        if sys.stderr.isatty():
            self._bar(layer_id, status, current, total)
        elif (layer_id, status) not in self._seen:
            self._seen.add((layer_id, status))
            size = f" ({total / 1e6:.1f} MB)" if total and status == "Pushing" else ""
            self.state.err.print(f"  {escape(layer_id)}: {escape(status)}{size}")

    def _bar(self, layer_id: str, status: str, current: int | None, total: int | None) -> None:
        from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

        if self._bars is None:
            self._bars = Progress(
                TextColumn("  {task.description}"),
                BarColumn(),
                DownloadColumn(),
                console=self.state.err,
                transient=False,
            )
            self._bars.start()
        if layer_id not in self._tasks:
            self._tasks[layer_id] = self._bars.add_task(layer_id, total=None)
        task = self._tasks[layer_id]
        done = status in ("Pushed", "Layer already exists")
        self._bars.update(
            task,
            description=f"{layer_id} {status}",
            completed=(total or 1) if done else (current or 0),
            total=(total or 1) if done else total,
        )

    def close(self) -> None:
        if self._bars is not None:
            self._bars.stop()
            self._bars = None


def _project(st: State) -> Any:
    from mlops_cli.project.root import open_project

    return open_project(st.cwd)


@app.command("build")
def build(
    ctx: typer.Context,
    spec: SpecArg,
    registry: RegistryOption = None,
    print_dockerfile: Annotated[
        bool, typer.Option("--print-dockerfile", help="Print the Dockerfile and stop.")
    ] = False,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Rebuild every layer.")] = False,
    trust: TrustOption = False,
    json_output: JsonOption = False,
) -> None:
    """Build the model's image: pinned wheels, no network, model in the last layer.

    Tags it <registry>/<name>:<version> and :<git-sha> (a workspace model: :workspace).

    Examples:

      mlops image build churn@v0.2.0

      mlops image build churn --print-dockerfile > Dockerfile
    """
    from mlops_cli.images import build as images

    st = state(ctx, json_output)
    project = _project(st)
    reporter = ImageReporter(st)
    if print_dockerfile:
        plan = images.plan(project, spec, registry=registry, trust=trust, reporter=reporter)
        if st.json:
            st.emit("image build", {"dockerfile": plan.dockerfile, "refs": plan.refs.refs})
        else:
            sys.stdout.write(plan.dockerfile)
        return
    result = images.build(
        project, spec, registry=registry, trust=trust, no_cache=no_cache, reporter=reporter
    )
    if st.json:
        st.emit("image build", {"result": result})
        return
    st.success(
        f"built {result.refs[0]} ({result.size / 1e6:.0f} MB, {result.cached_steps} of"
        f" {result.steps} steps cached, {result.seconds:.1f} s)"
    )
    for ref in result.refs:
        st.out.print(escape(ref))


@app.command("push")
def push(
    ctx: typer.Context,
    spec: SpecArg,
    registry: RegistryOption = None,
    trust: TrustOption = False,
    json_output: JsonOption = False,
) -> None:
    """Push the model's image; record the digest in the version's lineage record.

    Credentials: MLOPS_REGISTRY_USERNAME and MLOPS_REGISTRY_PASSWORD, else the Docker
    config (~/.docker/config.json: auths, credsStore, credHelpers). They are never printed.

    Example:

      mlops image build churn@v0.2.0 && mlops image push churn@v0.2.0
    """
    from mlops_cli.images import build as images

    st = state(ctx, json_output)
    reporter = ImageReporter(st)
    try:
        results = images.push(_project(st), spec, registry=registry, trust=trust, reporter=reporter)
    finally:
        reporter.close()
    if st.json:
        st.emit("image push", {"results": results})
        return
    for r in results:
        recorded = " (recorded)" if r.recorded else ""
        st.success(f"pushed {r.ref} {r.digest}{recorded}")
        st.out.print(f"{escape(r.ref)}@{r.digest}")


@app.command("inspect")
def inspect(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="Image reference.", metavar="REF", show_default=False)],
    json_output: JsonOption = False,
) -> None:
    """Show the lineage an image carries in its labels: model, version, commit, data.

    Example:

      mlops image inspect localhost:5000/churn:v0.2.0 --json
    """
    from rich.table import Table

    from mlops_cli.images import build as images

    st = state(ctx, json_output)
    info = images.inspect(ref)
    if st.json:
        st.emit("image inspect", {"image": info})
        return
    table = Table(show_header=False, box=None, pad_edge=False)
    rows = [
        ("model", info["model"]),
        ("version", info["version"] or "(workspace)"),
        ("revision", info["revision"]),
        ("created", info["created"]),
        ("source", info["source"]),
        ("base", info["base"]),
        ("artifact", f"{info['artifact']['format']} sha256:{info['artifact']['sha256']}"),
        *((f"data {k}", f"md5:{v}") for k, v in info["data"].items()),
        ("id", info["id"]),
        *(("digest", d) for d in info["repo_digests"]),
    ]
    for key, value in rows:
        table.add_row(key, escape(str(value or "-")))
    st.out.print(table)
