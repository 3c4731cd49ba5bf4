"""A scripted Codex device-code server (usercode, polling, token, JWKS) for the device flow
tests of the library (test_device_code.py) and of the CLI texts (test_cli_texts.py); the
``device_server`` fixture in conftest.py runs one per test."""

from __future__ import annotations

import json
import socket
import struct
import threading
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

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"


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
                    tokens if state.token_status == 200 else state.token_error,
                )

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield state
    server.shutdown()
    server.server_close()
