"""The loopback HTTP driver: asyncio streams in, h11 for HTTP/1.1, decisions from the flow.

It only moves bytes. Every connection is served concurrently with a read deadline and size limits,
so an idle socket (a port scanner, a browser preconnect, a hostile page) can never block the real
callback, and the number of connections is capped by dropping the oldest idle one. Imported only
after the sign-in link is out: asyncio and h11 are not on the start-up path.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import h11

from loginkit.callback import Request, Response, RunResult
from loginkit.limits import ServerLimits
from loginkit.logfile import log_event

logger = logging.getLogger("loginkit.server")

Handler = Callable[[Request], Awaitable[tuple[Response, RunResult | None]]]
OnFinish = Callable[[RunResult], None]

_SECURITY_HEADERS = [
    (b"Cache-Control", b"no-store"),
    (b"X-Content-Type-Options", b"nosniff"),
    (b"Referrer-Policy", b"no-referrer"),
    (b"X-Frame-Options", b"DENY"),
]


class _BadRequest(Exception):
    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status = status
        self.text = text


@dataclass
class _Conn:
    writer: asyncio.StreamWriter
    opened: float
    busy: bool = False
    task: asyncio.Task[None] | None = field(default=None, repr=False)


class LoopbackServer:
    """Serves the listening sockets until :meth:`close`; one task per connection."""

    def __init__(
        self,
        sockets: list[socket.socket],
        handler: Handler,
        on_finish: OnFinish,
        limits: ServerLimits,
    ) -> None:
        self._sockets = sockets
        self._handler = handler
        self._on_finish = on_finish
        self._limits = limits
        self._servers: list[asyncio.Server] = []
        self._conns: dict[int, _Conn] = {}
        self._next_id = 0

    async def start(self) -> None:
        for sock in self._sockets:
            server = await asyncio.start_server(
                self._serve, sock=sock, limit=self._limits.max_request_head
            )
            self._servers.append(server)

    async def close(self) -> None:
        for server in self._servers:
            server.close()
        for conn in list(self._conns.values()):
            if conn.task is not None and conn.task is not asyncio.current_task():
                conn.task.cancel()
        tasks = [c.task for c in self._conns.values() if c.task is not None]
        if tasks:
            await asyncio.wait(tasks, timeout=2.0)
        for server in self._servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 1.0)

    def _make_room(self) -> None:
        """Past the cap, drop the oldest idle connection so a new one (the callback) gets in."""
        while len(self._conns) > self._limits.max_connections:
            idle = [c for c in self._conns.values() if not c.busy]
            if not idle:
                return
            victim = min(idle, key=lambda c: c.opened)
            if victim.task is not None:
                victim.task.cancel()
            self._conns = {k: v for k, v in self._conns.items() if v is not victim}

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn_id = self._next_id
        self._next_id += 1
        conn = _Conn(writer=writer, opened=time.monotonic(), task=asyncio.current_task())
        self._conns[conn_id] = conn
        self._make_room()
        try:
            await self._serve_connection(reader, conn)
        except (ConnectionError, asyncio.CancelledError, TimeoutError):
            pass
        except Exception as exc:  # a driver bug must not end the run; log it without data
            log_event(logger, logging.ERROR, "loopback connection failed", error=type(exc).__name__)
        finally:
            self._conns.pop(conn_id, None)
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 1.0)

    async def _next_event(
        self, h11_conn: h11.Connection, reader: asyncio.StreamReader, deadline: float
    ) -> object:
        while True:
            event = h11_conn.next_event()
            if event is not h11.NEED_DATA:
                return event
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            data = await asyncio.wait_for(reader.read(8192), remaining)
            h11_conn.receive_data(data)

    async def _serve_connection(self, reader: asyncio.StreamReader, conn: _Conn) -> None:
        h11_conn = h11.Connection(
            h11.SERVER, max_incomplete_event_size=self._limits.max_request_head
        )
        while True:
            deadline = time.monotonic() + self._limits.read_deadline
            try:
                event = await self._next_event(h11_conn, reader, deadline)
                if isinstance(event, h11.ConnectionClosed):
                    return
                if not isinstance(event, h11.Request):
                    raise _BadRequest(400, "Bad Request")
                request = _to_request(event)
                body = 0
                while True:
                    part = await self._next_event(h11_conn, reader, deadline)
                    if isinstance(part, h11.Data):
                        body += len(part.data)
                        if body > self._limits.max_request_body:
                            raise _BadRequest(413, "Payload Too Large")
                    elif isinstance(part, h11.EndOfMessage):
                        break
                    else:
                        raise _BadRequest(400, "Bad Request")
            except h11.RemoteProtocolError as exc:
                status = exc.error_status_hint if exc.error_status_hint in (400, 431) else 400
                text = "Request Header Fields Too Large" if status == 431 else "Bad Request"
                await self._send_error(h11_conn, conn.writer, status, text)
                return
            except _BadRequest as exc:
                await self._send_error(h11_conn, conn.writer, exc.status, exc.text)
                return
            conn.busy = True
            try:
                response, result = await self._handler(request)
                await self._send(h11_conn, conn.writer, response)
            finally:
                conn.busy = False
            if result is not None:
                self._on_finish(result)
            if response.close or h11_conn.our_state is h11.MUST_CLOSE:
                return
            try:
                h11_conn.start_next_cycle()
            except h11.LocalProtocolError:
                return

    async def _send_error(
        self, h11_conn: h11.Connection, writer: asyncio.StreamWriter, status: int, text: str
    ) -> None:
        if h11_conn.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
            return
        body = text.encode("utf-8")
        response = Response(
            status=status, body=body, content_type="text/plain; charset=utf-8", close=True
        )
        with contextlib.suppress(h11.LocalProtocolError, ConnectionError):
            await self._send(h11_conn, writer, response)

    async def _send(
        self, h11_conn: h11.Connection, writer: asyncio.StreamWriter, response: Response
    ) -> None:
        headers: list[tuple[bytes, bytes]] = [(b"Content-Length", str(len(response.body)).encode())]
        if response.content_type is not None:
            headers.append((b"Content-Type", response.content_type.encode()))
        if response.location is not None:
            headers.append((b"Location", response.location.encode("ascii")))
        if response.close:
            headers.append((b"Connection", b"close"))
        headers.extend(_SECURITY_HEADERS)
        data = h11_conn.send(h11.Response(status_code=response.status, headers=headers)) or b""
        if response.body:
            data += h11_conn.send(h11.Data(data=response.body)) or b""
        data += h11_conn.send(h11.EndOfMessage()) or b""
        writer.write(data)
        await asyncio.wait_for(writer.drain(), self._limits.read_deadline)


def _to_request(event: h11.Request) -> Request:
    host: str | None = None
    for name, value in event.headers:
        if name == b"host":
            host = value.decode("latin-1")
    return Request(
        method=event.method.decode("ascii", "replace"),
        target=event.target.decode("latin-1"),
        host=host,
    )
