"""`shielded()` holds SIGINT/SIGTERM until the span ends, in mlops, in its other threads and
in its git children, then delivers them as they would have acted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading

import pytest

from mlops_cli.common.signals import shielded


def test_ctrl_c_inside_the_span_acts_when_it_ends() -> None:
    reached_end = False
    with pytest.raises(KeyboardInterrupt), shielded():
        os.kill(os.getpid(), signal.SIGINT)
        reached_end = True
    assert reached_end
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert signal.SIGINT not in signal.pthread_sigmask(signal.SIG_BLOCK, [])


def test_a_signal_landing_on_another_thread_waits_too() -> None:
    """rich's refresh thread does not block signals; one delivered there must not raise in
    the main thread mid-span."""
    stop = threading.Event()
    worker = threading.Thread(target=stop.wait)
    worker.start()
    try:
        reached_end = False
        with pytest.raises(KeyboardInterrupt), shielded():
            os.kill(os.getpid(), signal.SIGINT)  # process-directed: any unblocked thread
            for _ in range(10_000):
                pass  # give the eval loop its chances to raise
            reached_end = True
        assert reached_end
    finally:
        stop.set()
        worker.join()


def test_a_child_started_inside_survives_its_groups_signal() -> None:
    """The child (in a process group of its own, so the signal reaches no one else) signals
    its whole group as a terminal's Ctrl-C would: with the mask it inherited, it lives."""
    with shielded():
        out = subprocess.run(
            ["sh", "-c", "kill -INT 0; kill -TERM 0; kill -HUP 0; echo alive"],
            capture_output=True,
            text=True,
            process_group=0,
        )
    assert (out.returncode, out.stdout) == (0, "alive\n")
    unshielded = subprocess.run(
        ["sh", "-c", "kill -TERM 0; echo alive"], capture_output=True, process_group=0
    )
    assert unshielded.returncode == -signal.SIGTERM  # the same child dies without the span


def test_sigterm_still_ends_the_process_after_the_span() -> None:
    """SIGTERM's default is to die: held, then delivered with the default, it still does."""
    code = (
        "import os, signal, sys\n"
        "from mlops_cli.common.signals import shielded\n"
        "with shielded():\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "    print('span ended', flush=True)\n"
        "print('not reached', flush=True)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == -signal.SIGTERM
    assert proc.stdout == "span ended\n"


def test_nothing_is_held_after_the_span() -> None:
    with shielded():
        pass
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    with pytest.raises(KeyboardInterrupt):
        signal.raise_signal(signal.SIGINT)
