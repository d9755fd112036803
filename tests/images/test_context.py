"""Dockerfile rendering and build-context assembly: no Docker daemon needed."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlops_cli.common.errors import UnsafeError
from mlops_cli.common.progress import NullReporter
from mlops_cli.images import build as images
from mlops_cli.images.context import assemble, git_source, quote
from mlops_cli.images.wheels import Platform, Wheelhouse
from mlops_cli.project.root import open_project

CANARY = "CANARY-SECRET-5b1e0c"


class Collect(NullReporter):
    def __init__(self) -> None:
        self.warnings: list[str] = []

    def warn(self, message: str) -> None:
        self.warnings.append(message)


def set_image(root: Path, **values: Any) -> None:
    config = yaml.safe_load((root / "mlops.yaml").read_text())
    config["image"].update(values)
    (root / "mlops.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


def fake_wheelhouse(tmp_path: Path) -> Wheelhouse:
    folder = tmp_path / "wheels"
    folder.mkdir()
    (folder / "demo-1.0-py3-none-any.whl").write_bytes(b"not really a wheel")
    return Wheelhouse(folder, {"demo": "1.0"}, {"demo": "1.0"}, cached=True)


def test_dockerfile_layers_user_health_labels(image_project: Path) -> None:
    reporter = Collect()
    plan = images.plan(open_project(image_project), "churn", reporter=reporter)
    text = plan.dockerfile
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    order = [
        next(i for i, line in enumerate(lines) if line == want or line.startswith("LABEL ") == want)
        for want in (
            "FROM mlops-test/python:3.11-bookworm AS deps",
            "COPY wheels/ /tmp/deps/wheels/",
            "FROM mlops-test/python:3.11-bookworm",
            "COPY --from=deps /opt/venv /opt/venv",
            "COPY runtime/ /app/lib/",
            "COPY model/ /app/model/",
            True,  # the LABEL instruction
            "USER 10001:10001",
        )
    ]
    assert order == sorted(order), text
    assert "EXPOSE 8080" in lines
    assert any(line.startswith("HEALTHCHECK ") for line in lines)
    assert "--no-index" in text
    for key in ("title", "version", "revision", "created", "base.name"):
        assert f'"org.opencontainers.image.{key}"=' in text
    assert f'"mlops.artifact.sha256"="{plan.bundle.sha256}"' in text
    assert '"mlops.data.train.md5"=' in text
    assert plan.refs.refs[0] == "127.0.0.1:5000/churn:workspace"
    assert any("not pinned by digest" in w for w in reporter.warnings)


def test_digest_pinned_base_gives_no_warning(image_project: Path) -> None:
    set_image(image_project, base="python:3.11-slim@sha256:" + "a" * 64)
    reporter = Collect()
    plan = images.plan(open_project(image_project), "churn", reporter=reporter)
    assert reporter.warnings == []
    assert plan.dockerfile.count("FROM python:3.11-slim@sha256:" + "a" * 64) == 2


def test_context_is_the_explicit_list_and_never_a_secret(
    image_project: Path, tmp_path: Path
) -> None:
    (image_project / ".env").write_text(f"API_TOKEN={CANARY}\n")
    (image_project / ".dvc" / "config.local").write_text(
        f"['remote \"s3\"']\n  secret = {CANARY}\n"
    )
    (image_project / "models" / "notes.txt").write_text(CANARY)
    plan = images.plan(open_project(image_project), "churn", reporter=NullReporter())
    ctx = assemble(plan.bundle, fake_wheelhouse(tmp_path), plan.dockerfile)
    try:
        assert ctx.files == [
            "Dockerfile",
            "model/metadata.json",
            "model/model.skops",
            "requirements.lock",
            "runtime/mlops_cli/__init__.py",
            "runtime/mlops_cli/runtime/__init__.py",
            "runtime/mlops_cli/runtime/__main__.py",
            "runtime/mlops_cli/runtime/app.py",
            "runtime/mlops_cli/runtime/formats.py",
            "runtime/mlops_cli/runtime/metrics.py",
            "runtime/mlops_cli/runtime/model.py",
            "runtime/mlops_cli/runtime/pickleguard.py",
            "runtime/mlops_cli/runtime/predlog.py",
            "runtime/mlops_cli/runtime/signature.py",
            "wheels/demo-1.0-py3-none-any.whl",
        ]
        buffer = io.BytesIO()
        ctx.tar(buffer)
        assert CANARY.encode() not in buffer.getvalue()
        buffer.seek(0)
        with tarfile.open(fileobj=buffer) as tar:
            members = tar.getmembers()
        assert [m.name for m in members] == ctx.files
        assert {(m.uid, m.gid, m.mtime) for m in members} == {(0, 0, 0)}
        again = io.BytesIO()
        ctx.tar(again)
        assert again.getvalue() == buffer.getvalue()  # reproducible: the cache can hit
        assert (ctx.folder / "requirements.lock").read_text() == "demo==1.0\n"
    finally:
        import shutil

        shutil.rmtree(ctx.folder)


def test_project_dockerfile_template(image_project: Path) -> None:
    (image_project / "docker").mkdir()
    (image_project / "docker" / "Dockerfile.jinja").write_text(
        "FROM {{ base }}\nLABEL model={{ model }} sha={{ label_map['mlops.artifact.sha256'] }}\n"
    )
    set_image(image_project, dockerfile="docker/Dockerfile.jinja")
    plan = images.plan(open_project(image_project), "churn", reporter=NullReporter())
    assert plan.dockerfile == (
        f"FROM mlops-test/python:3.11-bookworm\nLABEL model=churn sha={plan.bundle.sha256}\n"
    )


def test_a_dockerfile_template_out_of_the_project_is_refused(image_project: Path) -> None:
    """image.dockerfile comes from a possibly cloned mlops.yaml: it must not read a file
    elsewhere on this machine into the build (exit 4, as model and data paths)."""
    secret = image_project.parent / "secret.jinja"
    secret.write_text("FROM {{ base }}\n# a file of yours\n")
    for where in (str(secret), "../secret.jinja"):
        set_image(image_project, dockerfile=where)
        with pytest.raises(UnsafeError, match="outside") as info:
            images.plan(open_project(image_project), "churn", reporter=NullReporter())
        assert info.value.exit_code == 4


def test_untrusted_pickle_is_refused_before_any_build(image_project: Path) -> None:
    import joblib

    joblib.dump({"any": "object"}, image_project / "models" / "model.joblib")
    config = yaml.safe_load((image_project / "mlops.yaml").read_text())
    config["models"]["churn"].update({"path": "models/model.joblib", "format": "joblib"})
    (image_project / "mlops.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    with pytest.raises(UnsafeError) as info:
        images.plan(open_project(image_project), "churn", reporter=NullReporter())
    assert info.value.exit_code == 4


def test_quote_keeps_labels_literal() -> None:
    assert quote('a "b" $HOME \\ c\nd') == '"a \\"b\\" \\$HOME \\\\ c d"'


def test_git_source_drops_credentials(tmp_path: Path) -> None:
    import subprocess

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run(
        [
            "git",
            "-C",
            str(tmp_path),
            "remote",
            "add",
            "origin",
            "https://user:tok3n@git.example.com:8443/org/repo.git",
        ],
        check=True,
    )
    assert git_source(tmp_path) == "https://git.example.com:8443/org/repo.git"


def test_platform_tags_cover_older_manylinux() -> None:
    tags = Platform("3.11", "x86_64", "2.36").platform_tags()
    assert tags[0] == "manylinux_2_36_x86_64"
    assert {"manylinux_2_17_x86_64", "manylinux2014_x86_64", "manylinux1_x86_64"} <= set(tags)
    with pytest.raises(Exception, match="not glibc"):
        Platform("3.11", "x86_64", None).platform_tags()


def test_the_image_carries_every_runtime_module() -> None:
    """A runtime module left out of the image fails every container at start."""
    from mlops_cli import runtime
    from mlops_cli.images import context

    folder = Path(runtime.__file__).parent
    assert set(context._RUNTIME_FILES) == {p.name for p in folder.glob("*.py")}
