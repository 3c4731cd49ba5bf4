"""A section Ctrl-C must not cut short: the refresh between sending the request and saving.

Once a refresh request is sent, a provider that rotates refresh tokens may already have spent the
stored one; if the process then stopped before saving the answer, the person would have to sign
in again. :func:`deferred_interrupts` holds SIGINT back for such a section and delivers it
(``KeyboardInterrupt``, or whatever handler was installed) as soon as the section ends, saved or
not. A Ctrl-C during the request waits a few seconds for the answer (a second one stops at once);
once the answer is in hand it waits for the one local write.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

#: How long a Ctrl-C during the request still waits for the answer before it stops the refresh.
ANSWER_GRACE = 3.0


class Section:
    """One deferred section. Call :meth:`answered` once the provider's answer is in hand: from
    then on a Ctrl-C always waits for the save; before, it waits :data:`ANSWER_GRACE` seconds at
    most for the answer (a second Ctrl-C stops at once)."""

    __slots__ = ("_answered", "pending")

    def __init__(self) -> None:
        self._answered = False
        self.pending = False

    def answered(self) -> None:
        self._answered = True
        if threading.current_thread() is threading.main_thread():
            signal.setitimer(signal.ITIMER_REAL, 0)

    @property
    def is_answered(self) -> bool:
        return self._answered


@contextmanager
def deferred_interrupts(grace: float = ANSWER_GRACE) -> Iterator[Section]:
    """Run the body with SIGINT deferred, then deliver a SIGINT that arrived meanwhile.

    Before :meth:`Section.answered` a Ctrl-C gives the answer ``grace`` seconds to arrive (a
    provider that rotates has spent the old token once it answers, so an answer close at hand is
    worth saving) and then stops the request with ``KeyboardInterrupt``; a second Ctrl-C stops it
    at once. After :meth:`Section.answered` it waits for the save, whatever it takes (one local
    write). The caller's likely mistake is to forget :meth:`Section.answered`: then a Ctrl-C
    after the answer could still stop the save once the grace ran out.

    Only the main thread receives signals in Python; elsewhere (``asyncio.to_thread``) the body
    simply runs, and the main thread's ``KeyboardInterrupt`` does not stop this thread's save.
    """
    section = Section()
    if threading.current_thread() is not threading.main_thread():
        yield section
        return
    first_frame: list[FrameType | None] = []

    def stop_now() -> None:
        section.pending = False  # raised here: not delivered again when the section ends
        signal.setitimer(signal.ITIMER_REAL, 0)
        raise KeyboardInterrupt

    def hold(signum: int, frame: FrameType | None) -> None:
        if section.is_answered:
            section.pending = True
            first_frame.append(frame)
            return
        if section.pending:
            stop_now()  # a second Ctrl-C while waiting for the answer
        section.pending = True
        first_frame.append(frame)
        signal.setitimer(signal.ITIMER_REAL, grace)

    def grace_over(signum: int, frame: FrameType | None) -> None:
        if not section.is_answered and section.pending:
            stop_now()

    previous = signal.signal(signal.SIGINT, hold)
    previous_alarm = signal.signal(signal.SIGALRM, grace_over)
    try:
        yield section
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous_alarm)
        signal.signal(signal.SIGINT, previous)
        if section.pending:
            if callable(previous):
                previous(signal.SIGINT, first_frame[0] if first_frame else None)
            elif previous == signal.SIG_DFL:
                signal.raise_signal(signal.SIGINT)
