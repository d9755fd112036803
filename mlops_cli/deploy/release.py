"""Which version a deploy spec names, read from committed tags and records only.

`churn#prod` is the version the stage tag holds, `churn@v0.3.0` a registered version and
`churn` the latest; the workspace has no digest, so it never deploys. Nothing is
materialized: rendering manifests needs the record, not the model file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlops_cli.common.errors import InputError
from mlops_cli.deploy.manifests import Release, release_from_record
from mlops_cli.registry.records import (
    WORKSPACE,
    load_record,
    model_config,
    parse_spec,
    registered_version,
)

if TYPE_CHECKING:
    from mlops_cli.project.root import Project
    from mlops_cli.registry.records import VersionRecord


def record_for(project: Project, spec: str) -> VersionRecord:
    name, version, stage = parse_spec(spec)
    model_config(project, name)  # an unknown name: InputError listing the declared ones
    if version == WORKSPACE:
        raise InputError(
            "the workspace model has no pushed image to deploy",
            hint=f"register and push it: `mlops model register {name}`, `mlops image push`",
        )
    found, _ = registered_version(project, name, version, stage)
    return load_record(project, name, found)


def release_for(project: Project, spec: str, **overrides: Any) -> Release:
    return release_from_record(record_for(project, spec), **overrides)
