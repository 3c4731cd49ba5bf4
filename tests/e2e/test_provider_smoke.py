"""The test parts work on their own, with no loginkit code: provider, browser, and helpers.

A tiny stdlib loopback server plays the client's callback; the authorize URL is built by hand
with Codex's exact parameters (spec 3.3); httpx2 talks to the token endpoint.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import httpx2
import pytest
from playwright.sync_api import Browser
from support.browser import complete_device_login, complete_login, open_url
from support.provider import Provider, start_provider

pytestmark = pytest.mark.e2e

CODEX_CLIENT_ID = "app_EMoamEEZ73f0CkXaXp7hrann"
CODEX_SCOPE = "openid profile email offline_access api.connectors.read api.connectors.invoke"
AUTH_CLAIM = "https://api.openai.com/auth"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


class Receiver:
    """A loopback callback server: records each /auth/callback query, answers a small page."""

    def __init__(self) -> None:
        self.callbacks: list[dict[str, str]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlsplit(self.path)
                if url.path != "/auth/callback":
                    self.send_error(404)
                    return
                outer.callbacks.append(dict(parse_qsl(url.query)))
                body = b"<html><body><h1>Callback received</h1></body></html>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    @property
    def redirect_uri(self) -> str:
        return f"http://localhost:{self.port}/auth/callback"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rx = Receiver()
    rx.thread.start()
    try:
        yield rx
    finally:
        rx.server.shutdown()
        rx.server.server_close()


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt_payload(token: str) -> dict[str, Any]:
    parts = token.split(".")
    assert len(parts) == 3 and all(parts), f"not a JWT: {token[:40]}..."
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    result: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload))
    return result


class Pkce:
    def __init__(self) -> None:
        self.verifier = b64url(secrets.token_bytes(64))
        self.challenge = b64url(hashlib.sha256(self.verifier.encode()).digest())
        self.state = b64url(secrets.token_bytes(32))


def authorize_url(
    provider: Provider,
    redirect_uri: str,
    pkce: Pkce,
    *,
    client_id: str = CODEX_CLIENT_ID,
    scope: str = CODEX_SCOPE,
) -> str:
    """Codex's authorize URL (spec 3.3): this order, every value percent-encoded."""
    params = [
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", redirect_uri),
        ("scope", scope),
        ("code_challenge", pkce.challenge),
        ("code_challenge_method", "S256"),
        ("id_token_add_organizations", "true"),
        ("codex_cli_simplified_flow", "true"),
        ("state", pkce.state),
        ("originator", "codex_cli_rs"),
    ]
    query = "&".join(f"{k}={quote(v, safe='')}" for k, v in params)
    return f"{provider.issuer}/oauth/authorize?{query}"


def exchange_code(
    provider: Provider,
    code: str,
    redirect_uri: str,
    verifier: str,
    client_id: str = CODEX_CLIENT_ID,
) -> httpx2.Response:
    """Codex's code exchange (spec 3.7): a hand-built form body in this field order."""
    fields = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect_uri),
        ("client_id", client_id),
        ("code_verifier", verifier),
    ]
    body = "&".join(f"{k}={quote(v, safe='')}" for k, v in fields)
    return httpx2.post(provider.token_endpoint, content=body, headers=FORM, timeout=10)


def refresh(provider: Provider, refresh_token: str) -> httpx2.Response:
    """Codex's refresh (spec 9): a JSON body."""
    return httpx2.post(
        provider.token_endpoint,
        json={
            "client_id": CODEX_CLIENT_ID,
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
        },
        timeout=10,
    )


def api_key_exchange(provider: Provider, id_token: str) -> httpx2.Response:
    return httpx2.post(
        provider.token_endpoint,
        data={
            "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
            "client_id": CODEX_CLIENT_ID,
            "requested_token": "openai-api-key",
            "subject_token": id_token,
            "subject_token_type": "urn:ietf:params:oauth:token-type:id_token",
        },
        timeout=10,
    )


def browser_login(
    provider: Provider, browser: Browser, receiver: Receiver, **kw: Any
) -> tuple[Pkce, dict[str, str]]:
    """Run the browser part; return the PKCE values and the callback's query."""
    pkce = Pkce()
    result = complete_login(browser, authorize_url(provider, receiver.redirect_uri, pkce), **kw)
    assert result.status == 200, result
    assert result.final_url.startswith(receiver.redirect_uri + "?"), result
    assert "Callback received" in result.text
    assert len(receiver.callbacks) == 1, receiver.callbacks
    callback = receiver.callbacks[0]
    assert callback["state"] == pkce.state
    assert callback["iss"] == provider.issuer  # RFC 9207
    return pkce, callback


def test_code_flow_refresh_rotation_and_api_key(
    provider: Provider, browser: Browser, receiver: Receiver
) -> None:
    before = provider.stats()
    pkce, callback = browser_login(provider, browser, receiver)
    assert "error" not in callback
    response = exchange_code(provider, callback["code"], receiver.redirect_uri, pkce.verifier)
    assert response.status_code == 200, response.text
    tokens = response.json()
    assert {"id_token", "access_token", "refresh_token"} <= tokens.keys()

    claims = jwt_payload(tokens["id_token"])
    assert claims["iss"] == provider.issuer
    assert claims["aud"] == CODEX_CLIENT_ID
    assert claims["sub"] == "alice"
    assert claims["email"] == "alice@example.com"
    assert claims["https://api.openai.com/profile"]["email"] == "alice@example.com"
    assert claims[AUTH_CLAIM] == {
        "chatgpt_account_id": "org-alice",
        "chatgpt_plan_type": "plus",
        "chatgpt_user_id": "user-alice",
        "organization_id": "org-alice",
        "project_id": "proj-alice",
        "completed_platform_onboarding": True,
        "is_org_owner": False,
    }

    access = jwt_payload(tokens["access_token"])
    assert access[AUTH_CLAIM]["chatgpt_plan_type"] == "plus"
    assert access[AUTH_CLAIM]["chatgpt_account_id"] == "org-alice"
    assert access["sub"] == "alice"
    assert access["exp"] - access["iat"] == 3600

    # Refresh with a JSON body rotates the refresh token and returns a JWT access token again.
    time.sleep(1)  # so the new access token's iat differs
    refreshed = refresh(provider, tokens["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    new = refreshed.json()
    assert new["refresh_token"] != tokens["refresh_token"]
    assert jwt_payload(new["access_token"])[AUTH_CLAIM]["chatgpt_account_id"] == "org-alice"
    assert jwt_payload(new["access_token"])["iat"] > access["iat"]
    assert jwt_payload(new["id_token"])["email"] == "alice@example.com"

    # Reusing the rotated refresh token is refused (and revokes the grant).
    reused = refresh(provider, tokens["refresh_token"])
    assert reused.status_code == 400
    assert reused.json()["error"] == "invalid_grant"
    assert refresh(provider, new["refresh_token"]).status_code == 400

    # API-key exchange: our ID token buys a key; a tampered one does not.
    key = api_key_exchange(provider, tokens["id_token"])
    assert key.status_code == 200, key.text
    api_key = key.json()["access_token"]
    assert api_key.startswith("sk-proj-test-")
    assert len(api_key) == len("sk-proj-test-") + 24
    header, _payload, signature = tokens["id_token"].split(".")
    forged = b64url(json.dumps({**claims, "email": "mallory@example.com"}).encode())
    assert api_key_exchange(provider, f"{header}.{forged}.{signature}").status_code == 400

    after = provider.stats()
    delta = {k: after[k] - before[k] for k in after}
    assert delta == {
        "token_requests": 6,
        "code_exchanges": 1,
        "refresh_requests": 3,
        "refresh_errors": 2,
        "api_key_exchanges": 2,
    }


def test_deny_returns_access_denied(
    provider: Provider, browser: Browser, receiver: Receiver
) -> None:
    _, callback = browser_login(provider, browser, receiver, action="deny")
    assert callback["error"] == "access_denied"
    assert "code" not in callback


def test_generic_client_on_127_0_0_1(
    provider: Provider, browser: Browser, receiver: Receiver
) -> None:
    """Any-OIDC-provider style: other client id, 127.0.0.1 redirect, plain OIDC scopes."""
    pkce = Pkce()
    redirect_uri = f"http://127.0.0.1:{receiver.port}/auth/callback"
    url = authorize_url(provider, redirect_uri, pkce, client_id="generic-cli", scope="openid email")
    result = complete_login(browser, url, login="bob")
    assert result.status == 200, result
    callback = receiver.callbacks[0]
    response = exchange_code(provider, callback["code"], redirect_uri, pkce.verifier, "generic-cli")
    assert response.status_code == 200, response.text
    tokens = response.json()
    assert jwt_payload(tokens["id_token"])["email"] == "bob@example.com"
    assert jwt_payload(tokens["access_token"])["sub"] == "bob"
    assert "refresh_token" in tokens
    userinfo = httpx2.get(
        f"{provider.issuer}/userinfo",
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
        timeout=10,
    )
    assert userinfo.status_code == 200, userinfo.text
    assert userinfo.json()["email"] == "bob@example.com"
    bad = httpx2.get(f"{provider.issuer}/userinfo", headers={"Authorization": "Bearer x"})
    assert bad.status_code == 401


def test_fault_status_500_hits_next_code_exchange_only(
    provider: Provider, browser: Browser, receiver: Receiver
) -> None:
    pkce, callback = browser_login(provider, browser, receiver)
    before = provider.stats()
    provider.set_fault("status", status=500, grant_type="authorization_code")
    try:
        # A refresh is not the targeted grant type: it passes through untouched.
        assert refresh(provider, "not-a-token").status_code == 400
        failed = exchange_code(provider, callback["code"], receiver.redirect_uri, pkce.verifier)
        assert failed.status_code == 500
        assert failed.json()["error"] == "server_error"
        # count=1: the fault is spent, and the code never reached oidc-provider.
        ok = exchange_code(provider, callback["code"], receiver.redirect_uri, pkce.verifier)
        assert ok.status_code == 200, ok.text
    finally:
        provider.clear_fault()
    after = provider.stats()
    assert after["code_exchanges"] - before["code_exchanges"] == 2
    assert after["refresh_errors"] - before["refresh_errors"] == 1


def test_other_faults(fresh_provider: Provider) -> None:
    p = fresh_provider
    p.set_fault("garbage", count=2)
    for _ in range(2):
        r = refresh(p, "x")
        assert r.status_code == 200
        with pytest.raises(ValueError):
            r.json()
    assert refresh(p, "x").status_code == 400  # spent

    p.set_fault("redirect")
    r = refresh(p, "x")
    assert r.status_code == 302
    assert r.headers["location"] == "/oauth/token2"

    p.set_fault("status", status=401, body='{"error":"refresh_token_reused"}')
    r = refresh(p, "x")
    assert (r.status_code, r.json()) == (401, {"error": "refresh_token_reused"})

    p.set_fault("reset")
    with pytest.raises(httpx2.TransportError):
        refresh(p, "x")

    p.set_fault("stall", seconds=1)
    started = time.monotonic()
    with pytest.raises(httpx2.TransportError):
        refresh(p, "x")
    assert time.monotonic() - started >= 0.9

    p.set_fault("status", status=503, count=5)
    p.clear_fault()
    assert refresh(p, "x").status_code == 400
    assert p.stats()["refresh_requests"] == 8
    p.reset_stats()
    assert set(p.stats().values()) == {0}


def test_access_ttl_option(browser: Browser, receiver: Receiver) -> None:
    with start_provider(access_ttl=90) as p:
        pkce, callback = browser_login(p, browser, receiver)
        tokens = exchange_code(p, callback["code"], receiver.redirect_uri, pkce.verifier).json()
        access = jwt_payload(tokens["access_token"])
        assert access["exp"] - access["iat"] == 90
        assert tokens["expires_in"] == 90


def test_open_url_reports_status_and_text(provider: Provider, browser: Browser) -> None:
    result = open_url(browser, f"{provider.issuer}/.well-known/openid-configuration")
    assert result.status == 200
    discovery = json.loads(result.text)
    assert discovery["authorization_endpoint"] == f"{provider.issuer}/oauth/authorize"
    assert discovery["token_endpoint"] == f"{provider.issuer}/oauth/token"
    assert discovery["device_authorization_endpoint"] == f"{provider.issuer}/oauth/device/auth"
    assert discovery["code_challenge_methods_supported"] == ["S256"]
    missing = open_url(browser, f"{provider.issuer}/no-such-page")
    assert missing.status == 404


def device_poll(provider: Provider, started: dict[str, Any]) -> httpx2.Response:
    return httpx2.post(
        f"{provider.issuer}/api/accounts/deviceauth/token",
        json={"device_auth_id": started["device_auth_id"], "user_code": started["user_code"]},
        timeout=10,
    )


def test_codex_device_code_flow(provider: Provider, browser: Browser) -> None:
    """Codex's device API (spec 6) over the standard device flow."""
    r = httpx2.post(
        f"{provider.issuer}/api/accounts/deviceauth/usercode",
        json={"client_id": CODEX_CLIENT_ID},
        timeout=10,
    )
    assert r.status_code == 200, r.text
    started = r.json()
    assert set(started) == {"device_auth_id", "user_code", "interval"}
    assert started["interval"] == "1"  # a string, as Codex requires
    assert device_poll(provider, started).status_code == 403  # pending

    result = complete_device_login(browser, f"{provider.issuer}/codex/device", started["user_code"])
    assert result.status == 200, result
    assert "Sign-in Success" in result.text, result

    r = device_poll(provider, started)
    assert r.status_code == 200, r.text
    grant = r.json()
    assert set(grant) == {"authorization_code", "code_challenge", "code_verifier"}
    expected = b64url(hashlib.sha256(grant["code_verifier"].encode()).digest())
    assert grant["code_challenge"] == expected
    assert device_poll(provider, started).status_code == 400  # one-time

    redirect_uri = f"{provider.issuer}/deviceauth/callback"
    response = exchange_code(
        provider, grant["authorization_code"], redirect_uri, grant["code_verifier"]
    )
    assert response.status_code == 200, response.text
    tokens = response.json()
    assert jwt_payload(tokens["id_token"])[AUTH_CLAIM]["chatgpt_account_id"] == "org-alice"
    assert jwt_payload(tokens["access_token"])[AUTH_CLAIM]["chatgpt_plan_type"] == "plus"
    assert refresh(provider, tokens["refresh_token"]).status_code == 200


def test_codex_device_code_denied(provider: Provider, browser: Browser) -> None:
    started = httpx2.post(
        f"{provider.issuer}/api/accounts/deviceauth/usercode",
        json={"client_id": CODEX_CLIENT_ID},
        timeout=10,
    ).json()
    result = complete_device_login(
        browser, f"{provider.issuer}/codex/device", started["user_code"], action="deny"
    )
    assert "interrupted" in result.text, result
    r = device_poll(provider, started)
    assert r.status_code == 400
    assert r.json()["error"] == "access_denied"


def test_codex_device_disabled() -> None:
    with start_provider(extra_args=["--no-codex-device"]) as p:
        r = httpx2.post(
            f"{p.issuer}/api/accounts/deviceauth/usercode",
            json={"client_id": CODEX_CLIENT_ID},
            timeout=10,
        )
        assert r.status_code == 404


def test_codex_device_switched_off_and_on_at_run_time(provider: Provider) -> None:
    url = f"{provider.issuer}/api/accounts/deviceauth/usercode"
    with provider.codex_device_disabled():
        assert httpx2.post(url, json={"client_id": CODEX_CLIENT_ID}, timeout=10).status_code == 404
    r = httpx2.post(url, json={"client_id": CODEX_CLIENT_ID}, timeout=10)
    assert r.status_code == 200, r.text
    assert r.json()["user_code"]
