"""The agreement table (issue 10, part 1): for every kind of output DVC has, `mlops`'s
definition of what the remote is owed (data/obligations.py) and DVC's own (`dvc status -c`,
`dvc push`) name the same outputs, on real git + DVC projects with a real local remote.

All kinds live in one project (one `dvc repro`, built once for the module), each with files
of its own; every row asserts its own outputs. Each kind is checked both ways: after
`dvc push`, `mlops data check-pushed` and `status --remote` find nothing missing; after
`mlops data push`, `dvc status -c` is empty.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from mlops_cli.data import obligations
from mlops_cli.data import status as datastatus
from mlops_cli.data import sync as datasync
from mlops_cli.project.root import Project
from tests.datarepo import dvc, git, new_project, remote_dir, reopen, write
from tests.modelproject import build_env


@dataclass(frozen=True)
class Case:
    dvc_yaml: str  # the stages, run with `dvc repro`
    pushed: set[str]  # the outputs DVC pushes (asserted, so a case cannot pass vacuously)
    not_pushed: set[str] = field(default_factory=set)  # outputs that exist but are not pushed


CASES = {
    "plain out": Case("stages:\n  s:\n    cmd: echo plain > o.txt\n    outs: [o.txt]\n", {"o.txt"}),
    "cache false (only in dvc.yaml)": Case(
        "stages:\n  s:\n    cmd: echo cf-a > cf_a.txt && echo cf-nc > nc.txt\n"
        "    outs:\n      - cf_a.txt\n      - nc.txt:\n          cache: false\n",
        {"cf_a.txt"},
        {"nc.txt"},
    ),
    "push false": Case(
        "stages:\n  s:\n    cmd: echo pf-a > pf_a.txt && echo pf-np > np.txt\n"
        "    outs:\n      - pf_a.txt\n      - np.txt:\n          push: false\n",
        {"pf_a.txt"},
        {"np.txt"},
    ),
    "persist": Case(
        "stages:\n  s:\n    cmd: echo persisted > p.txt\n"
        "    outs:\n      - p.txt:\n          persist: true\n",
        {"p.txt"},
    ),
    "metrics, cached and not": Case(
        "stages:\n  s:\n    cmd: echo 1.5 > m.json && echo 2.5 > mc.json\n"
        "    metrics:\n      - m.json\n      - mc.json:\n          cache: false\n",
        {"m.json"},
        {"mc.json"},
    ),
    "plots, cached and not": Case(
        "stages:\n  s:\n    cmd: printf 'x,y\\n1,2\\n' > p.csv && printf 'x,y\\n3,4\\n' > pc.csv\n"
        "    plots:\n      - p.csv\n      - pc.csv:\n          cache: false\n",
        {"p.csv"},
        {"pc.csv"},
    ),
    "foreach": Case(
        "stages:\n  fe:\n    foreach: [x, y]\n    do:\n"
        "      cmd: echo fe-${item} > fe_${item}.txt && echo nc-${item} > nc_${item}.txt\n"
        "      outs:\n        - fe_${item}.txt\n        - nc_${item}.txt:\n"
        "            cache: false\n",
        {"fe_x.txt", "fe_y.txt"},
        {"nc_x.txt", "nc_y.txt"},
    ),
    "matrix": Case(
        "stages:\n  mx:\n    matrix:\n      k: [p, q]\n      v: [1]\n"
        "    cmd: echo ${item.k}${item.v} > mx_${item.k}_${item.v}.txt"
        " && echo np${item.k} > np_${item.k}.txt\n"
        "    outs:\n      - mx_${item.k}_${item.v}.txt\n      - np_${item.k}.txt:\n"
        "          push: false\n",
        {"mx_p_1.txt", "mx_q_1.txt"},
        {"np_p.txt", "np_q.txt"},
    ),
    "directory out": Case(
        "stages:\n  s:\n    cmd: mkdir -p d/sub && echo one > d/1 && echo two > d/sub/2\n"
        "    outs: [d]\n",
        {"d"},
    ),
    # Made by commands in _build rather than by a stage of the shared dvc.yaml:
    "wdir stage in a subfolder": Case("", {"sub/w/wo.txt"}),
    "dvc add of a folder": Case("", {"data/imgs"}),
    "import from a DVC repo": Case("", set(), {"data/imported.txt"}),
    "import-url": Case("", {"data/url.txt"}),
}


def _build(base: Path) -> Project:
    """One project holding every kind (one `dvc repro`): each case's files are distinct."""
    project = new_project(base / "p")
    root = project.root
    stages = [c.dvc_yaml.removeprefix("stages:\n") for c in CASES.values() if c.dvc_yaml]
    # Every case names its stage `s`: number them apart.
    text = "stages:\n" + "".join(
        st.replace("  s:\n", f"  s{i}:\n", 1) for i, st in enumerate(stages)
    )
    write(root / "dvc.yaml", text.encode())
    (root / "sub" / "w").mkdir(parents=True)
    write(
        root / "sub" / "dvc.yaml",
        b"stages:\n  w:\n    wdir: w\n    cmd: echo from-wdir > wo.txt\n    outs: [wo.txt]\n",
    )
    ran = dvc(root, "repro", "--all-pipelines")
    assert ran.returncode == 0, ran.stderr
    write(root / "data/imgs/a.bin", b"A" * 10)
    write(root / "data/imgs/deep/b.bin", b"B" * 20)
    assert dvc(root, "add", "data/imgs").returncode == 0
    src = base / "src"
    src.mkdir()
    git(src, "init", "-q")
    assert dvc(src, "init", "-q").returncode == 0
    write(src / "shared.txt", b"from another repository\n")
    assert dvc(src, "add", "shared.txt").returncode == 0
    git(src, "add", "-A")
    git(src, "commit", "-qm", "source")
    ran = dvc(root, "import", str(src), "shared.txt", "-o", "data/imported.txt")
    assert ran.returncode == 0, ran.stderr
    write(base / "outside.txt", b"fetched by url\n")
    ran = dvc(root, "import-url", str(base / "outside.txt"), "data/url.txt")
    assert ran.returncode == 0, ran.stderr
    git(root, "add", "-A")
    git(root, "commit", "-qm", "outputs")
    return reopen(project)


def _dvc_missing(project: Project) -> set[str]:
    """The outputs `dvc status -c` says the remote lacks (a folder's files folded into it)."""
    ran = dvc(project.root, "status", "-c", "--json")
    assert ran.returncode == 0, ran.stderr
    report = json.loads(ran.stdout or "{}")
    outs = [o.path for o in obligations.workspace_outputs(project.root)]
    folded = set()
    for path in report:
        owner = [o for o in outs if path == o or path.startswith(o + "/")]
        folded.add(owner[0] if owner else path)
    return folded


def _mlops_missing(project: Project) -> set[str]:
    result = datastatus.remote_obligations(project, workspace=True)
    return {m.path for m in result.missing}


def _empty_remote(project: Project) -> None:
    folder = remote_dir(project.root)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)


@dataclass
class Table:
    outputs: set[str]  # every output mlops sees in the work tree
    dvc_before: set[str]  # `dvc status -c` on an empty remote
    mlops_before: set[str]  # mlops' obligations missing from the empty remote
    mlops_after_dvc_push: set[str]  # ... after `dvc push`
    hook_after_dvc_push: set[str]  # `check-pushed` after `dvc push`
    dvc_after_mlops_push: set[str]  # `dvc status -c` after `mlops data push` (empty remote)
    mlops_after_mlops_push: set[str]


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> Table:
    base = tmp_path_factory.mktemp("agreement")
    with pytest.MonkeyPatch.context() as mp:
        for key, value in build_env(base / "home").items():
            mp.setenv(key, value)
        project = _build(base)
        outputs = {o.path for o in obligations.workspace_outputs(project.root)}
        _empty_remote(project)
        dvc_before, mlops_before = _dvc_missing(project), _mlops_missing(project)
        ran = dvc(project.root, "push")
        assert ran.returncode == 0, ran.stderr
        after_dvc = _mlops_missing(project)
        hook = {m.path for m in datastatus.check_pushed(project, None, "HEAD").missing}
        _empty_remote(project)
        datasync.push(project)
        return Table(
            outputs, dvc_before, mlops_before, after_dvc, hook,
            _dvc_missing(project), _mlops_missing(project),
        )  # fmt: skip


@pytest.mark.parametrize("kind", list(CASES))
def test_mlops_and_dvc_agree_on_what_the_remote_lacks(table: Table, kind: str) -> None:
    case = CASES[kind]
    mine = case.pushed | case.not_pushed
    assert mine <= table.outputs, f"mlops does not see {mine - table.outputs}"
    # Nothing pushed yet: DVC and mlops both owe exactly the outputs DVC pushes.
    assert table.dvc_before & mine == case.pushed
    assert table.mlops_before & mine == case.pushed
    # After `dvc push`: the pre-push hook and status --remote find nothing missing.
    assert table.mlops_after_dvc_push & mine == set()
    assert table.hook_after_dvc_push & mine == set()
    # After `mlops data push` into an empty remote: DVC finds nothing missing.
    assert table.dvc_after_mlops_push & mine == set()
    assert table.mlops_after_mlops_push & mine == set()


def test_the_table_covers_every_output_in_the_project(table: Table) -> None:
    named = set().union(*(c.pushed | c.not_pushed for c in CASES.values()))
    assert table.outputs == named
    assert table.dvc_before == table.mlops_before


def test_data_push_sends_the_model_in_prod_after_newer_versions(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    """Broken item 6: v0.1.0 registered and in prod, then v0.2.0 trained and registered;
    one `mlops data push` must send v0.1.0's model too, or nobody else can test or build
    prod. Before the push, the pre-push check names it, needed by the prod version."""
    from mlops_cli.dvc.files import object_path
    from mlops_cli.project.root import open_project
    from tests.conftest import mlops_bin
    from tests.modelproject import NAME, copy_of, retrain, run, trained

    root = copy_of(trained(tmp_path_factory), tmp_path)
    store = tmp_path / "store"
    assert dvc(root, "remote", "add", "-d", "shared", str(store)).returncode == 0
    git(root, "commit", "-qam", "shared remote")
    run([*mlops_bin(), "model", "register", NAME, "--version", "v0.1.0"], root)
    promote = ["model", "promote", NAME, "v0.1.0", "prod", "--force", "--reason", "data test"]
    run([*mlops_bin(), *promote], root)  # the test gate is not this test's subject
    first = next(o for o in obligations.workspace_outputs(root) if o.path == "models/model.skops")
    retrain(root, 0.5)
    run([*mlops_bin(), "model", "register", NAME, "--version", "v0.2.0"], root)
    project = open_project(root)
    missing = datastatus.remote_obligations(project, to_ref="HEAD").missing
    prods = {m.rev for m in missing if m.md5 == first.md5}
    assert prods and all(r.startswith(f"{NAME}@v0.1.0") or "#prod#" in r for r in prods), prods

    result = datasync.push(project)
    assert first.md5 is not None
    assert object_path(store, first.md5).exists()  # the prod model reached the remote
    assert result.revisions  # pushed as a revision of its own, besides the workspace
    assert datastatus.check_pushed(project, None, "HEAD").missing == []
