"""Drive a library sign-in's loopback server: start a run, send it requests, read its answers.

One client for every test folder. :func:`exchange` sends bytes exactly as given on a raw socket
and reports whatever came back (partial answers, closed connections, timings); :func:`http_get`
sends one well-formed request and insists on one complete answer, as an HTTP client would.
:class:`Run` wraps a running server and uses :func:`http_get`.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from loginkit.core._exceptions import LoginError
from loginkit.core._limits import Timeouts
from loginkit.core._phases import Failed, LoginPhase
from loginkit.signin._api import LoginServer, run_login_server_with_progress
from loginkit.signin._options import ServerOptions

__all__ = [
    "IncompleteAnswer",
    "Raw",
    "Run",
    "exchange",
    "http_get",
    "parse_response",
    "start_run",
]


# -- a raw HTTP/1.1 client -------------------------------------------------------------------------


@dataclass
class Raw:
    """What came back on one connection. ``status`` is None when nothing parseable did."""

    status: int | None
    headers: dict[str, str]
    body: bytes
    #: The server closed the connection (EOF) before ``timeout``.
    closed: bool
    elapsed: float
    #: The first line of the answer as sent, e.g. ``HTTP/1.1 302 Found`` ("" when there was none).
    status_line: str = ""

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def parse_response(data: bytes) -> tuple[int | None, dict[str, str], bytes]:
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        return None, {}, b""
    lines = head.decode("latin-1").split("\r\n")
    try:
        status = int(lines[0].split(" ", 2)[1])
    except (IndexError, ValueError):
        return None, {}, b""
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", len(body)))
    return status, headers, body[:length]


def _complete(data: bytes) -> bool:
    status, headers, body = parse_response(data)
    if status is None:
        return False
    return len(body) >= int(headers.get("content-length", 1 << 30))


def exchange(
    port: int,
    payload: bytes,
    *,
    family: socket.AddressFamily = socket.AF_INET,
    address: str | None = None,
    timeout: float = 10.0,
    shut_write: bool = False,
    until_close: bool = False,
) -> Raw:
    """Send ``payload`` as is and read one answer (or until the server closes, if asked).

    ``address`` defaults to the loopback address of ``family``."""
    if address is None:
        address = "127.0.0.1" if family == socket.AF_INET else "::1"
    started = time.monotonic()
    chunks: list[bytes] = []
    closed = False
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect((address, port))
        try:
            sock.sendall(payload)
            if shut_write:
                sock.shutdown(socket.SHUT_WR)
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    closed = True
                    break
                chunks.append(chunk)
                if not until_close and _complete(b"".join(chunks)):
                    break
        except TimeoutError:
            pass
        except ConnectionResetError:
            closed = True
    data = b"".join(chunks)
    status, headers, body = parse_response(data)
    status_line = data.partition(b"\r\n")[0].decode("latin-1") if status is not None else ""
    return Raw(status, headers, body, closed, time.monotonic() - started, status_line)


class IncompleteAnswer(AssertionError):
    """:func:`http_get` got no answer, or a cut-off one."""


def http_get(
    port: int,
    target: str,
    *,
    host: str | None = None,
    method: str = "GET",
    address: str = "127.0.0.1",
    timeout: float = 30.0,
) -> Raw:
    """One request to ``address:port`` with ``Host: host`` (default ``127.0.0.1:port``).

    The answer must be what an HTTP client accepts: an ``HTTP/1.x`` status line and headers, then
    all of ``Content-Length`` (or, without it, everything up to the server closing); anything less
    raises :class:`IncompleteAnswer`. Refused connections raise as usual."""
    host = host if host is not None else f"127.0.0.1:{port}"
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    request = f"{method} {target} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
    answer = exchange(port, request, family=family, address=address, timeout=timeout)
    if answer.status is None or not answer.status_line.startswith("HTTP/1."):
        raise IncompleteAnswer(f"{method} {target}: no HTTP/1.x answer: {answer!r}")
    length = answer.headers.get("content-length")
    if (len(answer.body) < int(length)) if length is not None else not answer.closed:
        raise IncompleteAnswer(f"{method} {target}: the answer was cut off: {answer!r}")
    return answer


# -- a library sign-in ----------------------------------------------------------------------------


@dataclass
class Run:
    """A library sign-in on a real loopback server; ``state`` is read from its link."""

    server: LoginServer
    events: list[LoginPhase] = field(default_factory=list)

    @property
    def port(self) -> int:
        return self.server.actual_port

    @property
    def state(self) -> str:
        return parse_qs(urlsplit(self.server.auth_url).query)["state"][0]

    def failures(self) -> list[Failed]:
        return [e for e in self.events if isinstance(e, Failed)]

    def get(
        self,
        target: str,
        *,
        host: str | None = None,
        method: str = "GET",
        address: str = "127.0.0.1",
    ) -> Raw:
        """:func:`http_get` to this run's port."""
        return http_get(self.port, target, host=host, method=method, address=address)

    def callback(
        self, query: str | None = None, *, code: str = "the-code", state: str | None = None
    ) -> Raw:
        """The browser's return to ``/auth/callback``: with ``query`` as given, otherwise with
        ``code`` and ``state`` (default: this run's state)."""
        if query is None:
            query = f"code={code}&state={self.state if state is None else state}"
        return self.get(f"/auth/callback?{query}")

    def finish_ok(self, timeout: float = 10) -> None:
        self.server.block_until_done(timeout=timeout)

    def finish_error(self, timeout: float = 10) -> LoginError:
        try:
            self.server.block_until_done(timeout=timeout)
        except LoginError as exc:
            return exc
        raise AssertionError("the run succeeded")

    def cancel(self) -> None:
        self.server.cancel()
        try:
            self.server.block_until_done(timeout=10)
        except LoginError:
            pass


def start_run(home: Path, issuer: str, **overrides: Any) -> Run:
    """A run on port 0, without a browser, with HTTP timeouts short enough for tests; the state is
    random unless ``force_state`` is among ``overrides``."""
    options: dict[str, Any] = {
        "codex_home": home,
        "issuer": issuer,
        "port": 0,
        "open_browser": False,
        "timeouts": Timeouts.uniform(5.0),
    }
    options.update(overrides)
    events: list[LoginPhase] = []
    server = run_login_server_with_progress(ServerOptions(**options), events.append)
    return Run(server, events)
