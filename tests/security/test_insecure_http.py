"""Issue "Hostile input, round two", item 5: nothing is sent over plain ``http://`` to a host
that is not a loopback address unless the person opts in with ``LOGINKIT_ALLOW_INSECURE_HTTP=1``.

192.0.2.1 is TEST-NET-1: never reachable. A refused request fails at once; a request that tried
would sit in its connect timeout. In-process runs also record every name lookup and connection.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.cli_runner import run_loginkit
from syrupy.assertion import SnapshotAssertion
from unit.fake_issuer import id_token_for, make_jwt
from unit.snapshot_ext import TextSnapshot

from loginkit import Timeouts
from loginkit.core._categories import LoginFailureCategory
from loginkit.core._exceptions import TransportError
from loginkit.core._profiles import profile_for
from loginkit.oauth._http import is_loopback_host
from loginkit.oauth._provider import Provider

INSECURE = "http://192.0.2.1"
CLIENT = "app_EMoamEEZ73f0CkXaXp7hrann"


@pytest.fixture
def attempts(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """Every name lookup and connection this process tries; each one fails at once."""
    seen: list[Any] = []

    def lookup(host: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(host)
        raise socket.gaierror(socket.EAI_NONAME, "recorded, not resolved")

    def connect(address: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(address)
        raise ConnectionRefusedError("recorded, not connected")

    monkeypatch.setattr(socket, "getaddrinfo", lookup)
    monkeypatch.setattr(socket, "create_connection", connect)
    yield seen


def exchange(issuer: str) -> TransportError:
    provider = Provider(profile_for(issuer, CLIENT), issuer, Timeouts.uniform(5))
    with provider, pytest.raises(TransportError) as caught:
        provider.exchange_code(
            client_id=CLIENT,
            code="the-secret-code",
            code_verifier="the-secret-verifier",
            redirect_uri="http://localhost:1455/auth/callback",
        )
    return caught.value


def test_a_non_loopback_http_issuer_is_refused_before_any_connection(
    attempts: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LOGINKIT_ALLOW_INSECURE_HTTP", raising=False)
    for issuer in (INSECURE, "http://auth.example.com", "http://127.0.0.1.example.com"):
        error = exchange(issuer)
        assert error.category is LoginFailureCategory.TOKEN_EXCHANGE_REQUEST
        assert "plain http" in str(error) and "LOGINKIT_ALLOW_INSECURE_HTTP=1" in str(error)
        assert "the-secret" not in str(error)
    provider = Provider(profile_for(INSECURE, CLIENT), INSECURE)
    with provider, pytest.raises(TransportError, match="plain http"):
        provider.signing_keys()
    assert provider.metadata() is None  # discovery refused too (logged)
    assert attempts == []


def test_the_opt_in_lets_the_request_go(
    attempts: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOGINKIT_ALLOW_INSECURE_HTTP", "1")
    error = exchange(INSECURE)
    assert error.category is LoginFailureCategory.TOKEN_EXCHANGE_CONNECT
    assert attempts  # it tried: the recorder stopped it


def test_loopback_http_stays_allowed() -> None:
    for host in ("127.0.0.1", "127.8.9.1", "localhost", "LOCALHOST", "::1", "[::1]"):
        assert is_loopback_host(host), host
    for host in ("192.0.2.1", "10.0.0.1", "localhost.example", "127.0.0.1.nip.io", "::2"):
        assert not is_loopback_host(host), host


def test_loginkit_token_refuses_to_refresh_over_plain_http(
    home: Path, snapshot: SnapshotAssertion
) -> None:
    """The refresh endpoint comes from the saved id_token's ``iss``: a plain-http issuer there
    is refused before the refresh token is sent, in the real CLI."""
    auth = {
        "auth_mode": "chatgpt",
        "OPENAI_API_KEY": None,
        "tokens": {
            "id_token": id_token_for(issuer=INSECURE),
            "access_token": make_jwt({"exp": int(time.time()) - 60}),
            "refresh_token": "rt-secret-refresh-token-value",
            "account_id": "org-alice",
        },
        "last_refresh": "2026-11-29T02:40:42.123456Z",
    }
    (home / "auth.json").write_text(json.dumps(auth))
    (home / "auth.json").chmod(0o600)
    started = time.monotonic()
    done = run_loginkit(
        "token", "--codex-home", str(home), unset=("LOGINKIT_ALLOW_INSECURE_HTTP",), timeout=30
    )
    assert time.monotonic() - started < 8  # the connect timeout is 10 s: nothing was tried
    assert done.returncode == 1
    assert done.stdout == ""
    assert "plain http to 192.0.2.1" in done.stderr
    assert "LOGINKIT_ALLOW_INSECURE_HTTP=1" in done.stderr
    assert "rt-secret" not in done.stderr
    assert done.stderr == snapshot(extension_class=TextSnapshot, name="token_refresh_plain_http")


def test_a_plain_http_generic_issuer_is_refused_before_the_link(
    home: Path, snapshot: SnapshotAssertion
) -> None:
    """A generic issuer over plain http beyond the loopback: its discovery request is refused
    before any lookup, so the sign-in ends before a link is printed."""
    started = time.monotonic()
    done = run_loginkit(
        "login",
        "--issuer",
        INSECURE,
        "--client-id",
        "my-cli",
        "--port",
        "0",
        "--no-browser",
        home=home,
        unset=("LOGINKIT_ALLOW_INSECURE_HTTP",),
        timeout=30,
    )
    assert time.monotonic() - started < 8
    assert done.returncode == 1
    assert "use this link to sign in" not in done.stderr
    assert done.stderr == snapshot(extension_class=TextSnapshot, name="login_plain_http_issuer")
