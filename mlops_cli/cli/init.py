"""`mlops init`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mlops_cli.cli.console import CliReporter, escape, stdin_is_interactive
from mlops_cli.cli.options import JsonOption, state
from mlops_cli.common.errors import UsageError

if TYPE_CHECKING:
    from mlops_cli.scaffold.templates import Variable

# Kept here, not imported from scaffold.templates: that module loads pydantic, and `--help`
# must not pay for it.
DEFAULT_TEMPLATE = "sklearn-classifier"


def init(
    ctx: typer.Context,
    directory: Annotated[
        Path,
        typer.Argument(help="Folder to create the project in.", metavar="DIR", show_default=False),
    ] = Path(),
    template: Annotated[
        str,
        typer.Option(
            "--template", "-t", help="Built-in template name or a folder.", metavar="NAME|PATH"
        ),
    ] = DEFAULT_TEMPLATE,
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set", help="Answer a template variable (repeatable).", metavar="NAME=VALUE"
        ),
    ] = None,
    defaults: Annotated[
        bool, typer.Option("--defaults", help="Take every default without asking.")
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List what would be written.")] = False,
    overwrite: Annotated[
        list[str] | None,
        typer.Option(
            "--overwrite",
            help="Replace this existing file with the template's (repeatable).",
            metavar="FILE",
        ),
    ] = None,
    here: Annotated[
        bool,
        typer.Option(
            "--here",
            help="Adopt the current folder (an existing repository) in place: keep its git"
            " history, DVC setup and files; merge .gitignore; write FILE.mlops-new beside"
            " any file of yours the template would change.",
        ),
    ] = False,
    no_git: Annotated[
        bool, typer.Option("--no-git", help="Skip git init, dvc init and the first commit.")
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """Scaffold a project from a template: files, data, git and DVC, first commit.

    Variables are asked for only on a terminal; elsewhere their defaults apply.

    Examples:

      mlops init churn

      mlops init other --template ./my-template --set project_name=foo --dry-run

      cd existing-repo && mlops init --here --template minimal --dry-run
    """
    from mlops_cli.scaffold.init import init_project
    from mlops_cli.scaffold.templates import resolve_answers, resolve_template

    st = state(ctx, json_output)
    if here and directory != Path():
        raise UsageError("--here adopts the current folder: give no DIR with it")
    dest = (st.cwd / directory).absolute()
    tpl = resolve_template(template, cwd=st.cwd)
    ask = None if (defaults or json_output or not stdin_is_interactive()) else _prompt
    answers = resolve_answers(tpl, parse_sets(set_ or []), dest_name=dest.name, ask=ask)
    result = init_project(
        dest,
        tpl,
        answers,
        overwrite=list(overwrite or []),
        dry_run=dry_run,
        git=not no_git,
        adopt=here,
        reporter=CliReporter(st),
    )
    if st.json:
        st.emit("init", {"result": result})
        return
    if dry_run:
        verb = "adopt" if here else "scaffold"
        st.out.print(
            f"Would {verb} [bold]{escape(str(dest))}[/bold] from {tpl.name} {tpl.version}:"
        )
        for f in result.files:
            st.out.print(f"  {f.action:<9} {escape(f.path)}{_note(f)}")
        for path in result.exports:
            st.out.print(f"  {'export':<9} {escape(path)} (scikit-learn data set)")
        for name in result.kept:
            st.out.print(f"  {'keep':<9} {name}/ (existing {name[1:]} setup, left as it is)")
        conflicts = [f for f in result.files if f.action == "keep"]
        if conflicts:
            st.out.print(
                f"{len(conflicts)} conflict(s): your file is kept, the template's version is"
                " written beside it (--overwrite FILE replaces yours instead)"
            )
        return
    if here:
        st.success(f"adopted {dest} with template {tpl.name} {tpl.version}")
        for f in result.files:
            if f.action in ("keep", "merge"):
                st.info(f"  {f.action} {escape(f.path)}{_note(f)}")
        if result.commit:
            st.info(f"  committed {result.commit[:10]}; next: mlops data add PATH --infer-schema")
        return
    st.success(f"created {dest} from template {tpl.name} {tpl.version}")
    if result.commit:
        nxt = f"cd {directory} && dvc repro" if (dest / "dvc.yaml").exists() else f"cd {directory}"
        st.info(f"  first commit {result.commit[:10]}; next: {nxt}")


def _note(f: object) -> str:
    action, written = getattr(f, "action", ""), getattr(f, "written", None)
    if action == "keep" and written:
        return f"  (conflict: yours kept, the template's written to {escape(written)})"
    if action == "merge":
        return "  (the template's missing lines appended; none removed)"
    return ""


def parse_sets(items: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"--set takes NAME=VALUE, got {item!r}")
        out[name.strip()] = value
    return out


def _prompt(name: str, var: Variable, default: Any) -> Any:
    label = f"{name} ({var.help})" if var.help else name
    if var.choices:
        label += f" [{'/'.join(str(c) for c in var.choices)}]"
    return typer.prompt(label, default=default)
