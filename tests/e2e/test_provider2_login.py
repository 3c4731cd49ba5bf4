"""``loginkit login`` against the second, strict provider (django-oauth-toolkit).

The real CLI (``--issuer`` + ``--client-id``, endpoints from discovery), real headless Chromium
on the provider's own login and consent pages. Kept apart from test_provider2_smoke.py, which
checks the provider with no loginkit code at all.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Browser
from support.cli_runner import cli, loginkit_command, run_loginkit, start
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
        record = json.loads((home / "auth.json").read_text())
        tokens = record["tokens"]
        assert tokens["access_token"].count(".") != 2, "provider2's access tokens are opaque"
        assert tokens["refresh_token"]
        # The record knows its provider; no Codex word anywhere a person or a log reads.
        assert record["auth_mode"] == "oidc"
        assert record["loginkit"]["issuer"] == provider.issuer
        assert record["loginkit"]["client_id"] == provider.code_client_id
        assert record["loginkit"]["access_token_expires_at"] > time.time()
        status = run_loginkit("login", "status", home=home)
        token = run_loginkit("token", home=home)
        status_json = run_loginkit("login", "status", "--json", home=home)
        logout = run_loginkit("logout", home=home)
        assert status.returncode == 0, status.stderr
        assert status.stderr.startswith(f"Signed in to {provider.issuer}\n")
        assert token.returncode == 0 and token.stdout.strip() == tokens["access_token"]
        assert logout.returncode == 0, logout.stderr
        seen = {
            "login": err,
            "page": result.text,
            "status": status.stderr,
            "status --json": status_json.stdout,
            "token": token.stderr,
            "logout": logout.stderr,
            "log": (home / "log" / "codex-login.log").read_text(),
        }
        for where, text in seen.items():
            for word in ("Codex", "codex login", "ChatGPT", "chatgpt", "OpenAI", "openai.com"):
                assert word not in text, (where, word, text)


def test_ten_token_calls_at_expiry_make_one_refresh_at_the_strict_provider(
    browser: Browser, home: Path
) -> None:
    """An opaque access token at its stored expiry, ten `loginkit token` at once: the strict
    provider rotates refresh tokens and, on a reused one, revokes the whole grant, so all ten
    printing the same new token proves a single refresh."""
    with start_provider2() as provider:
        login = ("--issuer", provider.issuer, "--client-id", provider.code_client_id)
        with cli(home, *login, "--port", "0", "--no-browser") as run:
            login_and_consent(browser, provider, run.url)
            code, _, err = run.finish()
        assert code == 0, err
        record = json.loads((home / "auth.json").read_text())
        record["loginkit"]["access_token_expires_at"] = int(time.time()) - 1
        (home / "auth.json").write_text(json.dumps(record))
        procs = [start(loginkit_command("token", home=home)) for _ in range(10)]
        results = [proc.communicate(timeout=60) for proc in procs]
        assert [p.returncode for p in procs] == [0] * 10, [err for _, err in results]
        printed = {out.strip() for out, _ in results}
        assert len(printed) == 1
        after = json.loads((home / "auth.json").read_text())
        assert printed == {after["tokens"]["access_token"]}
        assert after["tokens"]["access_token"] != record["tokens"]["access_token"]
        assert after["tokens"]["refresh_token"] != record["tokens"]["refresh_token"]


@pytest.mark.parametrize("which", ["oidc-provider", "django-oauth-toolkit"])
def test_a_bad_issuer_fails_fast_at_both_real_providers(home: Path, which: str) -> None:
    """Discovery before the link, against real providers: a wrong path (404), an address where
    nothing listens, and the right host named differently from its own issuer each end at once
    with the provider_discovery_failed block, no link printed."""
    from support.net import free_port
    from support.provider import start_provider

    starter = start_provider if which == "oidc-provider" else start_provider2
    with starter() as provider:
        issuer = provider.issuer
        wrong = {
            "404": f"{issuer}/not-an-issuer",
            "unreachable": f"http://127.0.0.1:{free_port()}",
            "another-issuer": issuer.replace("127.0.0.1", "localhost"),
        }
        for case, url in wrong.items():
            started = time.monotonic()
            done = run_loginkit(
                "login",
                "--issuer",
                url,
                "--client-id",
                "some-cli",
                "--port",
                "0",
                "--no-browser",
                home=home,
            )
            assert done.returncode == 1, (case, done.stderr)
            assert time.monotonic() - started < 15, case
            assert "Details: provider_discovery_failed - " in done.stderr, (case, done.stderr)
            assert "use this link to sign in" not in done.stderr, case
