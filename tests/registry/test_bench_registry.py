"""bench/registry.py measures real data: its fixture writer (one `git fast-import`) gives
the record and the tag a real `mlops model register` writes, byte for byte, and the record
`mlops test --record` leaves; and `status` on such a repository of many models and versions
reads them in a few git calls, not a few per model or one per version."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from mlops_cli.project.root import open_project
from mlops_cli.registry.records import VersionRecord, parse_record
from mlops_cli.status.status import project_status
from tests.conftest import mlops_bin
from tests.modelproject import copy_of, git, run, trained

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _bench() -> ModuleType:
    sys.path.insert(0, str(BENCH))
    try:
        spec = importlib.util.spec_from_file_location("bench_registry", BENCH / "registry.py")
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(BENCH))


def _blob(project: Path, spec: str) -> bytes:
    return subprocess.run(
        ["git", "cat-file", "-p", spec], cwd=project, check=True, capture_output=True
    ).stdout


def _tag_object(project: Path, tag: str) -> tuple[list[str], str]:
    """The header fields of a tag object (their names and the tag's name), and its message."""
    head, _, message = _blob(project, tag).decode().partition("\n\n")
    fields = [line.split(" ", 1)[0] for line in head.splitlines()]
    return [*fields, head.splitlines()[2]], message


@pytest.fixture(scope="module")
def ten_models(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ModuleType]:
    """The trained project with models m0..m9 declared (as the bench does), committed."""
    bench = _bench()
    project = copy_of(trained(tmp_path_factory), tmp_path_factory.mktemp("ten"))
    bench.declare_models(project)
    return project, bench


@pytest.fixture(scope="module")
def real(ten_models: tuple[Path, ModuleType], tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A real `mlops model register m0` and `mlops test m0@v0.0.1 --record` on a copy:
    (the copy, the commit it trained on, the record as registered, then as tested)."""
    base, _ = ten_models
    project = copy_of(base, tmp_path_factory.mktemp("real"))
    trained_at = git(project, "rev-parse", "HEAD")
    run([*mlops_bin(), "model", "register", "m0"], project)
    registered = (project / REL).read_bytes()
    run([*mlops_bin(), "test", "m0@v0.0.1", "--record"], project)
    return project, trained_at, registered, (project / REL).read_bytes()


REL = ".mlops/models/m0/v0.0.1.yaml"
WHEN = 1_700_000_000


def test_the_fixture_writes_what_register_and_test_record_write(
    ten_models: tuple[Path, ModuleType], real: Any, tmp_path: Path
) -> None:
    base, bench = ten_models
    project, trained_at, registered, tested = real
    template = parse_record(tested, "template")  # what the bench builds every version from
    assert template.tests and template.tests["passed"] is True

    record = parse_record(registered, REL)
    raw, message = bench.fixture_version(
        template, "m0", "v0.0.1", record.artifact["sha256"], record.created, trained_at
    )
    assert raw == registered  # byte for byte
    fields, real_message = _tag_object(project, "m0@v0.0.1")
    assert real_message == message + "\n"
    assert bench.tested(template, raw, passed=True) == tested

    # The fast-import repository holds exactly such records and tags: m3@v1.1.0 is the
    # 14th version written (i = 13), its tagger time WHEN + 13.
    built = copy_of(base, tmp_path / "built")
    bench.build(built, template, 20, WHEN)
    sha = bench.hashlib.sha256(b"m3@v1.1.0").hexdigest()
    created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(WHEN + 13))
    want, want_message = bench.fixture_version(template, "m3", "v1.1.0", sha, created, trained_at)
    assert _blob(built, "m3@v1.1.0:.mlops/models/m3/v1.1.0.yaml") == want
    built_fields, built_message = _tag_object(built, "m3@v1.1.0")
    assert built_fields[:-1] == fields[:-1] and built_fields[-1] == "tag m3@v1.1.0"
    assert built_message == want_message + "\n"
    head = (built / ".mlops/models/m3/v1.1.0.yaml").read_bytes()
    assert head == bench.tested(template, want, passed=False)
    assert git(built, "status", "--porcelain") == ""


def test_status_reads_many_models_in_a_few_git_calls(
    ten_models: tuple[Path, ModuleType], real: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base, bench = ten_models
    template = parse_record(real[3], "template")
    project = copy_of(base, tmp_path / "built")
    bench.build(project, template, 50, WHEN)  # 5 versions of each of 10 models
    expected = project_status(open_project(project))
    assert [m.latest for m in expected.models] == ["v1.4.0"] * 10
    assert [m.stages for m in expected.models] == [{"prod": "v1.0.0"}] * 10
    assert [m.tests for m in expected.models] == ["failed"] * 10

    calls: list[tuple[str, ...]] = []
    from mlops_cli.gitio import run as gitrun

    real_git = gitrun.git

    def counting(root: Any, *args: str, **kw: Any) -> Any:
        calls.append(args)
        return real_git(root, *args, **kw)

    for module in ("mlops_cli.gitio.objects", "mlops_cli.gitio.refs"):
        monkeypatch.setattr(f"{module}.git", counting)
    decoded: list[str] = []
    from_dict = VersionRecord.from_dict.__func__  # type: ignore[attr-defined]

    def counting_from_dict(cls: Any, data: Any, source: str) -> Any:
        decoded.append(source)
        return from_dict(cls, data, source)

    monkeypatch.setattr(VersionRecord, "from_dict", classmethod(counting_from_dict))
    again = project_status(open_project(project))
    assert again.models == expected.models and again.findings == expected.findings
    batches = [a for a in calls if a[:2] == ("cat-file", "--batch")]
    assert len(batches) <= 2, calls  # HEAD's records by blob id, the gate's at their tags
    assert len([a for a in calls if a[0] == "ls-tree"]) == 1
    assert not [a for a in calls if a[:2] == ("cat-file", "blob")]
    # From the record cache, only what status shows is decoded: each model's latest and its
    # prod holder at HEAD, 2 of 5 (the registered records the gate compares them with were
    # remembered by the first run, in this process).
    assert sorted(decoded) == sorted(
        f".mlops/models/m{k}/{v}.yaml" for k in range(10) for v in ("v1.0.0", "v1.4.0")
    )
