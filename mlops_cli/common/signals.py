"""Hold off Ctrl-C and termination for the few steps that must finish together.

A terminal's Ctrl-C (and `kill -TERM` of a process group) reaches mlops and every git child
at once. Where two writes must both happen or neither (moving HEAD, then telling the user's
index about the new blob), `shielded()` holds SIGINT, SIGTERM and SIGHUP for the span and
delivers them, as they would have acted, the moment it ends.

Two things make that hold: a Python handler that only notes the signal (so one delivered to
another thread, say rich's refresh thread, cannot raise in the main thread meanwhile), and
the signals blocked in the main thread's mask, which children started inside inherit, so
the group's signal does not kill a git child halfway. Keep the span short: a few git
plumbing calls, never network or user code.
"""

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

_HELD = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@contextlib.contextmanager
def shielded() -> Iterator[None]:
    """Hold the interrupting signals for the span; deliver each one that came, after it."""
    if threading.current_thread() is not threading.main_thread():
        yield  # handlers can only be set from the main thread; callers there are the CLI
        return
    came: list[int] = []

    def note(signum: int, frame: FrameType | None) -> None:
        if signum not in came:
            came.append(signum)

    before = {sig: signal.signal(sig, note) for sig in _HELD}
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, _HELD)
    try:
        yield
    finally:
        # Unblocking runs `note` for whatever is pending before this call returns.
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        for sig, handler in before.items():
            signal.signal(sig, handler)
        for signum in came:
            signal.raise_signal(signum)  # now with the handler (or default) it always had
