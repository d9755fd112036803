from __future__ import annotations

import pytest
import yaml

from mlops_cli.deploy.manifests import NoDigestError, Release, render, to_yaml

DIGEST = "sha256:" + "a" * 64


def _rel(**kw: object) -> Release:
    base: dict[str, object] = {
        "model": "churn",
        "version": "v0.3.0",
        "image": "127.0.0.1:5000/churn",
        "digest": DIGEST,
        "artifact_sha256": "b" * 64,
        "data_hashes": ("d2", "d1"),
        "record_commit": "c" * 40,
    }
    base.update(kw)
    return Release(**base)  # type: ignore[arg-type]


def test_deployment_pins_digest_and_is_restricted() -> None:
    dep, svc = render(_rel())
    c = dep["spec"]["template"]["spec"]["containers"][0]
    assert c["image"] == f"127.0.0.1:5000/churn@{DIGEST}"
    sc = c["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False
    assert (
        sc["capabilities"] == {"drop": ["ALL"]} and sc["seccompProfile"]["type"] == "RuntimeDefault"
    )
    assert c["readinessProbe"]["httpGet"]["path"] == "/health"
    assert {m["mountPath"] for m in c["volumeMounts"]} == {"/tmp"}
    assert dep["metadata"]["annotations"]["mlops.dev/data-hashes"] == '["d1", "d2"]'
    assert svc["kind"] == "Service"


def test_startup_probe_follows_load_time() -> None:
    slow = render(_rel(load_seconds=40.0))[0]["spec"]["template"]["spec"]["containers"][0]
    default = render(_rel())[0]["spec"]["template"]["spec"]["containers"][0]
    assert slow["startupProbe"]["failureThreshold"] == 60
    assert default["startupProbe"]["failureThreshold"] == 30


def test_no_digest_exits_3() -> None:
    with pytest.raises(NoDigestError) as err:
        render(_rel(digest=None))
    assert err.value.exit_code == 3


def test_yaml_is_deterministic() -> None:
    text = to_yaml(render(_rel()))
    assert text == to_yaml(render(_rel(data_hashes=("d1", "d2"))))
    assert len(list(yaml.safe_load_all(text))) == 2


def test_release_from_record_takes_pushed_digest() -> None:
    from mlops_cli.deploy.manifests import release_from_record
    from mlops_cli.registry.records import VersionRecord

    rec = VersionRecord(
        model="churn",
        version="v0.3.0",
        created="2026-01-01T00:00:00Z",
        git={"commit": "c" * 40, "tag": "churn@v0.3.0"},
        artifact={"sha256": "b" * 64},
        data={"train": {"md5": "m1"}},
        images=[{"ref": "127.0.0.1:5000/churn:v0.3.0", "digest": DIGEST, "pushed": "x"}],
    )
    rel = release_from_record(rec)
    assert (rel.image, rel.digest, rel.data_hashes) == ("127.0.0.1:5000/churn", DIGEST, ("m1",))
    unpushed = VersionRecord(**{**rec.__dict__, "images": []})
    with pytest.raises(NoDigestError):
        render(release_from_record(unpushed))
