"""A fault-injecting HTTP proxy for the token endpoint, in front of any issuer on loopback.

Point loginkit's ``--issuer`` at :attr:`FaultProxy.url`. Every request is forwarded to the upstream
issuer unchanged (the browser's ``/oauth/authorize`` request too: the provider then redirects the
browser to its own address), except ``POST /oauth/token`` requests while a fault is armed: those get
the fault instead. The proxy also records every token request and answer, so a test can collect the
secrets of a run (authorization code, PKCE verifier, tokens, API key) from outside loginkit.

Faults (:meth:`FaultProxy.arm`):

- ``status``: answer ``status`` with ``body`` (default 500 and a JSON error), without forwarding;
- ``garbage``: answer 200 with a body that is not JSON;
- ``delay``: wait ``seconds``, then forward (a slow but working server);
- ``stall``: read the request, then answer nothing for ``seconds`` (default 10) and close;
- ``reset``: read the request, then reset the connection (TCP RST);
- ``redirect``: answer 302 to ``location`` (default: the upstream token endpoint);
- ``truncate``: forward, then send the head and half of the body and close;
- ``echo``: answer ``status`` with ``body`` where ``{request}`` is replaced by the request body
  (a server that repeats what it was sent, secrets included);
- ``mutate``: forward, then replace the JSON answer with ``transform(answer)``.

Stdlib asyncio plus h11 (already a loginkit dependency), on its own thread and event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import struct
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import h11

TOKEN_PATH = "/oauth/token"
FAULT_KINDS = frozenset(
    {"status", "garbage", "delay", "stall", "reset", "redirect", "truncate", "echo", "mutate"}
)
_HOP_BY_HOP = frozenset(
    {b"connection", b"keep-alive", b"transfer-encoding", b"content-length", b"te", b"upgrade"}
)
_READ_LIMIT = 1 << 20
_IO_TIMEOUT = 30.0


@dataclass
class Fault:
    kind: str
    count: int = 1
    #: Only token requests of this ``grant_type`` (None: any).
    grant_type: str | None = None
    status: int = 500
    body: bytes = b'{"error":"server_error","error_description":"injected fault"}'
    content_type: str = "application/json"
    seconds: float = 10.0
    location: str | None = None
    transform: Callable[[dict[str, Any]], dict[str, Any]] | None = field(default=None, repr=False)


@dataclass
class TokenCall:
    """One ``POST /oauth/token`` as the proxy saw it: the form sent and what went back."""

    form: dict[str, str]
    fault: str | None
    status: int | None
    body: bytes


@dataclass
class _Message:
    head: h11.Request | h11.Response
    body: bytes


class FaultProxy:
    """See the module docstring. Thread-safe: arm faults and read records from any thread."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        assert parts.hostname is not None and parts.port is not None, upstream
        self.upstream = upstream.rstrip("/")
        self._up_host = parts.hostname
        self._up_port = parts.port
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self.calls: list[TokenCall] = []
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- control (any thread) ------------------------------------------------------------------

    def arm(self, kind: str, **options: Any) -> Fault:
        """Queue a fault for the next matching token request(s); faults apply in order."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}")
        fault = Fault(kind, **options)
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def token_calls(self, grant_type: str | None = None) -> list[TokenCall]:
        with self._lock:
            return [c for c in self.calls if grant_type in (None, c.form.get("grant_type"))]

    def secrets(self) -> list[str]:
        """Every secret that crossed the proxy: codes, verifiers, tokens, API keys."""
        values: list[str] = []
        for call in self.token_calls():
            for name in ("code", "code_verifier", "subject_token", "refresh_token"):
                if call.form.get(name):
                    values.append(call.form[name])
            try:
                answer = json.loads(call.body)
            except ValueError:
                continue
            if isinstance(answer, dict):
                for name in ("id_token", "access_token", "refresh_token"):
                    if isinstance(answer.get(name), str) and answer[name]:
                        values.append(answer[name])
        return values

    def _take_fault(self, grant_type: str | None) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.grant_type in (None, grant_type):
                    fault.count -= 1
                    if fault.count <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    # -- the proxy (its own loop thread) -------------------------------------------------------

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)

    def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.get_running_loop().create_task(self._serve(reader, writer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = h11.Connection(h11.SERVER)
        try:
            request = await _read_message(conn, reader)
            if request is None:
                return
            head = request.head
            assert isinstance(head, h11.Request)
            path = urlsplit(head.target.decode("latin-1")).path
            fault = None
            form: dict[str, str] = {}
            if head.method == b"POST" and path == TOKEN_PATH:
                form = dict(parse_qsl(request.body.decode("utf-8", "replace")))
                fault = self._take_fault(form.get("grant_type"))
            if fault is not None and await self._inject(fault, conn, writer, request, form):
                return
            response = await self._forward(request)
            if fault is not None and fault.kind == "mutate" and fault.transform is not None:
                response = _mutated(response, fault.transform)
            if head.method == b"POST" and path == TOKEN_PATH:
                self._record(form, fault, response)
            if fault is not None and fault.kind == "truncate":
                await _send_truncated(conn, writer, response)
                return
            await _send(conn, writer, response)
        except (ConnectionError, h11.ProtocolError, TimeoutError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(writer.wait_closed(), 1.0)

    def _record(self, form: dict[str, str], fault: Fault | None, response: _Message | None) -> None:
        status = None
        body = b""
        if response is not None:
            assert isinstance(response.head, h11.Response)
            status, body = response.head.status_code, response.body
        with self._lock:
            self.calls.append(TokenCall(form, fault.kind if fault else None, status, body))

    async def _inject(
        self,
        fault: Fault,
        conn: h11.Connection,
        writer: asyncio.StreamWriter,
        request: _Message,
        form: dict[str, str],
    ) -> bool:
        """Apply a fault that replaces the upstream; False when the request must be forwarded."""
        kind = fault.kind
        if kind in ("mutate", "truncate"):
            return False
        if kind == "delay":
            await asyncio.sleep(fault.seconds)
            return False
        if kind == "stall":
            self._record(form, fault, None)
            await asyncio.sleep(fault.seconds)
            return True
        if kind == "reset":
            self._record(form, fault, None)
            sock = writer.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
            return True
        if kind == "redirect":
            location = fault.location or f"{self.upstream}{TOKEN_PATH}"
            answer = _response(302, b"", "text/plain", [(b"Location", location.encode())])
        elif kind == "garbage":
            answer = _response(
                200, b"<html><body>Service temporarily down</body></html>", "text/html"
            )
        elif kind == "echo":
            answer = _response(
                fault.status, fault.body.replace(b"{request}", request.body), fault.content_type
            )
        else:  # status
            answer = _response(fault.status, fault.body, fault.content_type)
        self._record(form, fault, answer)
        await _send(conn, writer, answer)
        return True

    async def _forward(self, request: _Message) -> _Message:
        head = request.head
        assert isinstance(head, h11.Request)
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(self._up_host, self._up_port), _IO_TIMEOUT
        )
        try:
            conn = h11.Connection(h11.CLIENT)
            headers = [(n, v) for n, v in head.headers if n.lower() not in _HOP_BY_HOP]
            headers = [(n, v) for n, v in headers if n.lower() != b"host"]
            headers.insert(0, (b"Host", f"{self._up_host}:{self._up_port}".encode()))
            headers.append((b"Connection", b"close"))
            if request.body or head.method in (b"POST", b"PUT", b"PATCH"):
                headers.append((b"Content-Length", str(len(request.body)).encode()))
            data = conn.send(h11.Request(method=head.method, target=head.target, headers=headers))
            data = (data or b"") + (conn.send(h11.Data(data=request.body)) or b"")
            data += conn.send(h11.EndOfMessage()) or b""
            writer.write(data)
            await writer.drain()
            response = await _read_message(conn, reader)
            if response is None:
                raise ConnectionError("upstream closed without answering")
            return response
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


def _response(
    status: int, body: bytes, content_type: str, extra: list[tuple[bytes, bytes]] | None = None
) -> _Message:
    headers = [(b"Content-Type", content_type.encode()), *(extra or [])]
    return _Message(h11.Response(status_code=status, headers=headers), body)


def _mutated(response: _Message, transform: Callable[[dict[str, Any]], dict[str, Any]]) -> _Message:
    assert isinstance(response.head, h11.Response)
    answer = json.loads(response.body)
    body = json.dumps(transform(answer)).encode()
    return _response(response.head.status_code, body, "application/json")


async def _read_message(conn: h11.Connection, reader: asyncio.StreamReader) -> _Message | None:
    head: h11.Request | h11.Response | None = None
    body = bytearray()
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            data = await asyncio.wait_for(reader.read(65536), _IO_TIMEOUT)
            conn.receive_data(data)
            continue
        if isinstance(event, h11.ConnectionClosed):
            return None
        if isinstance(event, h11.Request | h11.Response):
            head = event
        elif isinstance(event, h11.Data):
            body += event.data
            if len(body) > _READ_LIMIT:
                raise ConnectionError("message too large for the test proxy")
        elif isinstance(event, h11.EndOfMessage):
            assert head is not None
            return _Message(head, bytes(body))


def _wire(conn: h11.Connection, message: _Message, body: bytes) -> bytes:
    assert isinstance(message.head, h11.Response)
    headers = [(n, v) for n, v in message.head.headers if n.lower() not in _HOP_BY_HOP]
    headers += [(b"Content-Length", str(len(message.body)).encode()), (b"Connection", b"close")]
    data = conn.send(h11.Response(status_code=message.head.status_code, headers=headers)) or b""
    if body:
        data += conn.send(h11.Data(data=body)) or b""
    return data


async def _send(conn: h11.Connection, writer: asyncio.StreamWriter, message: _Message) -> None:
    data = _wire(conn, message, message.body) + (conn.send(h11.EndOfMessage()) or b"")
    writer.write(data)
    await writer.drain()


async def _send_truncated(
    conn: h11.Connection, writer: asyncio.StreamWriter, message: _Message
) -> None:
    writer.write(_wire(conn, message, message.body[: len(message.body) // 2]))
    await writer.drain()


@contextmanager
def fault_proxy(upstream: str) -> Iterator[FaultProxy]:
    """Run a :class:`FaultProxy` in front of ``upstream`` (an ``http://127.0.0.1:PORT`` issuer)."""
    proxy = FaultProxy(upstream)
    loop = asyncio.new_event_loop()
    started = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(proxy._start())
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=run, name="fault-proxy", daemon=True)
    thread.start()
    if not started.wait(10):
        raise RuntimeError("fault proxy did not start")
    proxy._loop = loop
    try:
        yield proxy
    finally:
        asyncio.run_coroutine_threadsafe(proxy._stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
