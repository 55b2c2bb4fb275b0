"""A wall-clock limit for grading: SIGALRM in the main thread, nothing elsewhere."""
from __future__ import annotations

import contextlib
import signal
import threading

from .model import InvalidAnswer

GRADE_SECONDS = 2.0


class _Expired(BaseException):
    """Raised inside the limited block; BaseException so SymPy's broad excepts do not swallow it."""


@contextlib.contextmanager
def deadline(seconds: float = GRADE_SECONDS):
    """Run the block for at most ``seconds``; past that raise :class:`InvalidAnswer`."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def _ring(signum, frame):
        raise _Expired()

    old = signal.signal(signal.SIGALRM, _ring)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    except _Expired:
        raise InvalidAnswer(f"checking this answer took longer than {seconds:g} s; "
                            "write it in a simpler form") from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
