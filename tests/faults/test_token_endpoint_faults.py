"""Issue 4.5: every way a token endpoint can fail gets its own category, end to end.

The real oidc-provider sits behind the fault proxy (``tests/support/fault_proxy.py``); loginkit's
issuer is the proxy, which forwards everything (the browser's authorize request too) and breaks only
the token request it is told to. Headless Chromium signs in for real, so the code being exchanged
is a real one. Library runs use a 1 s HTTP timeout so the 10 s stall is a timeout after 1 s; one
run goes through the CLI.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser
from support.browser import complete_login
from support.fault_proxy import FaultProxy, fault_proxy
from support.loopback import http_get, start_run
from support.provider import Provider
from unit.fake_issuer import Behaviour, FakeIssuer, running_fake_issuer

from loginkit.core._categories import LoginFailureCategory, LoginFailurePhase
from loginkit.core._limits import Timeouts
from loginkit.core._profiles import OPENAI

from security.harness import cli_command, spawn_cli  # isort: skip

C = LoginFailureCategory
OLD = b'{\n  "auth_mode": "apikey",\n  "OPENAI_API_KEY": "sk-old-key-keep-me"\n}'
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"


@pytest.fixture(scope="module")
def module_proxy(provider: Provider) -> Iterator[FaultProxy]:
    with fault_proxy(provider.issuer) as proxy:
        yield proxy


@pytest.fixture
def proxy(module_proxy: FaultProxy) -> Iterator[FaultProxy]:
    module_proxy.clear()
    module_proxy.calls.clear()
    yield module_proxy
    module_proxy.clear()


@pytest.fixture(autouse=True)
def old_credentials(home: Path) -> None:
    """Every test here starts from an API-key auth.json that a failed sign-in must leave alone."""
    (home / "auth.json").write_bytes(OLD)


FAULTS = [
    (
        "status",
        {},
        C.TOKEN_ENDPOINT_REJECTED,
        "returned status 500 Internal Server Error from {url}/oauth/token: injected fault",
    ),
    (
        "status",
        {"status": 502, "body": b"<html>Bad gateway</html>", "content_type": "text/html"},
        C.TOKEN_ENDPOINT_REJECTED,
        "returned status 502 Bad Gateway from {url}/oauth/token: <html>Bad gateway</html>",
    ),
    ("garbage", {}, C.TOKEN_RESPONSE_MALFORMED, "could not be parsed: expected JSON"),
    ("stall", {"seconds": 10.0}, C.TOKEN_EXCHANGE_TIMEOUT, "timed out waiting for a response"),
    (
        "reset",
        {},
        C.TOKEN_EXCHANGE_REQUEST,
        "Connection reset by peer (endpoint: {url}/oauth/token)",
    ),
    ("redirect", {}, C.TOKEN_ENDPOINT_REJECTED, "returned status 302 Found from {url}/oauth/token"),
    (
        "truncate",
        {},
        C.TOKEN_EXCHANGE_REQUEST,
        "peer closed connection without sending complete message body",
    ),
]


@pytest.mark.parametrize(
    ("kind", "options", "category", "fragment"),
    FAULTS,
    ids=["500-json", "502-html", "garbage", "stall-10s", "reset", "redirect", "truncated"],
)
def test_token_endpoint_fault_gets_its_category(
    provider: Provider,
    browser: Browser,
    proxy: FaultProxy,
    home: Path,
    kind: str,
    options: dict[str, object],
    category: LoginFailureCategory,
    fragment: str,
) -> None:
    proxy.arm(kind, grant_type="authorization_code", **options)
    # The endpoints are reached through the proxy; the provider still names itself as the
    # issuer of its authorization responses (RFC 9207 ``iss``) and tokens.
    profile = dataclasses.replace(OPENAI, issuer_identifier=provider.issuer)
    run = start_run(home, proxy.url, timeouts=Timeouts.uniform(1.0), profile=profile)
    started = time.monotonic()
    page = complete_login(browser, run.server.auth_url)
    error = run.finish_error()
    assert time.monotonic() - started < 8, "a stalled endpoint costs the timeout, not the stall"
    assert error.failure is not None
    assert (error.failure.category, error.failure.phase) == (
        category,
        LoginFailurePhase.EXCHANGE_TOKEN,
    )
    assert fragment.format(url=proxy.url) in str(error)
    assert "Token exchange failed" in page.text and "token_exchange_failed" in page.text
    calls = proxy.token_calls("authorization_code")
    assert len(calls) == 1 and calls[0].fault == kind, "exchanged once, never retried or followed"
    assert calls[0].form["code"] not in str(error)
    assert (home / "auth.json").read_bytes() == OLD, "a failed sign-in leaves old credentials"
    assert [f.category for f in run.failures()] == [category]


@pytest.mark.parametrize(
    ("kind", "options"), [("status", {}), ("stall", {"seconds": 10.0})], ids=["500", "stall"]
)
def test_api_key_endpoint_fault_still_signs_in(
    browser: Browser,
    provider: Provider,
    proxy: FaultProxy,
    home: Path,
    kind: str,
    options: dict[str, object],
) -> None:
    """The API-key exchange is best effort (spec 3.11): its failure leaves the key empty."""
    proxy.arm(kind, grant_type=TOKEN_EXCHANGE, **options)
    # The endpoints are reached through the proxy; the tokens are still the provider's own.
    profile = dataclasses.replace(OPENAI, issuer_identifier=provider.issuer)
    run = start_run(home, proxy.url, timeouts=Timeouts.uniform(1.0), profile=profile)
    page = complete_login(browser, run.server.auth_url)
    run.finish_ok()
    assert "Signed in to Codex" in page.text
    saved = json.loads((home / "auth.json").read_text())
    assert saved["OPENAI_API_KEY"] is None and saved["auth_mode"] == "chatgpt"
    assert run.failures() == []


def test_the_cli_reports_a_reset_token_endpoint(home: Path) -> None:
    """The real CLI shows a reset token endpoint as its block. (A scripted issuer: the CLI has no
    flag for an issuer name that differs from its address, so the fault proxy cannot stand in
    for the provider here once RFC 9207's ``iss`` is checked.)"""
    with running_fake_issuer(FakeIssuer(script=[Behaviour("reset")])) as fake:
        command = cli_command(home, "--issuer", fake.issuer, "--port", "0", "--no-browser")
        with spawn_cli(command) as run:
            page = http_get(run.port, f"/auth/callback?code=c&state={run.state}")
            code, _, err = run.finish()
    assert code == 1
    assert "token_exchange_failed" in page.text
    assert (
        "Details: token_exchange_request - connection lost while reading the response: [Errno 104]"
        f" Connection reset by peer (endpoint: {fake.issuer}/oauth/token)" in err
    )
    assert "Error logging in" not in err, "the block already said it"
    assert (home / "auth.json").read_bytes() == OLD
