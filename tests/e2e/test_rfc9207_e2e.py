"""RFC 9207 and RFC 7009 end to end, against both real providers (oidc-provider and the strict
django-oauth-toolkit), with the real CLI and headless Chromium.

A callback carrying this run's state but another ``iss``, delivered to the loopback server while
the person signs in, is refused and its code never used; the genuine sign-in then completes (with
the nonce the generic profile sent, checked in the provider's id_token). ``loginkit logout`` then
revokes the refresh token at the provider, which refuses it afterwards at its token endpoint.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import pytest
from playwright.sync_api import Browser
from support.browser import complete_login
from support.cli_runner import cli, run_loginkit
from support.loopback import http_get
from support.provider import Provider
from support.provider2 import login_and_consent, start_provider2

pytestmark = pytest.mark.e2e

EVIL = quote("https://evil.example/", safe="")


def refresh_status(token_endpoint: str, client_id: str, refresh_token: str) -> int:
    body = urlencode(
        {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": client_id}
    ).encode()
    request = urllib.request.Request(token_endpoint, data=body, method="POST")
    request.add_header("Content-Type", "application/x-www-form-urlencoded")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def forge_other_issuer(port: int, state: str) -> None:
    forged = http_get(port, f"/auth/callback?code=forged-code&state={state}&iss={EVIL}")
    assert (forged.status, forged.text) == (400, "Issuer mismatch")


def check_signed_in_then_logout_revokes(
    home: Path, err: str, token_endpoint: str, client_id: str
) -> None:
    assert "The sign-in came back from another sign-in service" in err
    assert "Details: callback_issuer_mismatch" in err
    assert "evil.example" not in err and "forged-code" not in err
    refresh = json.loads((home / "auth.json").read_text())["tokens"]["refresh_token"]
    done = run_loginkit("logout", home=home)
    assert (done.returncode, done.stderr) == (0, "Successfully logged out\n"), done.stderr
    assert not (home / "auth.json").exists()
    assert refresh_status(token_endpoint, client_id, refresh) == 400, (
        "the provider refuses the revoked refresh token"
    )


def test_oidc_provider_iss_mismatch_nonce_and_revocation(
    provider: Provider, browser: Browser, home: Path
) -> None:
    login = ("--issuer", provider.issuer, "--client-id", "generic-cli", "--port", "0")
    with cli(home, *login, "--no-browser") as run:
        assert "nonce" in parse_qs(urlsplit(run.url).query)
        forge_other_issuer(run.port, run.state)
        result = complete_login(browser, run.url)
        code, _, err = run.finish()
    assert code == 0, err
    assert "Signed in to loginkit" in result.text
    check_signed_in_then_logout_revokes(home, err, provider.token_endpoint, "generic-cli")


def test_strict_provider_iss_mismatch_nonce_and_revocation(browser: Browser, home: Path) -> None:
    with start_provider2() as provider:
        client = provider.code_client_id
        login = ("--issuer", provider.issuer, "--client-id", client, "--port", "0")
        with cli(home, *login, "--no-browser") as run:
            assert "nonce" in parse_qs(urlsplit(run.url).query)
            forge_other_issuer(run.port, run.state)
            result = login_and_consent(browser, provider, run.url)
            code, _, err = run.finish()
        assert code == 0, err
        assert "Signed in to loginkit" in result.text, result
        check_signed_in_then_logout_revokes(home, err, provider.token_endpoint, client)
