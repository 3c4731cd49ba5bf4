"""The browser on another machine than ``loginkit login`` (SSH, VM, container): real Chromium
signs in on oidc-provider, its redirect to the loopback callback finds nothing listening, and the
person pastes that address into the terminal where the sign-in waits.

"Another machine" is Chromium resolving ``localhost`` to 127.0.0.2 (``--host-resolver-rules``):
the loopback server listens on 127.0.0.1 and [::1] only, so the redirect is refused, as it is on
a laptop whose own port 1455 is closed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser
from support.browser import complete_login, launch_browser
from support.provider import Provider
from support.tty_cli import tty_login


@pytest.fixture(scope="module")
def remote_browser() -> Iterator[Browser]:
    with launch_browser("--host-resolver-rules=MAP localhost 127.0.0.2") as browser:
        yield browser


def test_pasting_the_address_a_remote_browser_ended_on_signs_in(
    provider: Provider, remote_browser: Browser, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    with tty_login(home, provider.issuer) as cli:
        result = complete_login(remote_browser, cli.link)
        callback = next(u for u in result.visited if "/auth/callback?" in u)
        assert callback.startswith(f"http://localhost:{cli.port}/auth/callback?code="), callback
        assert result.final_url.startswith("chrome-error:"), "the browser reached nothing"
        assert cli.proc.poll() is None, "the sign-in is still waiting"
        cli.paste(callback)
        cli.proc.wait(timeout=60)
        err = cli.head + cli.rest()
    assert cli.proc.returncode == 0, err
    assert err.endswith("Signed in. You're good to go.\n")
    auth = json.loads((home / "auth.json").read_text())
    assert auth["auth_mode"] == "chatgpt" and auth["tokens"]["account_id"]
    code = callback.split("code=")[1].split("&")[0]
    log = (home / "log" / "codex-login.log").read_text()
    assert code not in log and cli.state not in log
