"""Shared helpers for library-level tests: start a run, talk to its loopback server."""

from __future__ import annotations

import http.client
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from support.net import free_port

from loginkit.core._limits import Timeouts
from loginkit.core._phases import Failed, LoginPhase
from loginkit.signin._api import LoginServer, run_login_server_with_progress
from loginkit.signin._options import ServerOptions

__all__ = ["STATE", "Response", "Run", "free_port", "http_get", "normalise", "start_run"]

STATE = "test-state-value-0123456789abcdefghijklmno"


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: str


def http_get(
    port: int,
    target: str,
    *,
    host: str | None = None,
    method: str = "GET",
    address: str = "127.0.0.1",
) -> Response:
    """One request to ``address:port`` with ``Host: host`` (default ``127.0.0.1:port``)."""
    conn = http.client.HTTPConnection(address, port, timeout=30)
    try:
        conn.putrequest(method, target, skip_host=True)
        conn.putheader("Host", host if host is not None else f"127.0.0.1:{port}")
        conn.endheaders()
        resp = conn.getresponse()
        body = resp.read().decode("utf-8", "replace")
        return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, body)
    finally:
        conn.close()


@dataclass
class Run:
    server: LoginServer
    events: list[LoginPhase] = field(default_factory=list)

    @property
    def port(self) -> int:
        return self.server.actual_port

    def get(self, target: str, **kw: Any) -> Response:
        return http_get(self.port, target, **kw)

    def callback(self, query: str) -> Response:
        return self.get(f"/auth/callback?{query}")

    def failures(self) -> list[Failed]:
        return [e for e in self.events if isinstance(e, Failed)]


def start_run(home: Path, issuer: str, **overrides: Any) -> Run:
    events: list[LoginPhase] = []
    options: dict[str, Any] = {
        "codex_home": home,
        "issuer": issuer,
        "port": 0,
        "open_browser": False,
        "force_state": STATE,
        "timeouts": Timeouts.uniform(5.0),
    }
    options.update(overrides)
    server = run_login_server_with_progress(ServerOptions(**options), events.append)
    return Run(server, events)


def normalise(text: str, port: int) -> str:
    """A CLI transcript without what changes from run to run: the authorize link, the issuer's
    port and the loopback ``port``."""
    text = re.sub(r"http://127\.0\.0\.1:\d+/oauth/authorize\?\S+", "<AUTH_URL>", text)
    text = re.sub(r"http://127\.0\.0\.1:\d+", "http://127.0.0.1:<ISSUER_PORT>", text)
    return text.replace(str(port), "<PORT>")
