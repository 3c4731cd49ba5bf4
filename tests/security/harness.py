"""Shared by tests/security and tests/faults: a token endpoint behind the fault proxy, library runs
with random secrets, and a raw HTTP/1.1 client that can send anything to the loopback server.

The token endpoint is the scripted one from the unit tests (fast, any code is accepted); the e2e
tests put the same fault proxy in front of the real oidc-provider instead.
"""

from __future__ import annotations

import json
import resource
import secrets
import socket
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from support.cli_runner import spawn
from support.fault_proxy import FaultProxy, fault_proxy
from unit.fake_issuer import OPENAI_CLIENT_ID, FakeIssuer, make_jwt, running_fake_issuer

from loginkit.core._exceptions import LoginError
from loginkit.core._limits import Timeouts
from loginkit.core._phases import Failed, LoginPhase
from loginkit.signin._api import LoginServer
from loginkit.signin._api import run_login_server_with_progress as _start
from loginkit.signin._options import ServerOptions


def random_token(prefix: str = "") -> str:
    return prefix + secrets.token_urlsafe(32)


def random_jwt(issuer: str | None = None, **auth: Any) -> str:
    """A JWT signed by the fake issuer whose payload (and so signature) is unique to this call;
    with ``issuer``, an id_token that passes verification for a sign-in against it."""
    claims: dict[str, Any] = {"chatgpt_plan_type": "plus", "chatgpt_account_id": "org-alice"}
    claims.update(auth)
    payload = {
        "sub": "alice",
        "email": "alice@example.com",
        "aud": [OPENAI_CLIENT_ID],
        "nonce": secrets.token_urlsafe(24),
        "https://api.openai.com/auth": claims,
        "iat": int(time.time()),
        "exp": 4102444800,
    }
    if issuer is not None:
        payload["iss"] = issuer
    return make_jwt(payload)


@dataclass
class Issuer:
    """A scripted token endpoint (``fake``) behind a fault proxy (``proxy``); use ``url``."""

    fake: FakeIssuer
    proxy: FaultProxy

    @property
    def url(self) -> str:
        return self.proxy.url

    def randomize(self) -> None:
        """Fresh token values, so every run has secrets of its own to look for."""
        self.fake.id_token = random_jwt(issuer=self.url)
        self.fake.access_token = random_jwt()
        self.fake.refresh_token = random_token("rt-")
        self.fake.api_key = random_token("sk-proj-")

    def exchanges(self) -> int:
        return len(self.proxy.token_calls("authorization_code"))


@contextmanager
def running_issuer() -> Iterator[Issuer]:
    with running_fake_issuer() as fake, fault_proxy(fake.issuer) as proxy:
        issuer = Issuer(fake, proxy)
        issuer.randomize()
        yield issuer


@dataclass
class Run:
    """A library sign-in on a real loopback server; ``state`` was read from its link."""

    server: LoginServer
    events: list[LoginPhase] = field(default_factory=list)

    @property
    def port(self) -> int:
        return self.server.actual_port

    @property
    def state(self) -> str:
        from urllib.parse import parse_qs, urlsplit

        return parse_qs(urlsplit(self.server.auth_url).query)["state"][0]

    def failures(self) -> list[Failed]:
        return [e for e in self.events if isinstance(e, Failed)]

    def get(self, target: str, *, host: str | None = None) -> Raw:
        host = host if host is not None else f"127.0.0.1:{self.port}"
        return exchange(self.port, f"GET {target} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())

    def callback(self, code: str = "the-code", state: str | None = None) -> Raw:
        return self.get(
            f"/auth/callback?code={code}&state={self.state if state is None else state}"
        )

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


def start(home: Path, issuer: str, **overrides: Any) -> Run:
    """A run with a random state and port 0; HTTP timeouts short enough for tests."""
    options: dict[str, Any] = {
        "codex_home": home,
        "issuer": issuer,
        "port": 0,
        "open_browser": False,
        "timeouts": Timeouts.uniform(5.0),
    }
    options.update(overrides)
    events: list[LoginPhase] = []
    server = _start(ServerOptions(**options), events.append)
    return Run(server, events)


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
    timeout: float = 10.0,
    shut_write: bool = False,
    until_close: bool = False,
) -> Raw:
    """Send ``payload`` as is and read one answer (or until the server closes, if asked)."""
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
    return Raw(status, headers, body, closed, time.monotonic() - started)


def auth_json(home: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((home / "auth.json").read_text())
    return data


# -- the CLI as a child process, with OS limits of our choosing -----------------------------------


def cli_command(home: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "loginkit", "login", "--codex-home", str(home), *args]


#: The CLI under any command line and OS limits: ``support.cli_runner.spawn``.
spawn_cli = spawn


def limit(resource_id: int, value: int) -> Callable[[], None]:
    """A ``preexec`` hook that lowers one resource limit (soft and hard) in the child."""

    def apply() -> None:
        resource.setrlimit(resource_id, (value, value))

    return apply
