"""`mlops model add|register|list|show|diff|promote|deprecate|card`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mlops_cli.cli.console import CliReporter, State, escape
from mlops_cli.cli.modeldiff import diff as model_diff
from mlops_cli.cli.options import JsonOption, state
from mlops_cli.common.errors import UsageError

if TYPE_CHECKING:
    from mlops_cli.project.root import Project
    from mlops_cli.registry.records import Shown

app = typer.Typer(
    no_args_is_help=True,
    help=(
        "The model registry: versions as GTO tags plus a committed lineage record.\n\n"
        "Example: mlops model register churn --bump minor -m 'more trees'"
    ),
)

PushOption = Annotated[
    bool, typer.Option("--push", help="Push the commit and tags to the remote afterwards.")
]
SignOption = Annotated[
    bool,
    typer.Option(
        "--sign",
        help="Sign with git's own signing (gpg.format, user.signingKey); see docs/security.md.",
    ),
]


def _project(st: State) -> Project:
    from mlops_cli.project.root import open_project

    return open_project(st.cwd)


def _overlay_hook(project: Project) -> Any:
    """deploy/overlays/ rewrite for promote/deprecate, when the repo has a GitOps layout."""
    from mlops_cli.deploy.gitops import hook
    from mlops_cli.images.context import IMAGE_UID

    return hook(project, IMAGE_UID)


@app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Model name.", metavar="NAME", show_default=False)],
    path: Annotated[
        str,
        typer.Option(
            "--path", help="The model file, relative to the project root.", metavar="FILE"
        ),
    ],
    data: Annotated[
        str | None,
        typer.Option(
            "--data", help="Data set it trains and is tested on (declared).", metavar="DATASET"
        ),
    ] = None,
    task: Annotated[
        str, typer.Option("--task", help="classification or regression.", metavar="TASK")
    ] = "classification",
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            help="skops, xgboost, lightgbm, onnx, joblib or pickle (default: from the"
            " suffix, or a native model file's first bytes).",
            metavar="FMT",
        ),
    ] = None,
    target: Annotated[
        str | None,
        typer.Option("--target", help="The label column of the data set.", metavar="COL"),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Declare a model in mlops.yaml (comments and layout kept); refuse a name in use.

    Example:

      mlops model add churn --path models/model.skops --data holdout --target churned
    """
    from mlops_cli.registry.declare import add as add_model

    if task not in ("classification", "regression"):
        raise UsageError(f"--task is classification or regression, not {task!r}")
    from mlops_cli.registry.declare import FORMATS

    if fmt is not None and fmt not in FORMATS:
        raise UsageError(f"--format is one of {', '.join(FORMATS)}, not {fmt!r}")
    st = state(ctx, json_output)
    result = add_model(
        _project(st), name, path=path, data=data, task=task, fmt=fmt, target=target,
        reporter=CliReporter(st),
    )  # fmt: skip
    if st.json:
        st.emit("model add", {"result": result})
        return
    st.success(f"declared model {escape(name)} in mlops.yaml ({escape(result.entry['path'])})")
    if result.staged:
        st.info(f"  staged {', '.join(result.staged)}; next: train it, then `mlops test {name}`")


@app.command("register")
def register(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Model name from mlops.yaml.", show_default=False)],
    bump: Annotated[
        str | None,
        typer.Option("--bump", help="major, minor or patch (default: patch).", metavar="PART"),
    ] = None,
    version: Annotated[
        str | None, typer.Option("--version", help="Exact version, e.g. v1.2.0.", metavar="V")
    ] = None,
    message: Annotated[
        str | None, typer.Option("-m", "--message", help="Why this version (tag message).")
    ] = None,
    push: PushOption = False,
    sign: SignOption = False,
    json_output: JsonOption = False,
) -> None:
    """Register the workspace model as a new version: record, commit, tag NAME@vX.Y.Z.

    Refused (exit 3, naming the files) when the model or its data differ from what git
    and DVC have committed. Prints the new tag on stdout. --sign: git signs the commit and
    the tag, and the model file is signed with model-signing (key MLOPS_SIGNING_KEY).

    Example:

      mlops model register churn --bump minor -m "more trees" --sign
    """
    from mlops_cli.registry.register import register as do_register

    if bump is not None and bump not in ("major", "minor", "patch"):
        raise typer.BadParameter("use major, minor or patch", param_hint="--bump")
    st = state(ctx, json_output)
    done = do_register(
        _project(st),
        name,
        version=version,
        bump=bump,  # type: ignore[arg-type]
        message=message,
        push=push,
        sign=sign,
        reporter=CliReporter(st),
    )
    for warning in done.warnings:
        st.warn(warning)
    if st.json:
        st.emit(
            "model register",
            {
                "tag": done.tag,
                "commit": done.commit,
                "record_path": done.record_path,
                "record": done.record.to_dict(),
                "pushed_to": done.pushed_to,
                "signed": sign,
                "signature_path": done.signature_path,
                "warnings": done.warnings,
            },
        )
        return
    signed = ", signed" if sign else ""
    st.success(
        f"registered {done.tag} (record {done.record_path}, commit {done.commit[:10]}{signed})"
    )
    st.out.print(escape(done.tag))


@app.command("list")
def list_(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help="Only this model.", show_default=False)] = None,
    json_output: JsonOption = False,
) -> None:
    """List registered versions with their stages, tests and images, newest first.

    Example:

      mlops model list churn --json
    """
    from mlops_cli.registry.records import list_versions, registry_tags, tag_warnings

    st = state(ctx, json_output)
    project = _project(st)
    tags = registry_tags(project, name)  # one for-each-ref for the rows and the warnings
    rows = list_versions(project, name, tags)
    warnings = tag_warnings(project, name, tags)
    for warning in warnings:  # lightweight tags, tags mlops did not make
        st.warn(warning)
    if st.json:
        versions = [r.to_dict() for r in rows]
        st.emit("model list", {"versions": versions, "warnings": warnings})
        return
    if not rows:
        st.info(f"no registered version{' of ' + name if name else ''} yet")
        return
    from rich.table import Table

    table = Table("model", "version", "stages", "created", "sha256", "tests", "images", box=None)
    for r in rows:
        tests = {True: "passed", False: "failed", None: "-"}[r.tests_passed]
        version = r.version if r.active else f"{r.version} (deprecated)"
        table.add_row(
            escape(r.model),
            escape(version),
            escape(", ".join(r.stages) or "-"),
            r.created or "-",
            (r.sha256 or "-")[:12],
            tests,
            str(r.images),
        )
    st.out.print(table)


@app.command("show")
def show(
    ctx: typer.Context,
    spec: Annotated[
        str,
        typer.Argument(
            help="NAME (latest), NAME@VERSION or NAME#STAGE.", metavar="SPEC", show_default=False
        ),
    ],
    json_output: JsonOption = False,
) -> None:
    """Show a version's lineage: commit, data hashes, params, metrics, environment, tests.

    Example:

      mlops model show churn#prod
    """
    from mlops_cli.registry.records import show as do_show

    st = state(ctx, json_output)
    shown = do_show(_project(st), spec)
    for warning in shown.warnings:  # lightweight tags, tags mlops did not make
        st.warn(warning)
    if st.json:
        st.emit("model show", _shown_dict(shown))
        return
    _render_shown(st, shown)


def _shown_dict(shown: Shown) -> dict[str, Any]:
    return {
        "record": shown.record.to_dict(),
        "active": shown.active,
        "stages": shown.stages,
        "tag": shown.tag,
        "tag_commit": shown.tag_commit,
        "artifact_present": shown.artifact_present,
        "warnings": shown.warnings,
    }


def _render_shown(st: State, shown: Shown) -> None:
    r = shown.record
    out = st.out
    state_ = "active" if shown.active else "deprecated"
    out.print(f"[bold]{escape(r.model)}@{escape(r.version)}[/bold] ({state_})")
    rows: list[tuple[str, str]] = [
        ("stages", ", ".join(shown.stages) or "-"),
        ("created", r.created),
        ("message", r.message or "-"),
        ("trained at", r.git.get("commit", "?")),
        ("tag", f"{shown.tag} -> {shown.tag_commit[:10]}"),
        (
            "artifact",
            f"{r.artifact.get('path')} ({r.artifact.get('format')}, "
            f"{r.artifact.get('bytes')} bytes)",
        ),
        ("sha256", str(r.artifact.get("sha256"))),
        ("available", "yes" if shown.artifact_present else "no (`dvc fetch --all-tags`)"),
    ]
    for name, d in r.data.items():
        rows.append(
            (
                f"data {name}",
                f"{d.get('path')} md5 {d.get('md5')} rows {d.get('rows')} ({d.get('role')})",
            )
        )
    for key, value in _flat(r.params):
        rows.append((f"param {key}", str(value)))
    for key, value in _flat(r.metrics):
        rows.append((f"metric {key}", str(value)))
    env = r.environment
    packages = ", ".join(f"{k} {v}" for k, v in (env.get("packages") or {}).items())
    rows.append(("python", f"{env.get('python')} ({env.get('source', '?')})"))
    rows.append(("packages", packages or "-"))
    if r.tests:
        t = r.tests
        verdict = "passed" if t.get("passed") else "FAILED"
        rows.append(("tests", f"{verdict} on {t.get('ran')}, data md5 {t.get('data_md5')}"))
        for c in t.get("checks", []):
            if c.get("passed") is False:
                rows.append(("  failed", f"{c.get('family')}: {c.get('name')} = {c.get('value')}"))
    else:
        rows.append(("tests", "none recorded"))
    for image in r.images:
        rows.append(("image", f"{image.get('ref')} {image.get('digest') or ''}".strip()))
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        out.print(f"  {key:<{width}}  {escape(str(value))}")


def _flat(data: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    items: list[tuple[str, Any]] = []
    for key, value in data.items():
        if isinstance(value, dict):
            items += _flat(value, f"{prefix}{key}.")
        else:
            items.append((f"{prefix}{key}", value))
    return items


@app.command("promote")
def promote(
    ctx: typer.Context,
    args: Annotated[
        list[str],
        typer.Argument(
            help="NAME VERSION STAGE, or NAME@VERSION STAGE.",
            metavar="NAME[@VERSION] [VERSION] STAGE",
            show_default=False,
        ),
    ],
    force: Annotated[
        bool, typer.Option("--force", help="Promote although the recorded tests do not allow it.")
    ] = False,
    reason: Annotated[
        str | None,
        typer.Option("--reason", help="Why --force (stored in the tag message).", metavar="TEXT"),
    ] = None,
    push: PushOption = False,
    sign: SignOption = False,
    json_output: JsonOption = False,
) -> None:
    """Put a version in a stage (GTO tag NAME#STAGE#N), replacing the version there.

    When deploy/overlays/ is committed (`mlops deploy init`), the stage's overlay is
    rewritten to the version's image digest in one new commit on HEAD, made in the same
    git transaction as the stage tags (docs/deploy.md).

    Refused (exit 1) unless the version's recorded tests cover the checks mlops.yaml
    declares and passed, on exactly its registered artifact and data, and the stage's
    policy (signatures) is met; --force skips the test gate (never the policy) and needs
    --reason, which the tag message keeps.

    Example:

      mlops model promote churn v0.2.0 prod
    """
    from mlops_cli.registry.stages import promote as do_promote

    if len(args) == 2 and "@" in args[0]:
        name, _, version = args[0].partition("@")
        stage = args[1]
    elif len(args) == 3:
        name, version, stage = args
    else:
        raise UsageError("give NAME VERSION STAGE (or NAME@VERSION STAGE)")
    st = state(ctx, json_output)
    project = _project(st)
    done = do_promote(
        project,
        name,
        version,
        stage,
        force=force,
        reason=reason,
        push=push,
        sign=sign,
        tree=_overlay_hook(project),
    )
    if st.json:
        st.emit("model promote", {"result": done})
        return
    if done.tag is None:
        st.success(f"{name}@{done.version} is in {stage} already")
        return
    replaced = f", replacing {', '.join(done.replaced)}" if done.replaced else ""
    forced = " (forced)" if done.forced else ""
    st.success(f"{name}@{done.version} is in {stage}{replaced}{forced}")
    st.out.print(escape(done.tag))


@app.command("verify")
def verify(
    ctx: typer.Context,
    spec: Annotated[
        str,
        typer.Argument(
            help="NAME@VERSION, NAME#STAGE or NAME (latest).", metavar="SPEC", show_default=False
        ),
    ],
    json_output: JsonOption = False,
) -> None:
    """Verify a version's signatures: its tag, its record commit, its stage tags, its model file.

    Exit 0 when every one is signed and verifies, 1 when any is unsigned, bad or by a signer
    not allowed. Allowed signers come only from MLOPS_ALLOWED_SIGNERS or your global git
    config (gpg.ssh.allowedSignersFile), model keys from MLOPS_MODEL_KEYS or
    ~/.config/mlops/model-keys/: never from the repository being verified.

    Example:

      mlops model verify churn@v0.3.0 --json
    """
    from mlops_cli.common.errors import CheckFailed
    from mlops_cli.registry.verify import verify_version

    st = state(ctx, json_output)
    done = verify_version(_project(st), spec)
    if st.json:
        st.emit("model verify", done.to_dict())
    else:
        names = {
            "version_tag": "tag",
            "record_commit": "record commit",
            "stage_tag": "stage tag",
            "model_file": "model file",
        }
        for item in done.items:
            who = f" by {item.signer}" if item.signer else ""
            key = f" ({item.key})" if item.key else ""
            detail = f": {item.detail}" if item.detail and not item.ok else ""
            subject = item.subject[:10] if item.kind == "record_commit" else item.subject
            st.out.print(
                escape(f"{item.status.upper():<9} {names[item.kind]} {subject}{who}{key}{detail}")
            )
    spec_text = f"{done.model}@{done.version}"
    if not done.ok:
        what = ", ".join(f"{i.kind} {i.status}" for i in done.failed)
        raise CheckFailed(
            f"{spec_text} does not verify: {what}",
            hint=None
            if done.allowed_signers
            else "no allowed signers configured: set MLOPS_ALLOWED_SIGNERS or"
            " `git config --global gpg.ssh.allowedSignersFile FILE`",
        )
    st.success(f"{spec_text}: every signature verifies")


@app.command("deprecate")
def deprecate(
    ctx: typer.Context,
    spec: Annotated[
        str,
        typer.Argument(
            help="NAME@VERSION (deregister it), NAME#STAGE (empty the stage) or NAME (the"
            " whole model).",
            metavar="SPEC",
            show_default=False,
        ),
    ],
    message: Annotated[
        str | None, typer.Option("-m", "--message", help="Why (tag message).")
    ] = None,
    push: PushOption = False,
    sign: SignOption = False,
    json_output: JsonOption = False,
) -> None:
    """Deprecate a version, empty a stage, or deprecate a model (GTO's tag format).

    When deploy/overlays/ is committed, the overlays that deployed it are rewritten in one
    commit, made in the same git transaction as the tags.

    --sign: git signs every tag it writes, as promote --sign does.

    Example:

      mlops model deprecate churn@v0.1.0 -m "leaks the label" --sign
    """
    from mlops_cli.registry.stages import deprecate as do_deprecate

    st = state(ctx, json_output)
    project = _project(st)
    done = do_deprecate(
        project, spec, message=message, push=push, sign=sign, tree=_overlay_hook(project)
    )
    if st.json:
        st.emit("model deprecate", {"result": done})
        return
    signed = ", signed" if done.signed else ""
    st.success(f"deprecated {spec} ({', '.join(done.tags)}{signed})")


@app.command("card")
def card(
    ctx: typer.Context,
    spec: Annotated[
        str,
        typer.Argument(
            help="NAME (latest), NAME@VERSION or NAME#STAGE.", metavar="SPEC", show_default=False
        ),
    ],
    template: Annotated[
        Path | None,
        typer.Option("--template", help="Your own jinja2 card template.", metavar="FILE"),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Print a markdown model card rendered from the version's record.

    Example:

      mlops model card churn@v0.2.0 > MODEL_CARD.md
    """
    from mlops_cli.registry.card import render_card

    st = state(ctx, json_output)
    text = render_card(_project(st), spec, template=st.cwd / template if template else None)
    if st.json:
        st.emit("model card", {"spec": spec, "markdown": text})
        return
    import sys

    sys.stdout.write(text)


app.command("diff")(model_diff)  # rendering in cli/modeldiff.py: this module is long enough
