"""Shared by tests/security and tests/faults: a token endpoint behind the fault proxy, random
secrets, and the CLI as a child process under OS limits. Library runs and the raw HTTP/1.1 client
that can send anything to the loopback server are ``support.loopback``'s.

The token endpoint is the scripted one from the unit tests (fast, any code is accepted); the e2e
tests put the same fault proxy in front of the real oidc-provider instead.
"""

from __future__ import annotations

import json
import resource
import secrets
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from support import loopback
from support.cli_runner import spawn
from support.fault_proxy import FaultProxy, fault_proxy
from unit.fake_issuer import OPENAI_CLIENT_ID, FakeIssuer, make_jwt, running_fake_issuer


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


#: ``support.loopback.exchange``, still importable from here for bench/hostile_load.py (outside
#: tests/); the tests import it from support.loopback.
exchange = loopback.exchange


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
