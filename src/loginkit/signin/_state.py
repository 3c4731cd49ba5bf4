"""The explicit state of one browser run: where it is (:class:`Stage`), what exists only while
it serves (:class:`Serving`), and whether it may still save credentials (:class:`Credentials`).

:class:`~loginkit.signin._browser.LoginRun` holds one of each under one lock; every transition
happens there, named after these values.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import asyncio

    from loginkit.loopback._callback import RunResult


class Stage(enum.Enum):
    """Where a run is. It only moves forward: NEW -> BOUND -> STARTING -> SERVING -> ENDED (a
    cancel before STARTING goes straight to ENDED)."""

    NEW = "new"  # nothing bound
    BOUND = "bound"  # the sockets are held and the link is built
    STARTING = "starting"  # the server thread runs; its loop does not accept yet
    SERVING = "serving"  # the loop is up: callbacks, the exchange and cancels go through it
    ENDED = "ended"  # the result is set; nothing changes any more


class Serving:
    """What exists only while SERVING: the server's loop and the future that ends it. (A plain
    class: defining a dataclass costs a third of a millisecond before the link is printed.)"""

    __slots__ = ("done", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop, done: asyncio.Future[RunResult]) -> None:
        self.loop = loop
        self.done = done


class Credentials(enum.Enum):
    """Whether the run may still save credentials. A cancel and the save exclude each other:
    the first to claim the run wins (OPEN -> REFUSED, or OPEN -> SAVING -> SAVED)."""

    OPEN = "open"  # nothing claimed yet
    REFUSED = "refused"  # the run was cancelled or timed out: nothing may be written
    SAVING = "saving"  # the finishing step holds the right to save; cancels are ignored
    SAVED = "saved"  # written: a late cancel ends the run as the success it is
