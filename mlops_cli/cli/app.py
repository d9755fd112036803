"""The root command: global options, sub-command groups, and the one exception -> exit map."""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from mlops_cli import __version__
from mlops_cli.cli.console import State, error_document, mlops_error_document
from mlops_cli.cli.interrupts import check_interrupt, was_interrupted
from mlops_cli.common.errors import (
    EXIT_BUSY,
    EXIT_CHECK_FAILED,
    EXIT_INPUT,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_UNSAFE,
    EXIT_USAGE,
    MlopsError,
)

# Every command, in the order `mlops --help` lists them: name -> (module under
# mlops_cli.cli, attribute: a command function or a Typer group, the first line of its help).
# A command's module is imported only when that command runs, so `mlops --help` and a hook
# pay for none of them (bench/startup.py). tests/cli/test_app.py checks the help lines
# against the commands themselves, so they cannot drift.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "init": (
        "init",
        "init",
        "Scaffold a project from a template: files, data, git and DVC, first commit.",
    ),
    "template": ("templates", "app", "Project templates: list them, update a project."),
    "config": ("config", "app", "The project file mlops.yaml."),
    "data": (
        "data",
        "app",
        "Data sets: version them with DVC (schema-checked first), push, pull, status.",
    ),
    "schema": ("schema", "app", "pandera schemas of data sets."),
    "validate": ("validate", "validate", "Validate data sets against their pandera schemas."),
    "model": (
        "model",
        "app",
        "The model registry: versions as GTO tags plus a committed lineage record.",
    ),
    "test": ("modeltest", "test", "Run the model tests declared in mlops.yaml."),
    "image": ("image", "app", "Container images of models: build, push, inspect."),
    "serve": ("serve", "serve", "Serve a model over HTTP on this machine."),
    "deploy": (
        "deploy",
        "app",
        "Kubernetes manifests from the version record, pinned by the pushed image digest.",
    ),
    "monitor": (
        "monitor",
        "app",
        "Production monitoring: drift of the data a version sees from its training data.",
    ),
    "gc": (
        "gc",
        "gc",
        "Remove DVC objects that no kept version, branch, tag or the workspace needs.",
    ),
    "status": ("status", "status", "Data, models, tests, stages, images and git in one view."),
    "doctor": (
        "doctor",
        "doctor",
        "Check git, DVC, the Docker daemon, the registry, the DVC remote and the Python env.",
    ),
}
HIDDEN_ALIASES = {"templates": "template"}  # `mlops templates list` (issue 2's spelling)


class MlopsGroup(TyperGroup):
    """Loads commands lazily, and maps exceptions to DESIGN.md §5 exit codes for every
    command below the root."""

    def list_commands(self, ctx: Any) -> list[str]:
        return [*COMMANDS, *HIDDEN_ALIASES]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        name = HIDDEN_ALIASES.get(cmd_name, cmd_name)
        if name not in COMMANDS:
            return super().get_command(ctx, cmd_name)
        module, attr, _ = COMMANDS[name]
        target = getattr(importlib.import_module(f"mlops_cli.cli.{module}"), attr)
        check_interrupt()  # a Ctrl-C lost inside that import (interrupts._unraisable)
        command: Any
        if isinstance(target, typer.Typer):
            # Plain click help everywhere: rich's help renderer costs more than typer itself.
            target.rich_markup_mode = None
            command = typer.main.get_group(target)
        else:
            # No --install-completion/--show-completion here: the root has no completion
            # either, and each of those options costs a parameter to build on every run.
            single = typer.Typer(rich_markup_mode=None, add_completion=False)
            single.command(name)(target)
            command = typer.main.get_command(single)
        command.name = cmd_name
        command.hidden = cmd_name in HIDDEN_ALIASES
        return command

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, help_) for name, (_, _, help_) in COMMANDS.items()])

    def invoke(self, ctx: Any) -> Any:
        # The root callback fills in this State; creating it here means even a failure in
        # that callback (a bad -C) finds the run's one JSON document in the same place.
        if not isinstance(ctx.obj, State):
            ctx.obj = State()
        st: State = ctx.obj
        asks_for_json = _asks_for_json([*getattr(ctx, "_protected_args", []), *ctx.args])
        error: dict[str, Any] | None = None
        try:
            return super().invoke(ctx)
        except MlopsError as exc:
            st.error(exc)
            error = mlops_error_document(exc)
            raise typer.Exit(exc.exit_code) from None
        except (typer.Exit, SystemExit) as exc:
            code = exc.exit_code if isinstance(exc, typer.Exit) else exc.code
            if isinstance(code, int) and code != 0:
                error = error_document(code, _KINDS.get(code, "error"), f"exit code {code}")
            raise
        except typer.TyperException as exc:
            # Click's own errors (typer vendors click): a command line it rejects is exit 2.
            # Under --json that is still a document, when the rejected line asked for one.
            code = getattr(exc, "exit_code", EXIT_USAGE)
            message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
            error = error_document(code, _KINDS.get(code, "usage"), message)
            if asks_for_json:
                st.json = True
            raise
        except (typer.Abort, GeneratorExit):
            raise
        except BaseException as exc:
            # Ctrl-C, also as Python or a library wrapped it, is exit 130. Anything else is a
            # bug: one line for the user, the traceback in a file; BaseException because a
            # Rust library's panic (pyo3's PanicException) is not an Exception.
            if was_interrupted(exc):
                st.err.print("[red]interrupted[/red]")
                error = error_document(EXIT_INTERRUPTED, "interrupted", "interrupted")
                raise typer.Exit(EXIT_INTERRUPTED) from None
            log = write_crash_log(exc)
            message = f"{type(exc).__name__}: {str(exc)[:200]}"
            hint = f"the traceback is in {log}; please report it"
            st.err.print(f"[red]internal error:[/red] {message}\n  {hint}")
            error = error_document(
                EXIT_INTERNAL, "internal", f"internal error: {message}", hint=hint, paths=[str(log)]
            )
            raise typer.Exit(EXIT_INTERNAL) from None
        finally:
            st.finish(error)


_KINDS = {
    EXIT_CHECK_FAILED: "check_failed",
    EXIT_USAGE: "usage",
    EXIT_INPUT: "input",
    EXIT_UNSAFE: "unsafe",
    EXIT_BUSY: "busy",
    EXIT_INTERNAL: "internal",
    EXIT_INTERRUPTED: "interrupted",
}


def _asks_for_json(words: list[str]) -> bool:
    """Does the command line below the root name `--json` (before a `--`)?"""
    before = words[: words.index("--")] if "--" in words else words
    return "--json" in before


def log_dir() -> Path:
    base = os.environ.get("MLOPS_LOG_DIR")
    if base:
        return Path(base)
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "mlops" / "logs"


def write_crash_log(exc: BaseException) -> Path:
    import datetime as dt
    import traceback

    folder = log_dir()
    folder.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
    path = folder / f"crash-{stamp}-{os.getpid()}.log"
    # format_exception never renders frame locals, so no credential can leak from them.
    lines = traceback.format_exception(type(exc), exc, exc.__traceback__)
    # Only the command words: option values may carry secrets (a token, a URL with a password).
    words = [a for a in sys.argv[1:3] if not a.startswith("-")]
    header = f"mlops {__version__}, python {sys.version.split()[0]}, command {words}\n"
    path.write_text(header + "".join(lines), encoding="utf-8")
    return path


app = typer.Typer(
    name="mlops",
    cls=MlopsGroup,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain click help: rich's help renderer alone costs more start-up than typer itself.
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
    help=(
        "ML delivery with git-native metadata: scaffold, version data and models, "
        "validate, test, package.\n\n"
        "Example: mlops init churn && cd churn && dvc repro"
    ),
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"mlops {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    directory: Annotated[
        Path | None,
        typer.Option("-C", help="Run as if mlops was started in DIR.", metavar="DIR"),
    ] = None,
    quiet: Annotated[bool, typer.Option("-q", "--quiet", help="Only errors.")] = False,
    verbose: Annotated[
        int,
        typer.Option(
            "-v", "--verbose", count=True, help="More detail (repeat for more).", show_default=False
        ),
    ] = 0,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    cwd = Path.cwd()
    if directory is not None:
        cwd = (cwd / directory).resolve()
        if not cwd.is_dir():
            raise typer.BadParameter(f"{directory} is not a folder", param_hint="-C")
    st = ctx.obj if isinstance(ctx.obj, State) else State()
    st.cwd, st.quiet, st.verbose = cwd, quiet, verbose
    ctx.obj = st


def run() -> None:
    app(prog_name="mlops")
