"""A scriptable token endpoint on loopback for library-level tests (the e2e suite uses oidc-provider).

Each instance answers ``POST /oauth/token`` with the next scripted behaviour: a JSON answer, a
status with a body, garbage, a stall, or a reset connection. It records every request body so tests
can check what loginkit sent.
"""

from __future__ import annotations

import base64
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


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_jwt(payload: dict[str, Any]) -> str:
    """An unsigned-looking JWT (loginkit reads claims without verifying, like Codex)."""
    header = b64url(json.dumps({"alg": "RS256", "typ": "JWT"}).encode())
    body = b64url(json.dumps(payload).encode())
    return f"{header}.{body}.{b64url(b'signature-bytes')}"


def id_token_for(account_id: str | None = "org-alice", **auth: Any) -> str:
    claims: dict[str, Any] = {"chatgpt_plan_type": "plus", "chatgpt_user_id": "user-alice"}
    if account_id is not None:
        claims["chatgpt_account_id"] = account_id
    claims.update(auth)
    return make_jwt(
        {"sub": "alice", "email": "alice@example.com", "https://api.openai.com/auth": claims}
    )


@dataclass
class Behaviour:
    kind: str = "tokens"  # tokens | status | garbage | stall | reset
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    seconds: float = 0.0


@dataclass
class FakeIssuer:
    port: int = 0
    script: list[Behaviour] = field(default_factory=list)
    api_key_behaviour: Behaviour | None = None
    requests: list[dict[str, str]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    #: When set, served at /.well-known/openid-configuration ("{issuer}" is filled in).
    discovery: dict[str, str] | None = None
    id_token: str = field(default_factory=id_token_for)
    access_token: str = field(
        default_factory=lambda: make_jwt(
            {"https://api.openai.com/auth": {"chatgpt_plan_type": "plus"}, "exp": 4102444800}
        )
    )
    refresh_token: str = "rt-secret-refresh-token-value"
    api_key: str = "sk-proj-secret-api-key-value-12345"

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def token_json(self) -> bytes:
        return json.dumps(
            {
                "id_token": self.id_token,
                "access_token": self.access_token,
                "refresh_token": self.refresh_token,
                "token_type": "Bearer",
                "expires_in": 3600,
            }
        ).encode()


def _handler(fake: FakeIssuer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def _answer(self, behaviour: Behaviour, tokens: bytes) -> None:
            if behaviour.kind == "reset":
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
                self.connection.close()
                self.close_connection = True
                return
            if behaviour.kind == "stall":
                time.sleep(behaviour.seconds)
                self.close_connection = True
                return
            if behaviour.kind == "tokens":
                status, body, ctype = 200, tokens, "application/json"
            elif behaviour.kind == "garbage":
                status, body, ctype = 200, behaviour.body or b"<html>not json</html>", "text/html"
            else:
                status, body, ctype = behaviour.status, behaviour.body, behaviour.content_type
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            if fake.discovery is None or self.path != "/.well-known/openid-configuration":
                self._answer(Behaviour("status", 404, b"{}"), b"")
                return
            doc = {k: v.replace("{issuer}", fake.issuer) for k, v in fake.discovery.items()}
            self._answer(Behaviour("status", 200, json.dumps(doc).encode()), b"")

        def do_POST(self) -> None:
            fake.paths.append(self.path)
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length).decode()
            from urllib.parse import parse_qsl

            form = dict(parse_qsl(raw))
            fake.requests.append(form)
            if form.get("grant_type", "").endswith("token-exchange"):
                behaviour = fake.api_key_behaviour or Behaviour()
                key = json.dumps({"access_token": fake.api_key}).encode()
                self._answer(behaviour, key)
                return
            behaviour = fake.script.pop(0) if fake.script else Behaviour()
            self._answer(behaviour, fake.token_json())

    return Handler


@contextmanager
def running_fake_issuer(fake: FakeIssuer | None = None) -> Iterator[FakeIssuer]:
    fake = fake or FakeIssuer()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    server.daemon_threads = True
    fake.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
