"""A scriptable token endpoint on loopback for library-level tests (the e2e suite uses oidc-provider).

Each instance answers ``POST /oauth/token`` with the next scripted behaviour: a JSON answer, a
status with a body, garbage, a stall, or a reset connection. It records every request body so tests
can check what loginkit sent.
"""

from __future__ import annotations

import base64
import functools
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

from joserfc import jwt
from joserfc.jwk import ECKey, OctKey, RSAKey

OPENAI_CLIENT_ID = "app_EMoamEEZ73f0CkXaXp7hrann"
KID = "fake-issuer-key"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@functools.cache
def signing_key() -> RSAKey:
    """The fake issuer's RS256 key: one per test process (generating one costs ~0.1 s)."""
    return RSAKey.generate_key(2048, parameters={"kid": KID, "use": "sig", "alg": "RS256"})


def public_jwks() -> dict[str, Any]:
    """What a provider publishes at ``/.well-known/jwks.json``: the public half only."""
    return {"keys": [signing_key().as_dict(private=False)]}


def make_jwt(
    payload: dict[str, Any],
    *,
    key: RSAKey | ECKey | OctKey | None = None,
    header: dict[str, Any] | None = None,
) -> str:
    """A JWT signed (RS256) with the fake issuer's key, or ``key``; ``header`` overrides."""
    return jwt.encode(
        header or {"alg": "RS256", "typ": "JWT", "kid": KID}, payload, key or signing_key()
    )


def id_token_for(
    account_id: str | None = "org-alice",
    *,
    issuer: str | None = None,
    client_id: str = OPENAI_CLIENT_ID,
    nonce: str | None = None,
    **auth: Any,
) -> str:
    """An id_token shaped like auth.openai.com's. Without ``issuer`` it has no ``iss`` and fails
    verification: a sign-in test passes the fake issuer's URL. A generic run's id_token must
    carry the ``nonce`` of its authorize URL."""
    claims: dict[str, Any] = {"chatgpt_plan_type": "plus", "chatgpt_user_id": "user-alice"}
    if account_id is not None:
        claims["chatgpt_account_id"] = account_id
    claims.update(auth)
    now = int(time.time())
    payload: dict[str, Any] = {
        "sub": "alice",
        "email": "alice@example.com",
        "aud": [client_id],
        "iat": now,
        "exp": now + 3600,
        "https://api.openai.com/auth": claims,
    }
    if issuer is not None:
        payload["iss"] = issuer
    if nonce is not None:
        payload["nonce"] = nonce
    return make_jwt(payload)


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
    get_paths: list[str] = field(default_factory=list)
    #: When set, served at /.well-known/openid-configuration ("{issuer}" is filled in in every
    #: string; other JSON values, such as ``true``, are served as they are).
    discovery: dict[str, Any] | None = None
    #: Empty: one for this issuer is minted when it starts (its URL is known only then).
    id_token: str = ""
    #: Served at /.well-known/jwks.json; None: the public half of :func:`signing_key`.
    jwks: dict[str, Any] | None = None
    jwks_behaviour: Behaviour | None = None
    access_token: str = field(
        default_factory=lambda: make_jwt(
            {"https://api.openai.com/auth": {"chatgpt_plan_type": "plus"}, "exp": 4102444800}
        )
    )
    refresh_token: str = "rt-secret-refresh-token-value"
    api_key: str = "sk-proj-secret-api-key-value-12345"
    #: Fields added to (or replacing) the token response's ``expires_in`` and the like.
    extra_token_fields: dict[str, Any] = field(default_factory=dict)

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
                **self.extra_token_fields,
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
            fake.get_paths.append(self.path)
            if self.path.endswith("jwks.json"):
                keys = json.dumps(public_jwks() if fake.jwks is None else fake.jwks).encode()
                self._answer(fake.jwks_behaviour or Behaviour(), keys)
                return
            if fake.discovery is None or self.path != "/.well-known/openid-configuration":
                self._answer(Behaviour("status", 404, b"{}"), b"")
                return
            doc = {
                k: v.replace("{issuer}", fake.issuer) if isinstance(v, str) else v
                for k, v in fake.discovery.items()
            }
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
    if not fake.id_token:
        fake.id_token = id_token_for(issuer=fake.issuer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
