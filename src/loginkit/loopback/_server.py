"""The loopback HTTP driver: asyncio protocols in, h11 for HTTP/1.1, decisions from the flow.

It only moves bytes. Every connection is an :class:`asyncio.Protocol` that feeds h11 as data
arrives, so a complete request is recognised in the same loop iteration its last byte is read, with
no task per idle socket. A request is read under one deadline for the whole head and body (a client
that trickles a byte at a time is cut off like one that sends nothing) and within size limits.

Connections are capped. Past the cap, the connection idle for longest that is not being answered is
dropped (connections younger than :data:`EVICTION_GRACE` only when nothing older can go), so a flood
of idle or half-sent connections can neither exhaust file descriptors nor keep the browser out: the
browser's request is complete moments after it connects, and from then on its connection is being
answered and is never dropped. Imported only after the sign-in link is out: asyncio and h11 are not
on the start-up path.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections import Counter
from collections.abc import Awaitable, Callable

import h11

from loginkit.core._limits import ServerLimits
from loginkit.core._log import log_event
from loginkit.loopback._callback import Request, Response, RunResult

logger = logging.getLogger("loginkit.server")

Handler = Callable[[Request], Awaitable[tuple[Response, RunResult | None]]]
OnFinish = Callable[[RunResult], None]

#: A connection active this recently is dropped for the cap only when no staler one can be: a
#: browser's fresh connection may not have delivered its request yet.
EVICTION_GRACE = 0.5
#: Connections accepted per loop iteration, and the kernel's queue of connections not yet accepted.
ACCEPT_BATCH = 16
LISTEN_BACKLOG = 128
#: A client that lets this much of our answers pile up unread is not a browser.
MAX_UNREAD_ANSWERS = 256 * 1024
#: Request line and header framing that the parsed event no longer shows (spaces, colons, CRLFs).
_HEAD_FRAMING = len(" HTTP/1.1\r\n\r\n")
_TEXT = "text/plain; charset=utf-8"

_SECURITY_HEADERS = [
    (b"Cache-Control", b"no-store"),
    (b"X-Content-Type-Options", b"nosniff"),
    (b"Referrer-Policy", b"no-referrer"),
    (b"X-Frame-Options", b"DENY"),
]


class LoopbackServer:
    """Serves the listening sockets until :meth:`close`.

    ``handler`` is awaited for each complete request, on a task of its own; while it runs the
    connection is *being answered* and survives the cap. Only a request carrying this run's state
    can keep a handler busy for long (the token exchange), so an attacker cannot pin connections.
    """

    def __init__(
        self,
        sockets: list[socket.socket],
        handler: Handler,
        on_finish: OnFinish,
        limits: ServerLimits,
    ) -> None:
        self._sockets = sockets
        self.handler = handler
        self.on_finish = on_finish
        self.limits = limits
        self._servers: list[asyncio.Server] = []
        #: Ordered from least to most recently active (a connection moves to the end when it is
        #: accepted and whenever it finishes an answer).
        self._conns: dict[_Connection, None] = {}
        self._answers: set[asyncio.Task[None]] = set()
        #: What was turned away, for one summary line in the login log (never a line per request).
        self.dropped: Counter[str] = Counter()

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        for sock in self._sockets:
            # asyncio accepts up to ``backlog`` connections per loop iteration before any of them
            # is admitted: a small batch keeps the file descriptors in use near the cap during a
            # flood. It also passes ``backlog`` to listen(); the kernel queue is set back after.
            server = await loop.create_server(
                lambda: _Connection(self), sock=sock, backlog=ACCEPT_BATCH
            )
            sock.listen(LISTEN_BACKLOG)
            self._servers.append(server)

    @property
    def crowded(self) -> bool:
        """At the cap: answers then close their connection instead of keeping it alive, so a
        browser opens a fresh connection rather than reusing one that is about to be dropped."""
        return len(self._conns) >= self.limits.max_connections

    async def close(self) -> None:
        for server in self._servers:
            server.close()
        current = asyncio.current_task()
        for task in list(self._answers):
            if task is not current:
                task.cancel()
        for conn in list(self._conns):
            conn.close()  # graceful: an answer already written (the success page) still goes out
        deadline = time.monotonic() + 1.0
        while (self._conns or len(self._answers - {current}) > 0) and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        for conn in list(self._conns):
            conn.abort()
        await asyncio.sleep(0)
        if self.dropped:
            log_event(
                logger, logging.INFO, "loopback server turned connections away", **self.dropped
            )

    # -- bookkeeping for connections -------------------------------------------------------------

    def admit(self, newcomer: _Connection) -> bool:
        """Register a new connection, dropping others past the cap; False if it must go itself."""
        self._conns[newcomer] = None
        while len(self._conns) > self.limits.max_connections:
            victim = self._eviction_victim(newcomer)
            if victim is None:
                self.forget(newcomer)
                self.dropped["refused_all_busy"] += 1
                return False
            self.forget(victim)
            victim.abort()
            self.dropped["evicted_for_cap"] += 1
        return True

    def _eviction_victim(self, newcomer: _Connection) -> _Connection | None:
        now = time.monotonic()
        fallback = None
        for conn in self._conns:  # least recently active first
            if conn.answering or conn is newcomer:
                continue
            if now - conn.active_since >= EVICTION_GRACE:
                return conn
            if fallback is None:
                fallback = conn
        return fallback

    def touch(self, conn: _Connection) -> None:
        if conn in self._conns:
            del self._conns[conn]
            self._conns[conn] = None
            conn.active_since = time.monotonic()

    def forget(self, conn: _Connection) -> None:
        self._conns.pop(conn, None)

    def spawn(self, coro: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._answers.add(task)
        task.add_done_callback(self._answers.discard)


class _Connection(asyncio.Protocol):
    """One accepted connection: h11 fed from ``data_received``, one request answered at a time."""

    def __init__(self, server: LoopbackServer) -> None:
        self.server = server
        self.limits = server.limits
        self.h11 = h11.Connection(
            h11.SERVER, max_incomplete_event_size=self.limits.max_request_head
        )
        self.transport: asyncio.Transport | None = None
        self.active_since = time.monotonic()
        self.answering = False
        self.gone = False
        self._request: Request | None = None
        self._body = 0
        self._deadline: asyncio.TimerHandle | None = None

    # -- asyncio.Protocol --------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        if not self.server.admit(self):
            transport.abort()
            return
        self._arm_deadline()

    def data_received(self, data: bytes) -> None:
        self._feed(data)

    def eof_received(self) -> bool:
        self._feed(b"")
        return True  # keep our side open: a client that half-closed still gets its answer

    def connection_lost(self, exc: Exception | None) -> None:
        self.gone = True
        self._disarm_deadline()
        self.server.forget(self)
        # A running answer is left to finish: its outcome must be applied even when the browser
        # is gone (a closed tab must not leave the run waiting); its writes are then ignored.

    # -- reading -----------------------------------------------------------------------------------

    def _feed(self, data: bytes) -> None:
        try:
            self.h11.receive_data(data)
            if not self.answering:
                self._advance()
        except Exception as exc:  # a driver bug must not end the run; log it without data
            log_event(logger, logging.ERROR, "loopback connection failed", error=type(exc).__name__)
            self.abort()

    def _advance(self) -> None:
        """Consume buffered events; start answering once a request is complete."""
        while not self.answering and not self.gone:
            try:
                event = self.h11.next_event()
            except h11.RemoteProtocolError as exc:
                status = exc.error_status_hint if exc.error_status_hint in (400, 431) else 400
                self._refuse(status)
                return
            if event is h11.NEED_DATA or event is h11.PAUSED:
                return
            if isinstance(event, h11.ConnectionClosed):
                self.close()
                return
            if isinstance(event, h11.Request):
                if _head_size(event) > self.limits.max_request_head:
                    # h11 only bounds an *incomplete* head; one that arrives whole can be larger.
                    self._refuse(431)
                    return
                self._request = _to_request(event)
                self._body = 0
            elif isinstance(event, h11.Data):
                self._body += len(event.data)
                if self._body > self.limits.max_request_body:
                    self._refuse(413)
                    return
            elif isinstance(event, h11.EndOfMessage) and self._request is not None:
                request, self._request = self._request, None
                self.answering = True
                self._disarm_deadline()
                assert self.transport is not None
                self.transport.pause_reading()  # pipelined requests wait in h11's buffer
                self.server.spawn(self._answer(request))
                return
            else:
                self._refuse(400)
                return

    def _arm_deadline(self) -> None:
        self._disarm_deadline()
        loop = asyncio.get_running_loop()
        self._deadline = loop.call_later(self.limits.read_deadline, self._read_deadline_passed)

    def _disarm_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _read_deadline_passed(self) -> None:
        self._deadline = None
        if not self.answering and not self.gone:
            self.server.dropped["read_deadline"] += 1
            self.server.forget(self)
            self.abort()

    # -- answering ---------------------------------------------------------------------------------

    async def _answer(self, request: Request) -> None:
        try:
            await self._answer_and_continue(request)
        except Exception as exc:  # a driver bug must not end the run; log it without data
            log_event(logger, logging.ERROR, "loopback connection failed", error=type(exc).__name__)
            self.abort()

    async def _answer_and_continue(self, request: Request) -> None:
        result: RunResult | None = None
        try:
            response, result = await self.server.handler(request)
        except Exception as exc:  # a handler bug must not hang the connection or end the run
            log_event(logger, logging.ERROR, "loopback connection failed", error=type(exc).__name__)
            response = Response(500, b"Internal Server Error", _TEXT, close=True)
        close = response.close or self.server.crowded
        try:
            if not self.gone:
                self._write(response, head=request.method == "HEAD", close=close)
        finally:
            # The outcome stands even if the answer could not be written.
            if result is not None:
                self.server.on_finish(result)
        if self.gone:
            return
        if close or self.h11.our_state is h11.MUST_CLOSE:
            self.close()
            return
        try:
            self.h11.start_next_cycle()
        except h11.LocalProtocolError:
            self.close()
            return
        self.answering = False
        self.server.touch(self)
        self._arm_deadline()
        assert self.transport is not None
        self.transport.resume_reading()
        self._advance()

    def _write(self, response: Response, *, head: bool = False, close: bool = False) -> None:
        """Write one response; for a HEAD request the same head without the body."""
        headers: list[tuple[bytes, bytes]] = [(b"Content-Length", str(len(response.body)).encode())]
        if response.content_type is not None:
            headers.append((b"Content-Type", response.content_type.encode()))
        if response.location is not None:
            headers.append((b"Location", response.location.encode("ascii")))
        if response.allow is not None:
            headers.append((b"Allow", response.allow.encode("ascii")))
        if close:
            headers.append((b"Connection", b"close"))
        headers.extend(_SECURITY_HEADERS)
        data = self.h11.send(h11.Response(status_code=response.status, headers=headers)) or b""
        if response.body and not head:
            data += self.h11.send(h11.Data(data=response.body)) or b""
        data += self.h11.send(h11.EndOfMessage()) or b""
        assert self.transport is not None
        self.transport.write(data)
        if self.transport.get_write_buffer_size() > MAX_UNREAD_ANSWERS:
            self.server.dropped["not_reading"] += 1
            self.abort()

    def _refuse(self, status: int) -> None:
        """Answer a request we will not serve (400, 413, 431) and close the connection."""
        self.server.dropped[f"status_{status}"] += 1
        text = {413: "Payload Too Large", 431: "Request Header Fields Too Large"}.get(
            status, "Bad Request"
        )
        if self.h11.our_state in (h11.IDLE, h11.SEND_RESPONSE):
            with contextlib.suppress(h11.LocalProtocolError):
                self._write(Response(status, text.encode(), _TEXT, close=True), close=True)
        self.close()

    def close(self) -> None:
        self._disarm_deadline()
        self.server.forget(self)
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    def abort(self) -> None:
        self._disarm_deadline()
        self.server.forget(self)
        if self.transport is not None:
            self.transport.abort()


def _head_size(event: h11.Request) -> int:
    """The request head's size on the wire, give or take optional whitespace."""
    size = len(event.method) + len(event.target) + _HEAD_FRAMING
    for name, value in event.headers:
        size += len(name) + len(value) + 4  # ": " and CRLF
    return size


def _to_request(event: h11.Request) -> Request:
    host: str | None = None
    fetch_site: str | None = None
    origin: str | None = None
    referer: str | None = None
    for name, value in event.headers:
        if name == b"host":  # h11 refuses a request with more than one
            host = value.decode("latin-1")
        elif name == b"sec-fetch-site":
            fetch_site = value.decode("latin-1").lower()
        elif name == b"origin":
            origin = value.decode("latin-1")
        elif name == b"referer":
            referer = value.decode("latin-1")
    return Request(
        method=event.method.decode("ascii", "replace"),
        target=event.target.decode("latin-1"),
        host=host,
        fetch_site=fetch_site,
        origin=origin,
        referer=referer,
    )
