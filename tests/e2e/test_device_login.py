"""``loginkit login --device-auth`` end to end: the provider's Codex device endpoints, Chromium
typing the code on the verification page, and the fallback to the browser flow."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser
from support.browser import complete_device_login, complete_login
from support.cli_runner import Cli, loginkit_command, spawn
from support.provider import Provider


@dataclass
class DeviceCli:
    run: Cli

    @property
    def head(self) -> str:
        return "".join(self.run.head)

    def code(self) -> tuple[str, str]:
        url = re.search(r"^   (http\S+/codex/device)$", self.head, re.M)
        code = re.search(r"^   ([A-Z0-9-]{4,})$", self.head, re.M)
        assert url and code, self.head
        return url.group(1), code.group(1)

    def finish(self, timeout: float = 60) -> tuple[int, str, str]:
        return self.run.finish(timeout)


@contextmanager
def device_cli(
    home: Path,
    issuer: str,
    *extra: str,
    mode: str = "always",
    until: str = "Never share this code.",
) -> Iterator[DeviceCli]:
    cmd = loginkit_command(
        "login", f"--device-auth={mode}", *extra, "--issuer", issuer, "--codex-home", str(home)
    )
    with spawn(cmd, until=until) as run:
        yield DeviceCli(run)


def test_device_code_sign_in(provider: Provider, browser: Browser, home: Path) -> None:
    with device_cli(home, provider.issuer) as run:
        url, user_code = run.code()
        assert url == f"{provider.issuer}/codex/device"
        assert "\x1b[" not in run.head, "no colour codes when stderr is not a terminal"
        assert "Device codes are a common phishing target. Never share this code." in run.head
        complete_device_login(browser, url, user_code, login="carol")
        code, out, err = run.finish()
    assert code == 0, err
    assert out == ""
    assert "Waiting for you to approve the code in your browser..." in err
    assert err.endswith("Saving your Codex credentials...\nSigned in. You're good to go.\n")
    auth = json.loads((home / "auth.json").read_text())
    assert auth["auth_mode"] == "chatgpt"
    assert auth["OPENAI_API_KEY"] is None, "the device flow never exchanges an API key"
    assert auth["tokens"]["account_id"] == "org-carol"
    log = (home / "log" / "codex-login.log").read_text()
    assert "starting device code login flow" in log and "device code login completed" in log
    for secret in (
        auth["tokens"]["refresh_token"],
        auth["tokens"]["access_token"],
        auth["tokens"]["id_token"],
    ):
        assert secret not in log and secret not in err


def test_denied_device_code(provider: Provider, browser: Browser, home: Path) -> None:
    with device_cli(home, provider.issuer) as run:
        url, user_code = run.code()
        complete_device_login(browser, url, user_code, action="deny")
        code, _, err = run.finish()
    assert code == 1
    assert "The device code wasn't approved" in err
    assert (
        "Details: device_authorization_failed - device auth failed with status 400 Bad Request"
        in err
    )
    assert "Error logging in with device code" not in err, "the block already said it"
    assert not (home / "auth.json").exists()


@pytest.fixture
def no_device_provider(provider: Provider) -> Iterator[Provider]:
    """The session's provider with Codex's device endpoints switched off (404) for one test."""
    with provider.codex_device_disabled():
        yield provider


def test_device_not_enabled_says_how_to_enable_it(no_device_provider: Provider, home: Path) -> None:
    with device_cli(home, no_device_provider.issuer, until="Details:") as run:
        code, _, err = run.finish()
    assert code == 1
    assert "Device code sign-in isn't available" in err
    assert "Enable device code authorization for Codex in ChatGPT Security Settings" in err
    assert (
        "Details: device_code_unavailable - device code login is not enabled for this Codex server."
        in err
    )


def test_device_auto_falls_back_to_the_browser(
    no_device_provider: Provider, browser: Browser, home: Path
) -> None:
    with device_cli(
        home, no_device_provider.issuer, "--port", "0", mode="auto", until="/oauth/authorize?"
    ) as run:
        assert "Device code login is not enabled; falling back to browser login." in run.head
        link = next(line for line in run.head.splitlines() if line.startswith("http"))
        complete_login(browser, link)
        code, _, err = run.finish()
    assert code == 0, err
    assert "Device code sign-in isn't available" not in err
    assert err.endswith("Signed in. You're good to go.\n")
