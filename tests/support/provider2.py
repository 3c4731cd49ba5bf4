"""Run tests/provider2/server.py (django-oauth-toolkit, configured strictly) for a test, and
play the person on its own login, consent and device pages in Chromium.

The second, independent OpenID provider of the end-to-end tests (the first is oidc-provider,
support/provider.py). What it enforces and why it was chosen: tests/provider2/settings.py and
tests/e2e/test_provider2_smoke.py.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from playwright.sync_api import Browser
from playwright.sync_api import Error as PlaywrightError

from support.browser import LoginResult, _new_context, _result
from support.provider import ProviderError, started_server

REPO_ROOT = Path(__file__).resolve().parents[2]
PROVIDER2_DIR = REPO_ROOT / "tests" / "provider2"
SERVER_PY = PROVIDER2_DIR / "server.py"


def check_provider2_installed() -> None:
    """Fail clearly when django-oauth-toolkit is missing (it is a dev dependency: `uv sync`)."""
    if importlib.util.find_spec("oauth2_provider") is None:
        raise ProviderError(
            "django-oauth-toolkit is not installed: run `./dev setup` (or `uv sync`) in the "
            "repository root"
        )


@dataclass
class Provider2:
    """A running django-oauth-toolkit. `issuer` is http://127.0.0.1:PORT/o, no trailing slash.

    Endpoint URLs come from its discovery document (fetched once at start), as a client would
    find them; they end in a slash, as the library routes them.
    """

    issuer: str
    port: int
    code_client_id: str
    device_client_id: str
    users: dict[str, str]
    discovery: dict[str, Any]
    process: subprocess.Popen[bytes] = field(repr=False)

    @property
    def authorization_endpoint(self) -> str:
        return str(self.discovery["authorization_endpoint"])

    @property
    def token_endpoint(self) -> str:
        return str(self.discovery["token_endpoint"])

    @property
    def revocation_endpoint(self) -> str:
        return str(self.discovery["revocation_endpoint"])

    @property
    def device_authorization_endpoint(self) -> str:
        return str(self.discovery["device_authorization_endpoint"])

    @property
    def userinfo_endpoint(self) -> str:
        return str(self.discovery["userinfo_endpoint"])


def _discovery(issuer: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{issuer}/.well-known/openid-configuration", timeout=10) as r:
        result: dict[str, Any] = json.loads(r.read())
    return result


@contextmanager
def start_provider2() -> Iterator[Provider2]:
    """Start `python tests/provider2/server.py --port 0` (under a second) and stop it on exit.

    Each start is a fresh database: nothing one provider saw leaks into another. Its stderr goes
    to a temporary file and is shown if it fails to start.
    """
    check_provider2_installed()
    command = [sys.executable, str(SERVER_PY), "--port", "0"]
    with started_server(command, cwd=PROVIDER2_DIR, name="provider2") as (process, ready):
        yield Provider2(
            issuer=ready["issuer"],
            port=int(ready["port"]),
            code_client_id=ready["code_client_id"],
            device_client_id=ready["device_client_id"],
            users=dict(ready["users"]),
            discovery=_discovery(ready["issuer"]),
            process=process,
        )


def _sign_in_if_asked(page: Any, provider: Provider2, user: str) -> None:
    """Django's login page (any URL of the provider may send the person there first)."""
    if page.locator('input[name="username"]').count():
        page.fill('input[name="username"]', user)
        page.fill('input[name="password"]', provider.users[user])
        with page.expect_navigation(wait_until="load"):
            page.click('button[type="submit"]')
        if page.locator('input[name="username"]').count():
            raise AssertionError(f"provider2 refused the login of {user!r}")


def login_and_consent(
    browser: Browser,
    provider: Provider2,
    auth_url: str,
    *,
    user: str = "alice",
    action: Literal["approve", "deny"] = "approve",
    timeout_s: float = 30,
) -> LoginResult:
    """Open `auth_url`, sign in on the provider's login page, then approve (or cancel) on its
    consent page.

    Returns the page the browser ends on: the client's callback once the redirect URI was
    accepted, or the provider's own error page when it refused the request before redirecting
    (a test then sees `final_url` still on the provider, with the error in `text`). A redirect
    to a port where nothing listens ends on Chromium's error page; `visited` still holds the
    redirect's URL.
    """
    provider_netloc = urlsplit(provider.issuer).netloc

    def away(url: str) -> bool:
        return urlsplit(url).netloc != provider_netloc

    context, page, documents, visited = _new_context(browser, timeout_s)
    try:
        try:
            page.goto(auth_url, wait_until="load")
            _sign_in_if_asked(page, provider, user)
            if not away(page.url) and page.locator("form#authorizationForm").count():
                button = 'input[name="allow"]' if action == "approve" else 'input[value="Cancel"]'
                page.click(button)
                page.wait_for_url(away, wait_until="load")
        except PlaywrightError:
            if not away(page.url):
                raise
        page.wait_for_load_state("load")
        return _result(page, documents, visited)
    finally:
        context.close()


def approve_device(
    browser: Browser,
    provider: Provider2,
    verification_uri: str,
    user_code: str,
    *,
    user: str = "alice",
    action: Literal["accept", "deny"] = "accept",
    timeout_s: float = 30,
) -> LoginResult:
    """Enter `user_code` on the provider's device page (signing in first), then accept or deny.

    Ends on the provider's status page ("Device Authorized" / "Device Denied"), or on the code
    page again with the form's error when the code was refused.
    """
    context, page, documents, visited = _new_context(browser, timeout_s)
    try:
        page.goto(verification_uri, wait_until="load")
        _sign_in_if_asked(page, provider, user)
        page.fill('input[name="user_code"]', user_code)
        with page.expect_navigation(wait_until="load"):
            page.click('button[type="submit"]')
        if page.locator('button[name="action"]').count():
            with page.expect_navigation(wait_until="load"):
                page.click(f'button[name="action"][value="{action}"]')
        return _result(page, documents, visited)
    finally:
        context.close()
