"""The Codex device flow against a scripted loopback server: intervals, pending answers, transport
errors retried with backoff, the 15-minute limit, and the exchange with the server's PKCE pair."""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from loginkit.core._categories import (
    DeviceFailureCategory,
    DeviceFailurePhase,
    LoginFailureCategory,
)
from loginkit.core._exceptions import DeviceLoginError
from loginkit.core._limits import Timeouts
from loginkit.core._phases import Failed, PollRetrying, Succeeded
from loginkit.signin._device import (
    DeviceLoginOptions,
    _interval,
    complete_device_code_login,
    request_device_code,
)

from .fake_issuer import id_token_for, make_jwt, public_jwks


@dataclass
class DeviceServer:
    usercode: tuple[int, dict[str, Any]] = (
        200,
        {"device_auth_id": "dev-secret-id", "user_code": "ABCD-1234", "interval": "5"},
    )
    polls: list[Any] = field(default_factory=list)  # (status, body) or "reset"
    token_status: int = 200
    id_token: str = ""  # empty: a valid one for this server
    requests: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    port: int = 0

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture
def device_server() -> Iterator[DeviceServer]:
    state = DeviceServer()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def reply(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            # The provider's signing keys: the flow verifies the id_token against them.
            if self.path == "/.well-known/jwks.json":
                self.reply(200, public_jwks())
            else:
                self.reply(404, {"error": "not_found"})

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
            try:
                body = json.loads(raw)
            except ValueError:
                from urllib.parse import parse_qsl

                body = dict(parse_qsl(raw))
            state.requests.append((self.path, body))
            if self.path.endswith("/usercode"):
                self.reply(*state.usercode)
            elif self.path.endswith("/deviceauth/token"):
                step = (
                    state.polls.pop(0)
                    if state.polls
                    else (
                        200,
                        {
                            "authorization_code": "ac-1",
                            "code_challenge": "x",
                            "code_verifier": "server-verifier",
                        },
                    )
                )
                if step == "reset":
                    self.connection.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                    )
                    self.connection.close()
                    self.close_connection = True
                    return
                self.reply(*step)
            else:
                tokens = {
                    "id_token": state.id_token or id_token_for("org-dev", issuer=state.issuer),
                    "access_token": make_jwt({"exp": 4102444800}),
                    "refresh_token": "rt-dev",
                }
                self.reply(
                    state.token_status,
                    tokens if state.token_status == 200 else {"error": "invalid_grant"},
                )

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield state
    server.shutdown()
    server.server_close()


def options(home: Path, server: DeviceServer, **kw: Any) -> DeviceLoginOptions:
    return DeviceLoginOptions(
        codex_home=home, issuer=server.issuer + "/", timeouts=Timeouts.uniform(5), **kw
    )


def test_interval_accepts_strings_and_numbers_and_never_busy_polls() -> None:
    assert _interval("5") == 5.0
    assert _interval(7) == 7.0
    assert _interval("0") == 1.0
    assert _interval(None) == 1.0
    assert _interval("soon") == 1.0


def test_pending_then_approved_exchanges_with_the_server_pkce_pair(
    home: Path, device_server: DeviceServer
) -> None:
    device_server.usercode = (
        200,
        {"device_auth_id": "dev-secret-id", "usercode": "WXYZ-9876", "interval": 3},
    )
    device_server.polls = [(403, {"error": "deviceauth_authorization_pending"}), (404, {})]
    events: list[object] = []
    sleeps: list[float] = []
    opts = options(home, device_server)
    code = request_device_code(opts, events.append)
    assert (code.user_code, code.interval) == ("WXYZ-9876", 3.0), "usercode alias, numeric interval"
    assert code.verification_url == f"{device_server.issuer}/codex/device", "trailing slash trimmed"
    assert "dev-secret-id" not in repr(code)
    complete_device_code_login(code, opts, events.append, sleep=sleeps.append)
    assert sleeps == [3.0, 3.0]
    paths = [p for p, _ in device_server.requests]
    assert paths == ["/api/accounts/deviceauth/usercode"] + [
        "/api/accounts/deviceauth/token"
    ] * 3 + ["/oauth/token"]
    assert device_server.requests[0][1] == {"client_id": "app_EMoamEEZ73f0CkXaXp7hrann"}
    exchange = device_server.requests[-1][1]
    assert exchange["code_verifier"] == "server-verifier"
    assert exchange["redirect_uri"] == f"{device_server.issuer}/deviceauth/callback"
    assert isinstance(events[-1], Succeeded)
    auth = json.loads((home / "auth.json").read_text())
    assert auth["tokens"]["account_id"] == "org-dev" and auth["OPENAI_API_KEY"] is None


def test_transport_errors_while_polling_are_retried_with_backoff(
    home: Path, device_server: DeviceServer
) -> None:
    device_server.polls = ["reset", "reset", "reset", (403, {})]
    events: list[object] = []
    sleeps: list[float] = []
    opts = options(home, device_server)
    code = request_device_code(opts, events.append)
    complete_device_code_login(code, opts, events.append, sleep=sleeps.append)
    assert sleeps == [1.0, 2.0, 4.0, 5.0], "exponential backoff, then the normal interval"
    retries = [e for e in events if isinstance(e, PollRetrying)]
    assert len(retries) == 3 and all(r.is_user_visible() for r in retries)


def test_unexpected_poll_status_shows_the_server_text(
    home: Path, device_server: DeviceServer
) -> None:
    device_server.polls = [
        (401, {"error": "unauthorized", "error_description": "device code was denied"})
    ]
    opts = options(home, device_server)
    code = request_device_code(opts)
    with pytest.raises(DeviceLoginError) as info:
        complete_device_code_login(code, opts, sleep=lambda _: None)
    assert info.value.failure.category is DeviceFailureCategory.DEVICE_AUTHORIZATION_FAILED
    assert (
        str(info.value) == "device auth failed with status 401 Unauthorized: device code was denied"
    )


def test_gives_up_after_the_code_lifetime(home: Path, device_server: DeviceServer) -> None:
    device_server.polls = [(403, {})] * 50
    opts = options(home, device_server, max_wait=0.05)
    code = request_device_code(opts)
    with pytest.raises(DeviceLoginError) as info:
        complete_device_code_login(code, opts, sleep=lambda s: time.sleep(min(s, 0.02)))
    assert info.value.failure.category is DeviceFailureCategory.DEVICE_CODE_EXPIRED
    assert str(info.value) == "device auth timed out after 15 minutes"


@pytest.mark.parametrize(
    ("status", "category", "message"),
    [
        (
            404,
            DeviceFailureCategory.DEVICE_CODE_UNAVAILABLE,
            "device code login is not enabled for this Codex server.",
        ),
        (
            503,
            DeviceFailureCategory.DEVICE_CODE_REQUEST_FAILED,
            "device code request failed with status 503 Service Unavailable",
        ),
    ],
)
def test_usercode_failures(
    home: Path,
    device_server: DeviceServer,
    status: int,
    category: DeviceFailureCategory,
    message: str,
) -> None:
    device_server.usercode = (status, {"error": "nope"})
    events: list[object] = []
    with pytest.raises(DeviceLoginError) as info:
        request_device_code(options(home, device_server), events.append)
    assert info.value.failure.category is category
    assert str(info.value).startswith(message)
    assert info.value.not_enabled is (status == 404)
    assert isinstance(events[-1], Failed)


def test_exchange_and_workspace_failures(home: Path, device_server: DeviceServer) -> None:
    device_server.token_status = 400
    opts = options(home, device_server)
    with pytest.raises(DeviceLoginError) as info:
        complete_device_code_login(request_device_code(opts), opts, sleep=lambda _: None)
    assert info.value.failure.category is LoginFailureCategory.TOKEN_ENDPOINT_REJECTED
    assert str(info.value).startswith(
        "device code exchange failed: token endpoint returned status 400"
    )
    device_server.token_status = 200
    restricted = options(home, device_server, forced_chatgpt_workspace_id="org-required")
    with pytest.raises(DeviceLoginError) as info:
        complete_device_code_login(
            request_device_code(restricted), restricted, sleep=lambda _: None
        )
    assert info.value.failure.category is LoginFailureCategory.WORKSPACE_RESTRICTION
    assert not (home / "auth.json").exists()


def test_an_id_token_for_another_client_is_id_token_invalid(
    home: Path, device_server: DeviceServer
) -> None:
    device_server.id_token = id_token_for(issuer=device_server.issuer, client_id="someone-else")
    opts = options(home, device_server)
    with pytest.raises(DeviceLoginError) as info:
        complete_device_code_login(request_device_code(opts), opts, sleep=lambda _: None)
    failure = info.value.failure
    assert failure.category is LoginFailureCategory.ID_TOKEN_INVALID
    assert failure.phase is DeviceFailurePhase.VALIDATE
    assert str(info.value) == (
        "id_token verification failed: issued for another client (aud ['someone-else']), "
        "not 'app_EMoamEEZ73f0CkXaXp7hrann'"
    )
    assert not (home / "auth.json").exists()
