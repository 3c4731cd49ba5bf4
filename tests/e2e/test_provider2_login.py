"""``loginkit login`` against the second, strict provider (django-oauth-toolkit).

The real CLI (``--issuer`` + ``--client-id``, endpoints from discovery), real headless Chromium
on the provider's own login and consent pages. Kept apart from test_provider2_smoke.py, which
checks the provider with no loginkit code at all.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Browser
from support.cli_runner import cli
from support.provider2 import login_and_consent, start_provider2

pytestmark = pytest.mark.e2e


def test_loginkit_login_with_a_strict_provider(browser: Browser, home: Path) -> None:
    with start_provider2() as provider:
        login = (
            "--issuer",
            provider.issuer,
            "--client-id",
            provider.code_client_id,
            "--port",
            "0",
            "--no-browser",
        )
        with cli(home, *login) as run:
            query = parse_qs(urlsplit(run.url).query)
            assert run.url.startswith(provider.authorization_endpoint + "?")
            assert query["code_challenge_method"] == ["S256"]
            # RFC 8252 8.3: only an IP literal may vary the port at a strict provider.
            assert query["redirect_uri"][0].startswith("http://127.0.0.1:"), query["redirect_uri"]
            result = login_and_consent(browser, provider, run.url)
            code, _, err = run.finish()
    assert code == 0, err
    assert result.status == 200, result
    assert "Signed in to loginkit" in result.text, result
    tokens = json.loads((home / "auth.json").read_text())["tokens"]
    assert tokens["access_token"].count(".") != 2, "provider2's access tokens are opaque"
    assert tokens["refresh_token"]
