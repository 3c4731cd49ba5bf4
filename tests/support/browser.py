"""Drive a real headless Chromium (Debian's /usr/bin/chromium) through Playwright's sync API.

`complete_login` plays the user on oidc-provider's development login and consent pages.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal
from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Request,
    Response,
    Route,
    sync_playwright,
)
from playwright.sync_api import Error as PlaywrightError

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


class BrowserMissingError(RuntimeError):
    """Chromium is not installed where the tests expect it."""


@dataclass(frozen=True)
class LoginResult:
    """The page the browser ended on: its URL, main response status and visible text."""

    final_url: str
    status: int | None
    text: str
    #: Every top-level document URL the tab requested, redirects included, in order (tests scan
    #: logs for the secrets these carry, such as the authorization code).
    visited: tuple[str, ...] = ()


def check_browser_installed() -> None:
    if not os.access(CHROMIUM, os.X_OK):
        raise BrowserMissingError(
            f"{CHROMIUM} is missing: run `apt-get install -y chromium` "
            "(never `playwright install`: it downloads a browser build, which fails here)"
        )


@contextmanager
def launch_browser(*extra_args: str) -> Iterator[Browser]:
    """One headless Chromium for as long as the block runs (each login gets its own context);
    ``extra_args`` are more Chromium switches, e.g. ``--host-resolver-rules=...``."""
    check_browser_installed()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=[*CHROMIUM_ARGS, *extra_args]
        )
        try:
            yield browser
        finally:
            browser.close()


def _only_loopback(route: Route) -> None:
    # No network here: the dev pages @import Google Fonts, which would stall the page load.
    if urlsplit(route.request.url).hostname in LOOPBACK_HOSTS:
        route.continue_()
    else:
        route.abort()


def _new_context(
    browser: Browser, timeout_s: float
) -> tuple[BrowserContext, Page, list[Response], list[str]]:
    context = browser.new_context()
    visited: list[str] = []
    context.set_default_timeout(timeout_s * 1000)
    context.set_default_navigation_timeout(timeout_s * 1000)
    context.route("**/*", _only_loopback)
    page = context.new_page()
    documents: list[Response] = []

    def remember(response: Response) -> None:
        if response.request.resource_type == "document" and response.frame == page.main_frame:
            documents.append(response)

    def record(request: Request) -> None:
        if request.resource_type == "document" and request.frame == page.main_frame:
            visited.append(request.url)

    page.on("response", remember)
    page.on("request", record)
    return context, page, documents, visited


def _result(page: Page, documents: list[Response], visited: list[str]) -> LoginResult:
    url = page.url
    status = next((r.status for r in reversed(documents) if r.url == url), None)
    try:
        text = page.inner_text("body", timeout=5000)
    except PlaywrightError:
        text = ""
    return LoginResult(final_url=url, status=status, text=text, visited=tuple(visited))


def complete_login(
    browser: Browser,
    auth_url: str,
    *,
    login: str = "alice",
    password: str = "pw",
    action: Literal["approve", "deny"] = "approve",
    timeout_s: float = 30,
) -> LoginResult:
    """Sign in on the provider's dev pages and approve (or cancel) the consent. ``auth_url`` is
    the authorize URL or the one-shot ``/start/<token>`` address a launched browser gets.

    Returns once the browser has fully loaded the page it ends on at the redirect URI's host
    (the client's callback, or whatever that redirects to), so the client's server never sees
    the tab close mid-response.
    """
    redirect_uri = parse_qs(urlsplit(auth_url).query).get("redirect_uri", [""])[0]
    redirect_netloc = urlsplit(redirect_uri).netloc
    if urlsplit(auth_url).path.startswith("/start/"):
        # loginkit's one-shot launch address: the callback server itself, which sends the
        # browser on to the authorize URL.
        redirect_netloc = urlsplit(auth_url).netloc
    if not redirect_netloc:
        raise ValueError(f"auth_url has no absolute redirect_uri: {auth_url}")

    def at_client(url: str) -> bool:
        # Also stop on Chromium's own error page (e.g. the loopback server is gone).
        return urlsplit(url).netloc == redirect_netloc or url.startswith("chrome-error:")

    context, page, documents, visited = _new_context(browser, timeout_s)
    try:
        try:
            page.goto(auth_url, wait_until="load")
        except PlaywrightError:
            if not at_client(page.url):
                raise
        if not at_client(page.url):
            if not page.locator('input[name="login"]').count():
                raise AssertionError(
                    f"no login form at {page.url}: {_result(page, documents, visited).text[:2000]}"
                )
            # oidc-provider's dev login form: any login name and password are accepted.
            page.fill('input[name="login"]', login)
            page.fill('input[name="password"]', password)
            # The POST answers with redirects to the consent page (or straight to the client).
            with page.expect_navigation(wait_until="load"):
                page.click('button[type="submit"]')
        if not at_client(page.url):
            if page.locator('input[name="prompt"][value="login"]').count():
                raise AssertionError(
                    f"login was refused: {_result(page, documents, visited).text[:2000]}"
                )
            if action == "deny":
                page.click('a:has-text("Cancel")')  # abort -> error=access_denied at the client
            else:
                page.click('button[type="submit"]')
        page.wait_for_url(at_client, wait_until="load")
        page.wait_for_load_state("load")
        return _result(page, documents, visited)
    finally:
        context.close()


def open_url(browser: Browser, url: str, *, timeout_s: float = 30) -> LoginResult:
    """Load one URL in a fresh context and report where it ended."""
    context, page, documents, visited = _new_context(browser, timeout_s)
    try:
        try:
            page.goto(url, wait_until="load")
        except PlaywrightError:
            pass  # e.g. connection refused: the result shows Chromium's error page
        return _result(page, documents, visited)
    finally:
        context.close()


def complete_device_login(
    browser: Browser,
    verification_url: str,
    user_code: str,
    *,
    login: str = "alice",
    password: str = "pw",
    action: Literal["approve", "deny"] = "approve",
    timeout_s: float = 30,
) -> LoginResult:
    """Approve (or abort) a device code on the provider's verification page.

    Steps, as oidc-provider shows them: enter the user code, confirm the device, sign in,
    consent; ends on the "Sign-in Success" page (or the input page saying the request was
    interrupted, for `deny`).
    """
    context, page, documents, visited = _new_context(browser, timeout_s)

    def submit(selector: str) -> None:
        with page.expect_navigation(wait_until="load"):
            page.click(selector)

    try:
        page.goto(verification_url, wait_until="load")
        code_entered = False
        for _ in range(6):
            if page.locator('form#op\\.deviceInputForm input[name="user_code"]').count():
                if code_entered:
                    break  # shown again: wrong code, or the request was aborted
                page.fill('input[name="user_code"]', user_code)
                code_entered = True
                submit('button[form="op.deviceInputForm"]')
            elif page.locator("form#op\\.deviceConfirmForm").count():
                submit(
                    'button[name="abort"]'
                    if action == "deny"
                    else 'button[autofocus][type="submit"]'
                )
            elif page.locator('input[name="prompt"][value="login"]').count():
                page.fill('input[name="login"]', login)
                page.fill('input[name="password"]', password)
                submit('button[type="submit"]')
            elif page.locator('input[name="prompt"][value="consent"]').count():
                submit('a:has-text("Cancel")' if action == "deny" else 'button[type="submit"]')
            else:
                break
        page.wait_for_load_state("load")
        return _result(page, documents, visited)
    finally:
        context.close()
