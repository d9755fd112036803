"""registry/layout.py: where a version's record and signature bundle live, the paths every
command, the docs (docs/models.md) and a teammate's clone agree on."""

from __future__ import annotations

from mlops_cli.registry import layout, records


def test_record_and_bundle_sit_side_by_side_under_the_models_folder() -> None:
    assert layout.record_path("churn", "v0.3.0") == ".mlops/models/churn/v0.3.0.yaml"
    assert layout.signature_path("churn", "v0.3.0") == ".mlops/models/churn/v0.3.0.sig"
    assert layout.record_path("team/churn-2", "v1.0.0-rc.1") == (
        ".mlops/models/team/churn-2/v1.0.0-rc.1.yaml"
    )
    assert layout.ARTIFACT_CACHE == ".mlops/cache/artifacts"


def test_records_re_exports_the_same_names() -> None:
    for name in ("RECORDS_DIR", "ARTIFACT_CACHE", "record_path", "signature_path"):
        assert getattr(records, name) is getattr(layout, name)
