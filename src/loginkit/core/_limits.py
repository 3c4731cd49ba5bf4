"""Explicit timeouts and limits, with defaults, kept import-light so options can name them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from loginkit.core._budgets import DEFAULT_CONNECT, DEFAULT_READ, DEFAULT_TOTAL, MAX_RESPONSE_BODY

__all__ = ["DEFAULT_TOTAL", "MAX_RESPONSE_BODY", "ServerLimits", "Timeouts"]


@dataclass(frozen=True)
class Timeouts:
    """Per-request limits in seconds. Every HTTP request loginkit makes has all five set.

    ``connect``/``read``/``write``/``pool`` bound each step; ``total`` bounds the whole request,
    body included, and is classified as a timeout. A caller raising ``read`` above ``total``
    still gets cut at ``total``: raise both.
    """

    connect: float = DEFAULT_CONNECT
    read: float = DEFAULT_READ
    write: float = DEFAULT_READ
    pool: float = DEFAULT_CONNECT
    total: float = DEFAULT_TOTAL

    @classmethod
    def uniform(cls, seconds: float) -> Timeouts:
        """Every step ``seconds``; the whole request at least :data:`DEFAULT_TOTAL` and at
        least two steps' worth."""
        return cls(seconds, seconds, seconds, seconds, max(DEFAULT_TOTAL, 2 * seconds))

    def to_httpx(self) -> Any:
        import httpx2

        return httpx2.Timeout(
            connect=self.connect, read=self.read, write=self.write, pool=self.pool
        )


@dataclass(frozen=True)
class ServerLimits:
    """Bounds on the loopback server so no client can hold the sign-in hostage."""

    #: Largest request head (request line + headers) accepted, in bytes.
    max_request_head: int = 16 * 1024
    #: Largest request body read (and discarded); the callback never needs one.
    max_request_body: int = 64 * 1024
    #: A connection that has not sent a full request head in this many seconds is closed.
    read_deadline: float = 10.0
    #: Concurrent connections; past it the oldest idle connection is dropped, never the newest.
    max_connections: int = 64
    #: After credentials are saved, how long to wait for the browser to load ``/success``.
    success_grace: float = 10.0
