"""Explicit timeouts and limits, with defaults, kept import-light so options can name them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Timeouts:
    """Per-request limits in seconds. Every HTTP request loginkit makes has all four set."""

    connect: float = 10.0
    read: float = 30.0
    write: float = 30.0
    pool: float = 10.0

    @classmethod
    def uniform(cls, seconds: float) -> Timeouts:
        return cls(seconds, seconds, seconds, seconds)

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
