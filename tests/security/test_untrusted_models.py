"""Issue 13, items 1-3: a hostile clone cannot make `mlops test`, the runtime or skops'
`trusted_types` run its code. Each payload would create a marker file."""

from __future__ import annotations

import json
import os
import pickle
import pydoc
import shutil
import subprocess
from pathlib import Path

import pytest

from mlops_cli.common.errors import UnsafeError
from mlops_cli.common.fs import sha256_file
from mlops_cli.modeltest import load as safeload
from mlops_cli.runtime import model as runtime_model
from tests.modelproject import NAME, build_env, commit_all, copy_of, edit_config, tool, trained
from tests.runtime.test_pickleguard import Call, _raw


def _mlops(project: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool("mlops"), *args], cwd=project, env=env, capture_output=True, text=True, timeout=600
    )


@pytest.mark.parametrize("gadget", ["os.system", "pandas Expr"])
def test_a_registered_gadget_pickle_does_not_run_in_mlops_test(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, gadget: str
) -> None:
    project = copy_of(trained(tmp_path_factory), tmp_path)
    marker = tmp_path / "pwned"
    sh = f"touch {marker}"
    data = (
        pickle.dumps(Call(os.system, sh))
        if gadget == "os.system"
        else _raw("pandas.core.computation.expr", "Expr", f"@pd.io.common.os.system({sh!r})")
    )
    (project / "models/model.pkl").write_bytes(data)
    edit_config(project, "path: models/model.skops", "path: models/model.pkl")
    edit_config(project, "format: skops", "format: pickle")
    commit_all(project, "the attacker's model")
    env = build_env(tmp_path / "home")
    registered = _mlops(project, "model", "register", NAME, env=env)
    assert registered.returncode == 0, registered.stderr  # register never unpickles
    done = _mlops(project, "test", f"{NAME}@v0.0.1", env=env)
    assert done.returncode == 4, (done.stdout, done.stderr)
    assert "allow-list" in done.stderr or "allow-list" in done.stdout
    assert not marker.exists()
    # --trust vouches for the file, not for what it may call.
    trusted = _mlops(project, "test", NAME, "--trust", env=env)
    assert trusted.returncode == 4, (trusted.stdout, trusted.stderr)
    assert not marker.exists()
    # The image build runs the same allow-listed load first, before any docker work.
    built = _mlops(project, "image", "build", NAME, "--trust", env=env)
    assert built.returncode == 4, (built.stdout, built.stderr)
    assert "allow-list" in built.stderr or "allow-list" in built.stdout
    assert not marker.exists()


def test_repo_trusted_types_cannot_trust_a_function(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import skops.io as sio
    from sklearn.preprocessing import FunctionTransformer

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.delenv(safeload.TRUSTED_TYPES_ENV, raising=False)
    marker = tmp_path / "pwned"
    model = FunctionTransformer(func=pydoc.pipepager, kw_args={"cmd": f"touch {marker}"})
    path = tmp_path / "m.skops"
    sio.dump(model, path)
    assert "pydoc.pipepager" in sio.get_untrusted_types(file=path)
    for trusted in (["pydoc.pipepager"], ["pydoc.pipepager", "builtins.eval"]):
        with pytest.raises(UnsafeError, match="MLOPS_TRUSTED_TYPES") as info:
            safeload.load_model(path, "skops", project=None, trusted_types=trusted, trust=True)
        assert "never functions" in info.value.message
    assert not marker.exists()
    # The local user's decision, outside the repository, is honoured.
    (tmp_path / "cfg/mlops").mkdir(parents=True)
    (tmp_path / "cfg/mlops/trusted-types").write_text("pydoc.pipepager  # I know\n")
    loaded = safeload.load_model(path, "skops", project=None, trusted_types=[])
    assert loaded.func is pydoc.pipepager


def test_the_runtime_refuses_a_gadget_whose_hash_matches(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    folder = tmp_path / "model"
    folder.mkdir()
    artifact = folder / "model.joblib"
    artifact.write_bytes(pickle.dumps(Call(os.system, f"touch {marker}")))
    meta = {
        "schema_version": 1,
        "model": NAME,
        "artifact": {"file": artifact.name, "format": "joblib", "sha256": sha256_file(artifact)[0]},
    }
    (folder / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(runtime_model.ModelLoadError, match="allow-list"):
        runtime_model.load(folder)
    env = {**os.environ, "MLOPS_MODEL_DIR": str(folder), "MLOPS_PORT": "0"}
    started = subprocess.run(
        [tool("python"), "-m", "mlops_cli.runtime", "serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert started.returncode != 0
    assert "allow-list" in started.stderr
    assert not marker.exists()
    shutil.rmtree(folder)
