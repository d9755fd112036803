"""The registry at scale (issue 14, target 1; the registry side of target 2): `mlops model
list --json`, `mlops model show`, `mlops status` and `mlops status --check` with N versions
across 10 models, beside `gto show` and the floor `git tag -l`, all in the same run.

The project is scaffolded and trained once (`mlops init` + `dvc repro`); one real
`mlops model register` + `mlops test --record` gives the template records. Each size's
repository is then built with ONE `git fast-import`: per version a register commit of its
record and its annotated tag, written with the same code and format `register` uses
(`fixture_version`; tests/registry/test_bench_registry.py checks it against a real
register byte for byte), then one commit recording tests on every version (all failed but
the oldest of each model, which holds prod: status walks every version to find it).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from common import Row, mlops_cmd, notes, report

MODELS = 10
LIST_TARGET_S = 0.3  # model list at 1,000 versions
PER_VERSION_MS = 0.1  # model list, beyond start-up
STATUS_TARGET_S = 0.5  # status at 1,000 versions
IDENT = "bench <bench@example.invalid>"


def sh(cmd: list[str], cwd: Path, **kw: Any) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, **kw)


def timed(
    cmd: list[str], cwd: Path, runs: int, warmup: int = 1, timeout: float | None = None
) -> float:
    """Median wall time of a whole process (any exit status: `status --check` fails on a
    stale registry); inf when one run passes `timeout`."""
    env = {**os.environ, "NO_COLOR": "1"}
    samples = []
    for i in range(warmup + runs):
        start = time.perf_counter()
        try:
            subprocess.run(
                cmd,
                cwd=cwd,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return float("inf")
        if i >= warmup:
            samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def fixture_version(
    template: Any, model: str, version: str, sha: str, created: str, commit: str
) -> tuple[bytes, str]:
    """The record bytes and the tag message `mlops model register` writes for `model@version`
    (its artifact `sha`, trained on `commit`), from the template record of a real register."""
    from mlops_cli.registry import tags as regtags
    from mlops_cli.registry.records import record_path

    tag = regtags.register_tag(model, version)
    record = replace(
        template,
        model=model,
        version=version,
        created=created,
        git={"commit": commit, "tag": tag},
        artifact={**template.artifact, "sha256": sha},
        tests=None,
        images=[],
        message=None,
    )
    rel = record_path(model, version)
    message = (
        f"{regtags.register_message(model, version)}\n\n"
        f"mlops record: {rel}\n"
        f"artifact: {record.artifact['path']} sha256:{sha}"
    )
    return record.to_yaml().encode(), message


def tested(template: Any, registered: bytes, passed: bool) -> bytes:
    """The record after `mlops test --record` (template's tests, bound to this artifact)."""
    from mlops_cli.registry.records import parse_record

    record = parse_record(registered, "fixture")
    tests = json.loads(json.dumps(template.tests))
    tests["artifact_sha256"] = record.artifact["sha256"]
    tests["passed"] = passed
    if not passed:
        tests["checks"][1]["passed"] = False
    return replace(record, tests=tests).to_yaml().encode()


def _data(payload: bytes) -> bytes:
    return b"data %d\n" % len(payload) + payload + b"\n"


def build(project: Path, template: Any, total: int, when: int) -> None:
    """Write `total` versions across MODELS models into `project` with one fast-import."""
    from mlops_cli.registry import tags as regtags
    from mlops_cli.registry.records import record_path

    base = sh(["git", "rev-parse", "HEAD"], project).stdout.decode().strip()
    branch = sh(["git", "symbolic-ref", "HEAD"], project).stdout.decode().strip()
    out = bytearray()
    heads: dict[str, bytes] = {}
    prev = base
    for i in range(total):
        model = f"m{i % MODELS}"
        version = f"v1.{i // MODELS}.0"
        sha = hashlib.sha256(f"{model}@{version}".encode()).hexdigest()
        t = when + i
        created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
        raw, message = fixture_version(template, model, version, sha, created, base)
        rel = record_path(model, version)
        mark = i + 1
        out += f"commit {branch}\nmark :{mark}\ncommitter {IDENT} {t} +0000\n".encode()
        out += _data(f"mlops: register {model}@{version}".encode())
        out += f"from {prev}\n".encode() if i == 0 else b""
        out += f"M 100644 inline {rel}\n".encode() + _data(raw)
        out += f"tag {model}@{version}\nfrom :{mark}\ntagger {IDENT} {t} +0000\n".encode()
        out += _data((message + "\n").encode())
        if i < MODELS:  # the oldest version of each model passes and holds prod
            out += f"tag {model}#prod#1\nfrom :{mark}\ntagger {IDENT} {t} +0000\n".encode()
            assign = regtags.assign_message(model, version, "prod") + "\n\ngate: passed\n"
            out += _data(assign.encode())
        heads[rel] = tested(template, raw, passed=i < MODELS)
        prev = f":{mark}"
    out += f"commit {branch}\ncommitter {IDENT} {when + total} +0000\n".encode()
    out += _data(b"mlops: record tests")
    for rel, raw in heads.items():
        out += f"M 100644 inline {rel}\n".encode() + _data(raw)
    sh(["git", "fast-import", "--quiet"], project, input=bytes(out))
    sh(["git", "reset", "--hard", "-q", "HEAD"], project)


def declare_models(project: Path) -> None:
    """Declare m0..m9 in mlops.yaml as copies of the scaffold's model, committed."""
    text = (project / "mlops.yaml").read_text()
    lines = text.splitlines(keepends=True)
    start = next(i for i, ln in enumerate(lines) if ln.startswith("models:"))
    end = next(
        (i for i in range(start + 1, len(lines)) if lines[i][:1] not in (" ", "\n", "#", "")),
        len(lines),
    )
    block = "".join(lines[start + 1 : end])
    first = block.index('  "churn":')
    body = block[first:]
    copies = "".join(body.replace('  "churn":', f'  "m{k}":', 1) for k in range(MODELS))
    (project / "mlops.yaml").write_text(
        "".join(lines[: start + 1]) + block[:first] + copies + "".join(lines[end:])
    )
    sh(["git", "commit", "-qam", "ten models"], project)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10,100,1000,10000")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--gto-timeout", type=float, default=300.0)
    parser.add_argument(
        "--keep", metavar="DIR", help="build the repositories in DIR and keep them (to profile)"
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    os.environ.setdefault("DVC_NO_ANALYTICS", "1")
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    for key, value in (
        ("GIT_AUTHOR_NAME", "bench"),
        ("GIT_AUTHOR_EMAIL", "bench@example.invalid"),
        ("GIT_COMMITTER_NAME", "bench"),
        ("GIT_COMMITTER_EMAIL", "bench@example.invalid"),
    ):
        os.environ.setdefault(key, value)
    from mlops_cli.registry.records import parse_record

    mlops = mlops_cmd()
    dvc = str(Path(sys.executable).with_name("dvc"))
    gto = str(Path(sys.executable).with_name("gto"))
    with contextlib.ExitStack() as stack:
        tmp = args.keep or stack.enter_context(
            tempfile.TemporaryDirectory(prefix="mlops-bench-registry-")
        )
        Path(tmp).mkdir(parents=True, exist_ok=True)
        os.environ.setdefault("MLOPS_REMOTES_DIR", str(Path(tmp) / "remotes"))
        sh([*mlops, "init", "churn"], Path(tmp))
        base = Path(tmp) / "churn"
        sh([dvc, "repro"], base)
        sh(["git", "add", "-A"], base)
        sh(["git", "commit", "-qm", "train"], base)
        declare_models(base)
        trained = sh(["git", "rev-parse", "HEAD"], base).stdout.decode().strip()
        sh([*mlops, "model", "register", "m0"], base)
        sh([*mlops, "test", "m0@v0.0.1", "--record"], base)
        template = parse_record((base / ".mlops/models/m0/v0.0.1.yaml").read_bytes(), "template")
        sh(["git", "tag", "-d", "m0@v0.0.1"], base)
        sh(["git", "reset", "--hard", "-q", trained], base)
        shutil.rmtree(base / ".mlops" / "cache", ignore_errors=True)
        curve: dict[int, dict[str, float]] = {}
        for n in sizes:
            project = Path(tmp) / f"n{n}"
            shutil.copytree(base, project, symlinks=True)
            started = time.perf_counter()
            build(project, template, n, int(time.time()) - 10 * n - 100)
            built = time.perf_counter() - started
            runs = args.runs if n <= 1000 else max(1, args.runs // 2)
            from mlops_cli.common.fs import user_cache_dir

            shutil.rmtree(user_cache_dir(project), ignore_errors=True)
            cold = timed([*mlops, "model", "list", "--json"], project, 1, warmup=0)
            fig = {
                "build": built,
                "model list (cold)": cold,
                "git tag -l": timed(["git", "tag", "-l"], project, runs),
                "model list --json": timed([*mlops, "model", "list", "--json"], project, runs),
                "model show": timed([*mlops, "model", "show", "m3"], project, runs),
                "status": timed([*mlops, "status"], project, runs),
                "status --check": timed([*mlops, "status", "--check"], project, runs),
            }
            gto_runs = 3 if n <= 100 else 1
            fig["gto show"] = timed(
                [gto, "show", "--json"], project, gto_runs, warmup=0, timeout=args.gto_timeout
            )
            curve[n] = fig
            print(n, {k: round(v, 3) for k, v in fig.items()}, flush=True)
            if not args.keep:
                # The record cache of this throw-away repository (tens of MB at 10,000
                # versions) lives outside it, in the user's cache folder: removed with it.
                shutil.rmtree(user_cache_dir(project), ignore_errors=True)
                shutil.rmtree(project, ignore_errors=True)
        _rows(curve, args.gto_timeout)


def _rows(curve: dict[int, dict[str, float]], gto_timeout: float) -> None:
    at = 1000 if 1000 in curve else max(curve)
    one = curve[at]
    listed = one["model list --json"]
    label = f"{at:,} versions x {MODELS} models"
    for anchor in ("gto show", "git tag -l"):
        report(
            Row(
                "registry",
                f"model list --json, {label}",
                listed,
                anchor,
                one[anchor],
                "s",
                f"<= {LIST_TARGET_S} s",
                listed <= LIST_TARGET_S,
            )
        )
    status = one["status"]
    report(
        Row(
            "registry",
            f"status, {label}",
            status,
            "git tag -l",
            one["git tag -l"],
            "s",
            f"<= {STATUS_TARGET_S} s",
            status <= STATUS_TARGET_S,
        )
    )
    check = one["status --check"]
    report(
        Row(
            "registry",
            f"status --check, {label}",
            check,
            "git tag -l",
            one["git tag -l"],
            "s",
            f"<= {STATUS_TARGET_S} s",
            check <= STATUS_TARGET_S,
        )
    )
    small, big = min(curve), max(curve)
    if big > small:
        per = (curve[big]["model list --json"] - curve[small]["model list --json"]) / (big - small)
        report(
            Row(
                "registry",
                f"model list, ms per version ({small:,}->{big:,})",
                per * 1000,
                "target",
                PER_VERSION_MS,
                "ms",
                f"< {PER_VERSION_MS} ms",
                per * 1000 < PER_VERSION_MS,
            )
        )
        shown = curve[big]["model show"] / curve[small]["model show"]
        report(
            Row(
                "registry",
                f"model show at {big:,} / at {small:,} versions",
                curve[big]["model show"],
                f"model show at {small:,}",
                curve[small]["model show"],
                "s",
                "<= 1.5x",
                shown <= 1.5,
            )
        )
    cols = [
        "git tag -l",
        "model list (cold)",
        "model list --json",
        "model show",
        "status",
        "status --check",
        "gto show",
    ]
    import mlops_cli

    where = Path(mlops_cli.__file__).parent
    install = (
        "a regular (non-editable) pip install, byte-compiled by pip"
        if "site-packages" in where.parts
        else "an editable install, byte-compiled first (`common.compile_like_an_install`)"
    )
    lines = [
        f"Registry at scale (`bench/registry.py`): wall time in seconds (medians), N versions"
        f" across {MODELS} models, mlops from {install}; `gto show --json` timed once above"
        f" 100 versions and stopped after {gto_timeout:.0f} s (shown as >). Every run after the"
        " first finds the records in the record cache (`registry/recordcache.py`);"
        " `model list (cold)` is the first, with no cache: every record parsed.",
        "",
        "| N | " + " | ".join(f"`{c}`" for c in cols) + " | fixture build |",
        "|---|" + "---|" * (len(cols) + 1),
    ]
    for n, fig in curve.items():
        cells = [
            f"> {gto_timeout:.0f}" if fig[c] == float("inf") else f"{fig[c]:.3f}" for c in cols
        ]
        lines.append(f"| {n:,} | " + " | ".join(cells) + f" | {fig['build']:.1f} |")
    notes("\n".join(lines))


if __name__ == "__main__":
    main()
