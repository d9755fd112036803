"""`mlops data add` of a large file, cold and no-op, against `dvc add` in the same run.

Targets (issue 3, one large file): cold <= 1.1x `dvc add`, no-op <= 0.5x `dvc add`.
Targets (issue 14, `--files N`: a folder of N files of 4 KiB): cold <= 0.3x `dvc add`, no-op
<= 0.2x, with the md5 of all the files (read + hash in one process) printed as the floor.
Whole processes; the data has no schema, so both sides do the same work (hash, copy into
the cache, write the .dvc file); `mlops` also stages it in git and declares the data set
in mlops.yaml.

- cold: the .dvc file, the cache and both stat caches are gone and the file's mtime is new,
  so each tool hashes and copies the whole file; the two tools alternate, and `sync` runs
  (untimed) before each run so one's write-back does not land in the other's time;
- no-op: the same add again on an unchanged, already versioned file.

    python bench/data_add.py                 # 2 GB, the issue's size
    python bench/data_add.py --size-mb 200   # a quick run
    python bench/data_add.py --files 10000   # a folder of 10,000 x 4 KiB files
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import Row, mlops_cmd, notes, report, time_cmd

COLD_TARGET = 1.1
NOOP_TARGET = 0.5
FILES_COLD_TARGET = 0.3
FILES_NOOP_TARGET = 0.2
DATA = "data/big.bin"
FOLDER = "data/many"
FILE_SIZE = 4096
PER_DIR = 100  # files per sub-folder, so no folder holds 100,000 entries


def dvc_cmd() -> list[str]:
    beside = Path(sys.executable).with_name("dvc")
    return [str(beside)] if beside.exists() else [sys.executable, "-m", "dvc"]


def make_file(path: Path, megabytes: int) -> None:
    """Distinct 1 MB blocks, so no layer can deduplicate or compress its way to a win."""
    path.parent.mkdir(parents=True, exist_ok=True)
    block = bytearray(hashlib.sha512(b"bench").digest() * (1 << 14))
    with path.open("wb") as fh:
        for i in range(megabytes):
            block[:8] = i.to_bytes(8, "little")
            fh.write(block)


def make_folder(folder: Path, count: int) -> None:
    """`count` distinct 4 KiB files, PER_DIR to a sub-folder."""
    seed = hashlib.sha512(b"bench-files").digest() * (FILE_SIZE // 64)
    for i in range(count):
        path = folder / f"d{i // PER_DIR:05d}" / f"f{i:07d}.bin"
        if i % PER_DIR == 0:
            path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(i.to_bytes(8, "little") + seed[8:])


def md5_floor(folder: Path) -> float:
    """The floor: read and md5 every file, in one process (no cache copy, no metadata)."""
    start = time.perf_counter()
    for dirpath, _, names in os.walk(folder):
        for name in names:
            with open(os.path.join(dirpath, name), "rb") as fh:
                hashlib.md5(fh.read(), usedforsecurity=False).hexdigest()
    return time.perf_counter() - start


def touch_all(target: Path) -> None:
    if target.is_file():
        os.utime(target)
        return
    for dirpath, _, names in os.walk(target):
        for name in names:
            os.utime(os.path.join(dirpath, name))


def make_project(folder: Path, env: dict[str, str]) -> Path:
    subprocess.run(
        [*mlops_cmd(), "-q", "init", "-t", "minimal", "--defaults", str(folder)],
        env=env,
        check=True,
        stdin=subprocess.DEVNULL,
    )
    return folder


def reset(root: Path, config: bytes, data: str = DATA) -> None:
    """Back to 'never added': no .dvc file, empty caches, a new mtime on the data."""
    (root / f"{data}.dvc").unlink(missing_ok=True)
    from mlops_cli.common.fs import user_cache_dir

    for cache in (root / ".dvc" / "cache", root / ".mlops" / "cache", user_cache_dir(root)):
        if cache.exists():
            subprocess.run(["chmod", "-R", "u+w", str(cache)], check=True)
            shutil.rmtree(cache)
    (root / "mlops.yaml").write_bytes(config)
    subprocess.run(["git", "-C", str(root), "reset", "-q"], check=True)
    touch_all(root / data)  # DVC's state db and ours key on mtime: both must re-hash
    time.sleep(0.2)  # past the "racily clean" window, as a file written earlier would be
    subprocess.run(["sync"], check=True)


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mb", type=int, default=2048, help="file size (default 2048)")
    parser.add_argument("--cold-runs", type=int, default=3)
    parser.add_argument("--noop-runs", type=int, default=7)
    parser.add_argument(
        "--files", type=int, default=0, help="a folder of this many 4 KiB files instead"
    )
    args = parser.parse_args()
    data = FOLDER if args.files else DATA
    with tempfile.TemporaryDirectory(prefix="mlops-bench-data-") as tmp:
        base = Path(tmp)
        env = {
            **os.environ,
            "NO_COLOR": "1",
            "DVC_NO_ANALYTICS": "1",
            "MLOPS_REMOTES_DIR": str(base / "remotes"),
            "GIT_AUTHOR_NAME": os.environ.get("GIT_AUTHOR_NAME", "bench"),
            "GIT_AUTHOR_EMAIL": os.environ.get("GIT_AUTHOR_EMAIL", "bench@example.com"),
            "GIT_COMMITTER_NAME": os.environ.get("GIT_COMMITTER_NAME", "bench"),
            "GIT_COMMITTER_EMAIL": os.environ.get("GIT_COMMITTER_EMAIL", "bench@example.com"),
        }
        os.environ.update(env)  # time_cmd runs with os.environ
        ours, theirs = (make_project(base / name, env) for name in ("mlops", "dvc"))
        what = f"{args.files} files" if args.files else f"{args.size_mb} MB"
        print(f"generating {what} twice ...", file=sys.stderr, flush=True)
        for root in (ours, theirs):
            if args.files:
                make_folder(root / data, args.files)
            else:
                make_file(root / data, args.size_mb)
        floor = md5_floor(ours / data) if args.files else None
        configs = {root: (root / "mlops.yaml").read_bytes() for root in (ours, theirs)}
        mlops_add = [*mlops_cmd(), "-q", "data", "add", data]
        dvc_add = [*dvc_cmd(), "add", "-q", data]

        cold: dict[str, list[float]] = {"mlops": [], "dvc": []}
        for _ in range(args.cold_runs):
            for name, root, cmd in (("mlops", ours, mlops_add), ("dvc", theirs, dvc_add)):
                reset(root, configs[root], data)
                cold[name].append(timed(cmd, root, env))
        noop_mlops = time_cmd(mlops_add, runs=args.noop_runs, cwd=ours)
        noop_dvc = time_cmd(dvc_add, runs=args.noop_runs, cwd=theirs)

    mine, anchor = statistics.median(cold["mlops"]), statistics.median(cold["dvc"])
    size = f"{args.files:,} files" if args.files else f"{args.size_mb} MB"
    cold_target = FILES_COLD_TARGET if args.files else COLD_TARGET
    noop_target = FILES_NOOP_TARGET if args.files else NOOP_TARGET
    report(
        Row(
            "data_add",
            f"mlops data add {size} cold",
            mine,
            "dvc add (cold)",
            anchor,
            "s",
            f"<= {cold_target}x",
            mine / anchor <= cold_target,
        )
    )
    report(
        Row(
            "data_add",
            f"mlops data add {size} no-op",
            noop_mlops,
            "dvc add (no-op)",
            noop_dvc,
            "s",
            f"<= {noop_target}x",
            noop_mlops / noop_dvc <= noop_target,
        )
    )
    if floor is not None:
        notes(
            f"data_add, {size} x 4 KiB: floor (read + md5 of every file, one process)"
            f" {floor:.3f} s; cold mlops {mine:.3f} s, dvc add {anchor:.3f} s."
        )


if __name__ == "__main__":
    main()
