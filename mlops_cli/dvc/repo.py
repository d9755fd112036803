"""Everything that drives DVC. `dvc` is imported inside each function: it is heavy."""

from __future__ import annotations

import contextlib
import io
import logging
import os
from collections.abc import Iterator
from pathlib import Path

from mlops_cli.common.errors import ExternalToolError
from mlops_cli.common.progress import NullReporter, Reporter


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextlib.contextmanager
def _quiet_dvc(reporter: Reporter) -> Iterator[None]:
    """DVC as a library logs and prints to stdout; keep stdout clean (it may carry --json).

    Its messages go to the reporter instead: warnings as warnings, the rest as detail.
    """
    # mlops drives DVC on the user's behalf: it must not send usage analytics for them.
    os.environ.setdefault("DVC_NO_ANALYTICS", "1")
    logger = logging.getLogger("dvc")
    saved = (logger.handlers[:], logger.level, logger.propagate)
    collect = _Collect()
    logger.handlers = [collect]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    buf = io.StringIO()
    try:
        with contextlib.redirect_stdout(buf):
            yield
    finally:
        logger.handlers, level, logger.propagate = saved[0], saved[1], saved[2]
        logger.setLevel(level)
        lines = [(r.levelno, r.getMessage()) for r in collect.records]
        lines += [(logging.INFO, line) for line in buf.getvalue().splitlines()]
        for levelno, text in lines:
            for line in text.strip().splitlines():
                if not line.strip():
                    continue
                if levelno >= logging.WARNING:
                    reporter.warn(f"dvc: {line.strip()}")
                else:
                    reporter.detail(f"dvc: {line.strip()}")


def _dvc_error(action: str, exc: Exception) -> ExternalToolError:
    text = str(exc).strip().replace("\n", " ") or type(exc).__name__
    return ExternalToolError(f"dvc {action} failed: {text}")


def init(root: Path, reporter: Reporter | None = None) -> None:
    """`dvc init` in a git work tree (no-op when `.dvc/` exists)."""
    if (root / ".dvc").is_dir():
        return
    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    with _quiet_dvc(reporter or NullReporter()):
        try:
            Repo.init(str(root))
        except DvcException as exc:
            raise _dvc_error("init", exc) from None


def add(root: Path, targets: list[str], reporter: Reporter | None = None) -> None:
    """`dvc add` each target (paths relative to `root`)."""
    if not targets:
        return
    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    with _quiet_dvc(reporter or NullReporter()):
        try:
            with Repo(str(root)) as repo:
                repo.add([str(root / t) for t in targets])
        except DvcException as exc:
            raise _dvc_error("add", exc) from None


def add_remote(
    root: Path, name: str, url: str, *, default: bool = True, reporter: Reporter | None = None
) -> None:
    """`dvc remote add [-d] NAME URL` into the committed `.dvc/config`."""
    from dvc.config import Config
    from dvc.exceptions import DvcException

    with _quiet_dvc(reporter or NullReporter()):
        try:
            config = Config(dvc_dir=str(root / ".dvc"))
            with config.edit("repo") as conf:
                conf["remote"][name] = {"url": url}
                if default:
                    conf["core"]["remote"] = name
        except DvcException as exc:
            raise _dvc_error("remote add", exc) from None
