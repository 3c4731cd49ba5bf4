"""A scripted device-code server for the device flow tests of the library (test_device_code.py,
test_device_rfc8628.py) and of the CLI texts (test_cli_texts.py, test_device_prompt.py); the
``device_server`` fixture in conftest.py runs one per test.

Two variants on one server: Codex's (usercode, polling, token, JWKS) and RFC 8628's (a discovery
document naming a device authorization endpoint, the ``device_code`` grant at ``/token`` with
scripted ``authorization_pending`` / ``slow_down`` answers, a token answer with or without an
id_token, and a userinfo endpoint that records the bearer token it was given)."""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .fake_issuer import id_token_for, make_jwt, public_jwks


@dataclass
class DeviceServer:
    usercode: tuple[int, dict[str, Any]] = (
        200,
        {"device_auth_id": "dev-secret-id", "user_code": "ABCD-1234", "interval": "5"},
    )
    polls: list[Any] = field(default_factory=list)  # (status, body) or "reset"
    token_status: int = 200
    #: The token endpoint's error body when ``token_status`` is not 200.
    token_error: dict[str, Any] = field(default_factory=lambda: {"error": "invalid_grant"})
    id_token: str = ""  # empty: a valid one for this server
    requests: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    port: int = 0
    # -- RFC 8628 --
    #: The device authorization answer; None: a standard one for this server (30 minutes).
    device_authorization: tuple[int, dict[str, Any]] | None = None
    #: Whether discovery announces ``device_authorization_endpoint`` / ``userinfo_endpoint``.
    announce_device: bool = True
    announce_userinfo: bool = True
    #: Answers to the ``device_code`` grant, in order; then the tokens.
    device_polls: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    #: Whether the device grant's tokens carry an id_token (oidc-provider: only with `openid`).
    device_id_token: bool = True
    #: The access token the device grant hands out (opaque, as at a strict provider).
    device_access_token: str = "opaque-device-access-token"
    userinfo: tuple[int, dict[str, Any]] = (
        200,
        {"sub": "user-dave", "email": "dave@example.com"},
    )
    #: The Authorization header of every userinfo request.
    userinfo_auth: list[str] = field(default_factory=list)
    #: time.monotonic() of every device_code grant request (to check the polling interval).
    poll_times: list[float] = field(default_factory=list)

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"


DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
#: The client id of the standard (generic-profile) tests.
GENERIC_CLIENT = "generic-device-cli"


def discovery(state: DeviceServer) -> dict[str, Any]:
    document: dict[str, Any] = {
        "issuer": state.issuer,
        "authorization_endpoint": f"{state.issuer}/authorize",
        "token_endpoint": f"{state.issuer}/token",
        "jwks_uri": f"{state.issuer}/.well-known/jwks.json",
    }
    if state.announce_device:
        document["device_authorization_endpoint"] = f"{state.issuer}/device/authorize"
    if state.announce_userinfo:
        document["userinfo_endpoint"] = f"{state.issuer}/userinfo"
    return document


def standard_authorization(state: DeviceServer) -> tuple[int, dict[str, Any]]:
    return (
        200,
        {
            "device_code": "dc-secret-device-code",
            "user_code": "WDJB-MJHT",
            "verification_uri": f"{state.issuer}/device",
            "verification_uri_complete": f"{state.issuer}/device?user_code=WDJB-MJHT",
            "expires_in": 1800,
            "interval": 1,
        },
    )


def device_tokens(state: DeviceServer, client_id: str) -> dict[str, Any]:
    tokens: dict[str, Any] = {
        "access_token": state.device_access_token,
        "token_type": "Bearer",
        "expires_in": 3600,
        "refresh_token": "rt-device",
    }
    if state.device_id_token:
        tokens["id_token"] = state.id_token or id_token_for(
            None, issuer=state.issuer, client_id=client_id
        )
    return tokens


@contextmanager
def running_device_server() -> Iterator[DeviceServer]:
    """The scripted server on a free loopback port until the block ends."""
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
            elif self.path == "/.well-known/openid-configuration":
                self.reply(200, discovery(state))
            elif self.path == "/userinfo":
                state.userinfo_auth.append(self.headers.get("Authorization", ""))
                self.reply(*state.userinfo)
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
            elif self.path == "/device/authorize":
                self.reply(*(state.device_authorization or standard_authorization(state)))
            elif body.get("grant_type") == DEVICE_GRANT:
                state.poll_times.append(time.monotonic())
                if state.device_polls:
                    self.reply(*state.device_polls.pop(0))
                else:
                    self.reply(200, device_tokens(state, str(body.get("client_id", ""))))
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
                    tokens if state.token_status == 200 else state.token_error,
                )

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield state
    server.shutdown()
    server.server_close()
