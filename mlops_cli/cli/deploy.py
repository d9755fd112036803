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
        "Kubernetes manifests from the version record, pinned by the pushed image digest,"
        " and the GitOps layout (deploy/base, deploy/overlays/<stage>) that promote keeps"
        " up to date.\n\n"
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


@app.command("init")
def init(
    ctx: typer.Context,
    stages: Annotated[
        str | None,
        typer.Option(
            "--stages",
            help="Comma-separated stages to write overlays for (default: every stage).",
            metavar="A,B",
        ),
    ] = None,
    overwrite: Annotated[
        list[str] | None,
        typer.Option(
            "--overwrite",
            help="Replace this existing file under deploy/ (repeatable).",
            metavar="PATH",
        ),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Write and commit (one commit) a kustomize layout for GitOps controllers.

    deploy/base/<model>/ (yours after init) holds the Deployment and Service with the
    placeholder image mlops.dev/<model>; deploy/overlays/<stage>/ (mlops's) pins it to the
    digest of the version in that stage. From then on `mlops model promote|deprecate` and
    `mlops deploy rollback` rewrite the overlay in the commit of the stage change. Existing
    files are never overwritten unless named by --overwrite (exit 3); a symlink under
    deploy/ is refused (exit 4).

    Examples:

      mlops deploy init

      kubectl kustomize deploy/overlays/prod
    """
    from mlops_cli.deploy.gitops import init as do_init
    from mlops_cli.images.context import IMAGE_UID
    from mlops_cli.project.root import open_project

    st = state(ctx, json_output)
    chosen = [s.strip() for s in stages.split(",") if s.strip()] if stages else None
    done = do_init(
        open_project(st.cwd), uid=IMAGE_UID, stages=chosen, overwrite=tuple(overwrite or ())
    )
    if st.json:
        st.emit("deploy init", {"result": done})
        return
    st.success(f"wrote deploy/ ({len(done.written)} files) in commit {done.commit[:10]}")


@app.command("rollback")
def rollback(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The model.", show_default=False)],
    stage: Annotated[str, typer.Argument(help="The stage to roll back.", show_default=False)],
    force: Annotated[
        bool, typer.Option("--force", help="Roll back although the recorded tests do not allow it.")
    ] = False,
    reason: Annotated[
        str | None,
        typer.Option("--reason", help="Why --force (stored in the tag message).", metavar="TEXT"),
    ] = None,
    push: Annotated[
        bool, typer.Option("--push", help="Push the commit and tags to the remote afterwards.")
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """Put back the version that held STAGE before the current one.

    As `mlops model promote` of that version: the same gate, one commit with the overlay
    change plus the stage tags. Exit 3 when no earlier active version held the stage.

    Example:

      mlops deploy rollback churn prod --push
    """
    from mlops_cli.deploy.gitops import rollback as do_rollback
    from mlops_cli.images.context import IMAGE_UID
    from mlops_cli.project.root import open_project

    st = state(ctx, json_output)
    done = do_rollback(
        open_project(st.cwd), name, stage, uid=IMAGE_UID, force=force, reason=reason, push=push
    )
    if st.json:
        st.emit("deploy rollback", {"result": done})
        return
    replaced = f", replacing {', '.join(done.replaced)}" if done.replaced else ""
    st.success(f"rolled {name} back to {done.version} in {stage}{replaced}")


@app.command("check")
def check(
    ctx: typer.Context,
    spec: DeploySpec,
    kubernetes_version: Annotated[
        str,
        typer.Option(
            "--kubernetes-version",
            help="Validate against this Kubernetes version's OpenAPI schema.",
            metavar="X.Y",
        ),
    ] = "1.32",
    no_run: Annotated[
        bool, typer.Option("--no-run", help="Only the offline checks: no container is started.")
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """Check SPEC's manifests before a cluster sees them (exit 1 when a check fails).

    The rendered objects (and what `kubectl kustomize` makes of the committed overlay of
    each stage the version holds, which must be the same) against the Kubernetes OpenAPI
    schema, offline; then, unless --no-run, the pinned image pulled by digest and started
    under Docker with the manifest's constraints (read-only root, its uid, no
    capabilities, tmpfs for each emptyDir, its env and port, host network), until its
    readiness probe passes and POST /predict answers. The container is always removed.

    Examples:

      mlops deploy check churn#prod

      mlops deploy check churn@v0.3.0 --kubernetes-version 1.30 --no-run --json
    """
    from mlops_cli.common.errors import CheckFailed
    from mlops_cli.deploy.check import check_static
    from mlops_cli.images.context import IMAGE_UID
    from mlops_cli.project.root import open_project

    st = state(ctx, json_output)
    project = open_project(st.cwd)
    static = check_static(project, spec, uid=IMAGE_UID, kubernetes=kubernetes_version)
    ran = None
    if static.passed and not no_run:
        from mlops_cli.cli.console import CliReporter
        from mlops_cli.images.podrun import run_deployment

        ran = run_deployment(project, static.objects, reporter=CliReporter(st))
    problems = [str(p) for p in static.problems] + (ran.problems if ran else [])
    if st.json:
        st.emit("deploy check", {"result": static, "run": ran, "passed": not problems})
    else:
        _render_check(st, static, ran)
    if problems:
        raise CheckFailed(f"{spec}: {len(problems)} check(s) failed: " + "; ".join(problems[:3]))


def _render_check(st: Any, static: Any, ran: Any) -> None:
    for note in static.notes:
        st.info(f"note: {note}")
    for problem in static.problems:
        st.err.print(f"FAIL {problem}", markup=False, highlight=False)
    if static.passed:
        overlays = f" and deploy/overlays/{','.join(static.overlays)}" if static.overlays else ""
        st.success(
            f"{static.validated} objects of {static.model}@{static.version}{overlays} valid"
            f" for Kubernetes {static.kubernetes_version}"
        )
    if ran is not None and ran.logs:
        st.err.print("container's last lines:\n  " + "\n  ".join(ran.logs), highlight=False)
    if ran is not None and ran.passed:
        st.success(
            f"{ran.image} ready after {ran.ready_seconds:.1f} s as {ran.user}, read-only;"
            f" /predict answered {ran.predictions} prediction(s)"
        )
