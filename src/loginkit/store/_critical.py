"""A section Ctrl-C must not cut short: the refresh between sending the request and saving.

Once a refresh request is sent, a provider that rotates refresh tokens may already have spent the
stored one; if the process then stopped before saving the answer, the person would have to sign
in again. :func:`deferred_interrupts` holds SIGINT back for such a section and delivers it
(``KeyboardInterrupt``, or whatever handler was installed) as soon as the section ends, saved or
not. The wait is bounded by the request's timeouts and one local write.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


@contextmanager
def deferred_interrupts() -> Iterator[None]:
    """Run the body with SIGINT deferred, then deliver a SIGINT that arrived meanwhile.

    Only the main thread receives signals in Python; elsewhere (``asyncio.to_thread``) the body
    simply runs, and the main thread's ``KeyboardInterrupt`` does not stop this thread's save.
    The caller's likely mistake is to start the section after the response: the request must be
    inside it, since a rotating provider spends the old token when it answers.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[FrameType | None] = []

    def hold(signum: int, frame: FrameType | None) -> None:
        pending.append(frame)

    previous = signal.signal(signal.SIGINT, hold)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if pending:
            if callable(previous):
                previous(signal.SIGINT, pending[0])
            elif previous == signal.SIG_DFL:
                signal.raise_signal(signal.SIGINT)
