"""loginkit.auth against a real resource server: the test provider's /userinfo, which answers
only a valid, unexpired access token it signed itself (and 401 to anything else).

Every test signs in for real (browser sign-in, headless Chromium) with short-lived access tokens,
then calls /userinfo through httpx (sync and async), httpx2 and requests with the adapters:
the token expiring mid-session is refreshed before the next request (no 401 seen), a token the
server rejects is refreshed once and the request retried once, a burst of 401s makes one refresh,
and a refresh token rejected for good is a clear error that says to sign in again.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
import requests
from playwright.sync_api import Browser
from support.browser import complete_login
from support.cli_runner import cli
from support.provider import Provider, start_provider

from loginkit.auth import Httpx2Auth, HttpxAuth, RequestsAuth
from loginkit.core._exceptions import RefreshError
from loginkit.store._refresh import OTHER, token_expiry

pytestmark = pytest.mark.e2e

#: Access tokens live 12 s; with min_validity=6 (no more than half the lifetime, the most a
#: refresh margin may be) a token is due for refresh 6 s after it is issued while the server still
#: accepts it: a refresh seen then happened *before* expiry.
ACCESS_TTL = 12
MIN_VALIDITY = 6.0
KINDS = ["httpx", "httpx-async", "httpx2", "requests"]


@dataclass
class Answer:
    """What one call through an adapter came back with."""

    status: int
    sent_token: str  # the bearer token of the request that produced the final answer
    history: list[int]  # statuses of earlier answers (a 401 before the retry)
    body: Any


def _bearer(value: str | None) -> str:
    assert value is not None and value.startswith("Bearer ")
    return value.removeprefix("Bearer ")


def get(kind: str, auth: Any, url: str) -> Answer:
    """GET url through the client of ``kind`` with ``auth`` (one adapter instance per client)."""
    if kind == "httpx":
        with httpx.Client(auth=auth) as client:
            r = client.get(url)
        return Answer(
            r.status_code,
            _bearer(r.request.headers.get("Authorization")),
            [h.status_code for h in r.history],
            r.json() if r.status_code == 200 else None,
        )
    if kind == "httpx-async":

        async def call() -> httpx.Response:
            async with httpx.AsyncClient(auth=auth) as client:
                return await client.get(url)

        # The browser fixture marks an asyncio loop as running on the main thread: use another.
        with ThreadPoolExecutor(1) as pool:
            r = pool.submit(asyncio.run, call()).result()
        return Answer(
            r.status_code,
            _bearer(r.request.headers.get("Authorization")),
            [h.status_code for h in r.history],
            r.json() if r.status_code == 200 else None,
        )
    if kind == "httpx2":
        with httpx2.Client(auth=auth) as client2:
            r2 = client2.get(url)
        return Answer(
            r2.status_code,
            _bearer(r2.request.headers.get("Authorization")),
            [h.status_code for h in r2.history],
            r2.json() if r2.status_code == 200 else None,
        )
    assert kind == "requests"
    with requests.Session() as session:
        session.auth = auth
        r3 = session.get(url, timeout=30)
    return Answer(
        r3.status_code,
        _bearer(r3.request.headers.get("Authorization")),
        [h.status_code for h in r3.history],
        r3.json() if r3.status_code == 200 else None,
    )


def make_auth(kind: str, home: Path, **kw: Any) -> Any:
    factory: Callable[..., Any] = {
        "httpx": HttpxAuth,
        "httpx-async": HttpxAuth,
        "httpx2": Httpx2Auth,
        "requests": RequestsAuth,
    }[kind]
    return factory(codex_home=home, **kw)


@pytest.fixture(scope="module")
def short_provider() -> Iterator[Provider]:
    with start_provider(access_ttl=ACCESS_TTL) as running:
        yield running


@pytest.fixture
def signed_in(short_provider: Provider, browser: Browser, home: Path) -> Path:
    """A home with a real sign-in (its own grant: refresh tokens rotate per grant)."""
    with cli(home, "--issuer", short_provider.issuer, "--port", "0", "--no-browser") as run:
        complete_login(browser, run.url)
        code, _, err = run.finish()
    assert code == 0, err
    return home


def stored(home: Path) -> dict[str, Any]:
    auth: dict[str, Any] = json.loads((home / "auth.json").read_text())
    return auth


def b64url(data: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forged_access_token() -> str:
    """A JWT that looks valid for an hour to the client, but the server did not sign it."""
    header = b64url(json.dumps({"alg": "RS256", "typ": "at+jwt"}).encode())
    payload = b64url(json.dumps({"exp": int(time.time()) + 3600, "sub": "alice"}).encode())
    return f"{header}.{payload}.{b64url(b'not-the-signature')}"


def replace_tokens(home: Path, **tokens: str) -> None:
    auth = stored(home)
    auth["tokens"].update(tokens)
    (home / "auth.json").write_text(json.dumps(auth, indent=2))


@pytest.mark.parametrize("kind", KINDS)
def test_token_expiring_mid_session_is_refreshed_before_the_next_request(
    kind: str, short_provider: Provider, signed_in: Path
) -> None:
    url = f"{short_provider.issuer}/userinfo"
    auth = make_auth(kind, signed_in, min_validity=MIN_VALIDITY)
    first = get(kind, auth, url)
    assert (first.status, first.history) == (200, [])
    assert first.body["email"] == "alice@example.com"
    exp = token_expiry(first.sent_token)
    assert exp is not None
    # Into the last MIN_VALIDITY seconds of the token's life; the server would still accept it.
    time.sleep(max(0.0, exp - MIN_VALIDITY - time.time() + 0.5))
    short_provider.reset_stats()
    second = get(kind, auth, url)
    assert (second.status, second.history) == (200, []), "refreshed before sending: no 401"
    assert second.sent_token != first.sent_token
    assert short_provider.stats()["refresh_requests"] == 1
    assert stored(signed_in)["tokens"]["access_token"] == second.sent_token
    # The fresh token is reused while it is valid: no further refresh, no further store write.
    third = get(kind, auth, url)
    assert (third.status, third.sent_token) == (200, second.sent_token)
    assert short_provider.stats()["refresh_requests"] == 1


@pytest.mark.parametrize("kind", KINDS)
def test_a_401_is_refreshed_once_and_retried_once(
    kind: str, short_provider: Provider, signed_in: Path
) -> None:
    before = stored(signed_in)["tokens"]
    forged = forged_access_token()
    replace_tokens(signed_in, access_token=forged)
    short_provider.reset_stats()
    answer = get(kind, make_auth(kind, signed_in), f"{short_provider.issuer}/userinfo")
    assert answer.history == [401], "the server rejected the stored token once"
    assert answer.status == 200 and answer.body["sub"] == "alice"
    assert answer.sent_token != forged
    assert short_provider.stats()["refresh_requests"] == 1
    after = stored(signed_in)["tokens"]
    assert after["access_token"] == answer.sent_token
    assert after["refresh_token"] != before["refresh_token"], "rotated, and saved"


@pytest.fixture
def always_401() -> Iterator[tuple[str, list[str]]]:
    """A resource server that rejects every token; yields its URL and the Authorization headers
    it received."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.headers.get("Authorization", ""))
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Bearer error="invalid_token"')
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/api", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.mark.parametrize("kind", KINDS)
def test_a_second_401_is_returned_not_retried_again(
    kind: str,
    short_provider: Provider,
    signed_in: Path,
    always_401: tuple[str, list[str]],
) -> None:
    url, seen = always_401
    old = stored(signed_in)["tokens"]["access_token"]
    short_provider.reset_stats()
    answer = get(kind, make_auth(kind, signed_in), url)
    assert (answer.status, answer.history) == (401, [401]), "one retry, then the caller gets it"
    new = stored(signed_in)["tokens"]["access_token"]
    assert seen == [f"Bearer {old}", f"Bearer {new}"] and new != old
    assert short_provider.stats()["refresh_requests"] == 1


def test_a_burst_of_401s_makes_one_refresh(short_provider: Provider, signed_in: Path) -> None:
    """Eight clients (separate adapters, as separate programs would have) all send the same
    rejected token at once: one refresh; the others retry with the token it stored."""
    forged = forged_access_token()
    replace_tokens(signed_in, access_token=forged)
    short_provider.reset_stats()
    clients = 8
    barrier = threading.Barrier(clients, timeout=60)

    def hold_first_send(request: httpx.Request) -> None:
        if request.headers.get("Authorization") == f"Bearer {forged}":
            barrier.wait()  # every client has read the forged token before any 401 comes back

    def one() -> httpx.Response:
        auth = HttpxAuth(codex_home=signed_in)
        with httpx.Client(auth=auth, event_hooks={"request": [hold_first_send]}) as client:
            return client.get(f"{short_provider.issuer}/userinfo")

    with ThreadPoolExecutor(clients) as pool:
        responses = list(pool.map(lambda _: one(), range(clients)))
    assert [r.status_code for r in responses] == [200] * clients
    assert all([h.status_code for h in r.history] == [401] for r in responses)
    assert {r.request.headers["Authorization"] for r in responses} == {
        f"Bearer {stored(signed_in)['tokens']['access_token']}"
    }
    stats = short_provider.stats()
    assert (stats["refresh_requests"], stats["refresh_errors"]) == (1, 0)


@pytest.mark.parametrize("kind", ["httpx-async", "requests"])
def test_refresh_token_rejected_for_good_says_sign_in_again(
    kind: str, short_provider: Provider, signed_in: Path
) -> None:
    # The server rejects the access token (401) and then the refresh token (invalid_grant).
    replace_tokens(
        signed_in,
        access_token=forged_access_token(),
        refresh_token="not-a-refresh-token-the-provider-issued",
    )
    short_provider.reset_stats()
    auth = make_auth(kind, signed_in)
    url = f"{short_provider.issuer}/userinfo"
    for _ in range(2):
        with pytest.raises(RefreshError) as caught:
            get(kind, auth, url)
        assert caught.value.permanent
        assert str(caught.value) == OTHER
        assert "sign in again" in str(caught.value)
    assert short_provider.stats()["refresh_requests"] == 1, "the rejection is remembered"


def test_expired_token_with_a_dead_refresh_token_fails_before_sending(
    short_provider: Provider, signed_in: Path
) -> None:
    expired = forged_access_token().split(".")
    expired[1] = b64url(json.dumps({"exp": int(time.time()) - 30}).encode())
    replace_tokens(signed_in, access_token=".".join(expired), refresh_token="revoked-for-good")
    sent: list[httpx.Request] = []
    with (
        httpx.Client(
            auth=HttpxAuth(codex_home=signed_in), event_hooks={"request": [sent.append]}
        ) as client,
        pytest.raises(RefreshError, match="sign in again") as caught,
    ):
        client.get(f"{short_provider.issuer}/userinfo")
    assert caught.value.permanent
    assert sent == [], "no request goes out without a usable token"
