"""The standard (RFC 8628) device flow of a generic profile against both real providers: the
npm oidc-provider (with an id_token, and without one: its device grant sends an id_token only
for the ``openid`` scope) and the strict django-oauth-toolkit; Chromium approves the code on the
provider's own pages. The record each leaves is one ``login status`` and ``token`` handle."""

from __future__ import annotations

import dataclasses
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser
from support.browser import complete_device_login
from support.cli_runner import loginkit_command, run_loginkit, spawn
from support.provider import Provider
from support.provider2 import Provider2, approve_device, start_provider2

from loginkit.core._limits import Timeouts
from loginkit.core._profiles import generic_profile
from loginkit.signin._device import (
    DeviceLoginOptions,
    complete_device_code_login,
    request_device_code,
)

GENERIC = "generic-cli"  # oidc-provider's generic client (tests/provider/server.mjs)
WORDS = re.compile(r"codex|chatgpt|openai", re.I)


def our_words(text: str) -> str:
    """``text`` without the provider's own URLs (the test provider serves /codex/device)."""
    return re.sub(r"https?://\S+", "<URL>", text)


@pytest.fixture(scope="module")
def provider2() -> Iterator[Provider2]:
    with start_provider2() as running:
        yield running


def prompt(head: str) -> tuple[str, str, str | None, str]:
    """(link, user code, link with the code or None, expiry words) from the device prompt."""
    link = re.search(r"sign in to your account\n   (\S+)\n", head)
    code = re.search(r"one-time code \(expires in ([^)]+)\)\n   (\S+)\n", head)
    complete = re.search(r"fills in the code for you:\n   (\S+)\n", head)
    assert link and code, head
    return link.group(1), code.group(2), complete.group(1) if complete else None, code.group(1)


def device_login(home: Path, issuer: str, client_id: str) -> list[str]:
    return loginkit_command(
        "login",
        "--device-auth",
        "--issuer",
        issuer,
        "--client-id",
        client_id,
        "--codex-home",
        str(home),
    )


def status_and_token(home: Path) -> tuple[str, str]:
    status = run_loginkit("login", "status", "--codex-home", str(home))
    assert status.returncode == 0, status.stderr
    token = run_loginkit("token", "--codex-home", str(home))
    assert token.returncode == 0, token.stderr
    return status.stderr, token.stdout.strip()


def test_oidc_provider_device_sign_in_with_an_id_token(
    provider: Provider, browser: Browser, home: Path
) -> None:
    with spawn(device_login(home, provider.issuer, GENERIC), until="Never share this code.") as run:
        head = "".join(run.head)
        link, user_code, complete, expiry = prompt(head)
        assert complete is not None and user_code.replace("-", "") in complete.replace("-", "")
        assert expiry == "15 minutes", "oidc-provider's DeviceCode TTL is 900 s"
        result = complete_device_login(browser, link, user_code, login="erin")
        code, out, err = run.finish(60)
    assert code == 0, err
    assert out == ""
    assert "▀" not in head, "no QR code in a pipe"
    assert not WORDS.search(our_words(head + err)), head + err
    saved = json.loads((home / "auth.json").read_text())
    assert saved["tokens"]["id_token"].count(".") == 2, "the id_token was kept (and verified)"
    assert "identity" not in saved
    shown, token = status_and_token(home)
    assert token == saved["tokens"]["access_token"]
    assert "Account: erin@example.com" in shown, "from the verified id_token"
    assert result.status == 200


def test_oidc_provider_device_sign_in_without_an_id_token(
    provider: Provider, browser: Browser, home: Path
) -> None:
    """No ``openid`` scope: oidc-provider's device grant answers without an id_token. The
    library is driven directly because the CLI has no scope option on this branch."""
    profile = dataclasses.replace(generic_profile(provider.issuer, GENERIC), scope="offline_access")
    opts = DeviceLoginOptions(
        codex_home=home,
        issuer=provider.issuer,
        client_id=GENERIC,
        profile=profile,
        timeouts=Timeouts.uniform(10),
    )
    code = request_device_code(opts)
    assert code.verification_url_complete
    complete_device_login(browser, code.verification_url, code.user_code, login="erin")
    complete_device_code_login(code, opts)
    saved = json.loads((home / "auth.json").read_text())
    assert saved["tokens"]["id_token"] == ""
    assert saved["tokens"]["refresh_token"]
    assert saved["loginkit"]["issuer"] == provider.issuer
    assert saved["loginkit"]["client_id"] == GENERIC
    # The test provider answers userinfo for its JWT access tokens whatever their scope.
    assert saved["loginkit"]["identity"] == {"sub": "erin", "email": "erin@example.com"}
    shown, token = status_and_token(home)
    assert token == saved["tokens"]["access_token"]
    assert "Account: erin@example.com" in shown


def test_strict_provider_device_sign_in(provider2: Provider2, browser: Browser, home: Path) -> None:
    issuer = provider2.issuer
    with spawn(
        device_login(home, issuer, provider2.device_client_id), until="Never share this code."
    ) as run:
        head = "".join(run.head)
        link, user_code, _, expiry = prompt(head)
        assert link == f"{issuer}/device/"
        # django-oauth-toolkit says expires_in 1800: the prompt said "15 minutes" before.
        assert expiry == "30 minutes"
        result = approve_device(browser, provider2, link, user_code, user="alice")
        assert "Authorized" in result.text, result
        code, out, err = run.finish(60)
    assert code == 0, err
    assert out == ""
    assert not WORDS.search(our_words(head + err)), head + err
    saved = json.loads((home / "auth.json").read_text())
    tokens = saved["tokens"]
    assert tokens["access_token"].count(".") != 2, "provider2's access tokens are opaque"
    # django-oauth-toolkit 3.4.1's device grant sends no id_token, even for the openid scope:
    # who signed in comes from its userinfo endpoint (only `sub`, alice's user id).
    assert tokens["id_token"] == ""
    assert saved["loginkit"]["issuer"] == issuer
    assert saved["loginkit"]["client_id"] == provider2.device_client_id
    assert saved["loginkit"]["identity"] == {"sub": "1"}
    shown, token = status_and_token(home)
    assert token == tokens["access_token"]
    assert "Account: subject 1" in shown
    # Its opaque token, expired (the record keeps its expiry from expires_in): `token` refreshes
    # at this provider (discovery, its token endpoint, this client id), which rotates the
    # refresh token.
    saved["loginkit"]["access_token_expires_at"] = int(time.time()) - 5
    (home / "auth.json").write_text(json.dumps(saved))
    fresh = run_loginkit("token", "--codex-home", str(home))
    assert fresh.returncode == 0, fresh.stderr
    after = json.loads((home / "auth.json").read_text())
    assert fresh.stdout.strip() == after["tokens"]["access_token"] != tokens["access_token"]
    assert after["tokens"]["refresh_token"] != tokens["refresh_token"], "rotated"
    assert after["loginkit"]["issuer"] == issuer
