"""A local issuer that answers its discovery request with scripted raw bytes, and counts.

Raw bytes, not an HTTP library, so a test can send exactly what a real (or hostile) provider
might: chunked bodies, repeated framing headers, a redirect, a body that never ends, nothing at
all. ``requests`` counts the requests that arrived (their request lines), ``connections`` the
connections; every test of "one discovery request" reads them.
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

#: The raw answer to one request, built from the issuer URL; None: read the request and never
#: answer (a provider that hangs).
Script = Callable[[str], bytes | None]


def http_answer(
    body: bytes,
    status: str = "200 OK",
    headers: tuple[str, ...] = ("Content-Type: application/json",),
) -> bytes:
    """A plain HTTP/1.1 answer with ``Content-Length``."""
    head = [f"HTTP/1.1 {status}", *headers, f"Content-Length: {len(body)}", "Connection: close"]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def document(issuer: str, /, **changes: object) -> dict[str, object]:
    """A usable discovery document for ``issuer``; ``changes`` replace (None: remove) fields."""
    found: dict[str, object] = {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/authorize",
        "token_endpoint": f"{issuer}/token",
        "jwks_uri": f"{issuer}/jwks",
        "response_types_supported": ["code"],
    }
    for name, value in changes.items():
        if value is None:
            found.pop(name, None)
        else:
            found[name] = value
    return found


def plain(issuer: str) -> bytes:
    return http_answer(json.dumps(document(issuer)).encode())


class Issuer:
    def __init__(
        self, script: Script, tls: ssl.SSLContext | None = None, *, drip: bool = False
    ) -> None:
        self.script = script
        self.tls = tls
        #: Send the answer one byte per segment (a slow or hostile server).
        self.drip = drip
        self.requests: list[str] = []
        self.connections = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self._open: list[socket.socket] = []
        self._closed = threading.Event()

    def serve(self) -> None:
        while not self._closed.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            self._open.append(conn)
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        data = b""
        try:
            if self.tls is not None:
                conn = self.tls.wrap_socket(conn, server_side=True)
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                data += chunk
            self.requests.append(data.split(b"\r\n", 1)[0].decode("latin-1"))
            answer = self.script(self.url)
            if answer is None:
                self._closed.wait(120)  # hang until the test ends
                return
            if self.drip:
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                for byte in answer:
                    conn.sendall(bytes([byte]))
            else:
                conn.sendall(answer)
            conn.shutdown(socket.SHUT_WR)
        except (OSError, ssl.SSLError):
            return
        finally:
            conn.close()

    def close(self) -> None:
        self._closed.set()
        self._listener.close()
        for conn in self._open:
            conn.close()


@contextmanager
def issuer(
    script: Script = plain, tls: ssl.SSLContext | None = None, *, drip: bool = False
) -> Iterator[Issuer]:
    """A running :class:`Issuer` answering with ``script`` (default: a usable document), over
    TLS with ``tls`` (a server context), one byte per segment with ``drip``."""
    server = Issuer(script, tls, drip=drip)
    threading.Thread(target=server.serve, daemon=True).start()
    try:
        yield server
    finally:
        server.close()


#: A usable document as a template: ``{issuer}`` is filled in by :func:`discovery_server`.
DOC = json.dumps(
    {
        "issuer": "{issuer}",
        "authorization_endpoint": "{issuer}/authorize",
        "token_endpoint": "{issuer}/token",
        "jwks_uri": "{issuer}/jwks",
    }
).encode()


@contextmanager
def discovery_server(status: int, body: bytes) -> Iterator[str]:
    """An issuer whose discovery answer is ``status`` + ``body`` (``{issuer}`` filled in): its
    URL. The same server as :func:`issuer`, for tests that need only a status and a body."""
    from http import HTTPStatus

    line = f"{status} {HTTPStatus(status).phrase}"
    with issuer(lambda url: http_answer(body.replace(b"{issuer}", url.encode()), line)) as server:
        yield server.url
