"""`mlops deploy render|diff`."""

from __future__ import annotations

import difflib
import sys
from typing import Annotated, Any

import typer

from mlops_cli.cli.options import JsonOption, state

app = typer.Typer(
    no_args_is_help=True,
    help=(
        "Kubernetes manifests from the version record, pinned by the pushed image digest.\n\n"
        "Example: mlops deploy render churn#prod > prod.yaml"
    ),
)

DeploySpec = Annotated[
    str,
    typer.Argument(
        help="NAME#STAGE, NAME@VERSION or NAME (the latest version).",
        metavar="SPEC",
        show_default=False,
    ),
]


def _manifests(cwd: Any, spec: str) -> tuple[Any, list[dict[str, Any]]]:
    from mlops_cli.deploy.manifests import render
    from mlops_cli.deploy.release import release_for
    from mlops_cli.images.context import IMAGE_UID
    from mlops_cli.project.root import open_project

    rel = release_for(open_project(cwd), spec, uid=IMAGE_UID)
    return rel, render(rel)


@app.command("render")
def render_(ctx: typer.Context, spec: DeploySpec, json_output: JsonOption = False) -> None:
    """Print a Deployment and a Service for a version, as YAML for `kubectl apply -f -`.

    Read from the committed record and tags only, never the workspace. The image is pinned
    by the digest recorded at `mlops image push`; a version never pushed is refused
    (exit 3).

    Examples:

      mlops deploy render churn#prod > prod.yaml

      mlops deploy render churn@v0.3.0 | kubectl apply -f -
    """
    from mlops_cli.deploy.manifests import to_yaml

    st = state(ctx, json_output)
    rel, objects = _manifests(st.cwd, spec)
    if st.json:
        st.emit(
            "deploy render",
            {"model": rel.model, "version": rel.version, "digest": rel.digest, "objects": objects},
        )
        return
    sys.stdout.write(to_yaml(objects))


@app.command("diff")
def diff(
    ctx: typer.Context,
    old: DeploySpec,
    new: DeploySpec,
    exit_code: Annotated[
        bool, typer.Option("--exit-code", help="Exit 1 when the manifests differ.")
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """Show what would change from OLD's manifests to NEW's, as a unified diff.

    Examples:

      mlops deploy diff churn#prod churn#staging

      mlops deploy diff churn#prod churn@v0.4.0 --exit-code
    """
    from mlops_cli.deploy.manifests import to_yaml

    st = state(ctx, json_output)
    old_rel, old_objects = _manifests(st.cwd, old)
    new_rel, new_objects = _manifests(st.cwd, new)
    lines = list(
        difflib.unified_diff(
            to_yaml(old_objects).splitlines(keepends=True),
            to_yaml(new_objects).splitlines(keepends=True),
            fromfile=f"{old} ({old_rel.version})",
            tofile=f"{new} ({new_rel.version})",
        )
    )
    if st.json:
        st.emit(
            "deploy diff",
            {
                "old": {"spec": old, "version": old_rel.version, "digest": old_rel.digest},
                "new": {"spec": new, "version": new_rel.version, "digest": new_rel.digest},
                "changed": bool(lines),
                "diff": "".join(lines),
            },
        )
    else:
        sys.stdout.write("".join(lines))
    if lines and exit_code:
        from mlops_cli.common.errors import CheckFailed

        raise CheckFailed(f"{old} and {new} render different manifests")
