"""``loginkit login`` end to end: the real CLI, a real oidc-provider, real headless Chromium.

Each test runs the command as a person would (``--no-browser``; Chromium opens the printed link),
then checks what the person saw, what the browser showed, what was saved, and that no secret seen
anywhere in the run reached the login log or the output.
"""

from __future__ import annotations

import json
import stat
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Browser
from support.browser import complete_login, open_url
from support.cli_runner import Cli, cli
from support.net import free_port
from support.provider import Provider, start_provider


def args(provider: Provider, *extra: str) -> tuple[str, ...]:
    return ("--issuer", provider.issuer, "--port", "0", "--no-browser", *extra)


def secrets_of_run(run: Cli, home: Path, visited: tuple[str, ...]) -> list[str]:
    """Every secret value this run handled that a test can see from outside."""
    values = [run.state]
    for url in visited:
        query = parse_qs(urlsplit(url).query)
        values += query.get("code", []) + query.get("id_token", [])
    auth_file = home / "auth.json"
    if auth_file.exists():
        auth = json.loads(auth_file.read_text())
        if auth.get("OPENAI_API_KEY"):
            values.append(auth["OPENAI_API_KEY"])
        for name in ("id_token", "access_token", "refresh_token"):
            values.append((auth.get("tokens") or {}).get(name, ""))
    return [v for v in values if v]


def assert_no_secret_leaked(
    run: Cli, home: Path, visited: tuple[str, ...], out: str, err: str
) -> None:
    secrets = secrets_of_run(run, home, visited)
    assert secrets, "the state at least is a secret of every run"
    log = (home / "log" / "codex-login.log").read_text()
    # The link is the one place the state may appear: the person has to open it.
    shown = err.replace(run.url, "<the sign-in link>")
    for secret in secrets:
        assert secret not in log, "a secret reached the login log"
        assert secret not in out, "a secret reached stdout"
        assert secret not in shown, "a secret reached stderr"
    assert run.url not in log


def test_browser_sign_in_writes_codex_auth_json(
    provider: Provider, browser: Browser, home: Path
) -> None:
    with cli(home, *args(provider)) as run:
        result = complete_login(browser, run.url, login="alice")
        code, out, err = run.finish()
    assert code == 0, err
    assert urlsplit(result.final_url).path == "/success"
    assert "Signed in to Codex" in result.text
    assert err.endswith(
        "Browser sign-in received. Finishing up...\nSaving your Codex credentials...\nSigned in. You're good to go.\n"
    )
    auth = json.loads((home / "auth.json").read_text())
    assert auth["auth_mode"] == "chatgpt"
    assert auth["OPENAI_API_KEY"].startswith("sk-proj-test-")
    assert auth["tokens"]["account_id"] == "org-alice"
    assert all(auth["tokens"][k].count(".") == 2 for k in ("id_token", "access_token"))
    assert stat.S_IMODE((home / "auth.json").stat().st_mode) == 0o600
    callback = next(u for u in result.visited if "/auth/callback" in u)
    assert parse_qs(urlsplit(callback).query)["iss"] == [provider.issuer]
    assert_no_secret_leaked(run, home, result.visited, out, err)


def test_provider_access_denied(provider: Provider, browser: Browser, home: Path) -> None:
    with cli(home, *args(provider)) as run:
        result = complete_login(browser, run.url, action="deny")
        code, out, err = run.finish()
    assert code == 1
    assert "Sign-in could not be completed" in result.text
    assert "access_denied" in result.text
    assert "The sign-in page reported a problem" in err
    assert "Details: provider_callback_error - Sign-in failed: " in err
    assert "Error logging in" not in err, "the block already said it"
    assert not (home / "auth.json").exists()
    assert_no_secret_leaked(run, home, result.visited, out, err)


def test_state_mismatch_then_the_real_callback(
    provider: Provider, browser: Browser, home: Path
) -> None:
    with cli(home, *args(provider)) as run:
        forged = open_url(
            browser, f"http://localhost:{run.port}/auth/callback?code=forged&state=old-tab"
        )
        assert (forged.status, forged.text) == (400, "State mismatch")
        result = complete_login(browser, run.url)
        code, out, err = run.finish()
    assert code == 0, err
    assert "Couldn't verify this sign-in attempt" in err
    assert err.endswith("Signed in. You're good to go.\n")
    assert "Signed in to Codex" in result.text
    assert_no_secret_leaked(run, home, result.visited, out, err)


def test_token_endpoint_failure(provider: Provider, browser: Browser, home: Path) -> None:
    old = '{\n  "auth_mode": "apikey",\n  "OPENAI_API_KEY": "sk-keep-me"\n}'
    (home / "auth.json").write_text(old)
    provider.set_fault(
        "status",
        status=503,
        body='{"error":"temporarily_unavailable","error_description":"maintenance"}',
        content_type="application/json",
        grant_type="authorization_code",
    )
    try:
        with cli(home, *args(provider)) as run:
            result = complete_login(browser, run.url)
            code, out, err = run.finish()
    finally:
        provider.clear_fault()
    assert code == 1
    assert "Token exchange failed" in result.text
    assert "token_exchange_failed" in result.text
    assert "The auth server rejected the sign-in" in err
    assert (
        f"Details: token_endpoint_rejected - token endpoint returned status 503 Service Unavailable"
        f" from {provider.issuer}/oauth/token: maintenance" in err
    )
    assert (home / "auth.json").read_text() == old, "a failed login never damages credentials"
    assert_no_secret_leaked(run, home, result.visited, out, err)


def test_workspace_restriction(provider: Provider, browser: Browser, home: Path) -> None:
    with cli(home, *args(provider, "--workspace-id", "org-required")) as run:
        assert "allowed_workspace_id=org-required" in run.url
        result = complete_login(browser, run.url, login="alice")
        code, out, err = run.finish()
    assert code == 1
    assert "Login is restricted to workspace id org-required." in result.text
    assert (
        "Details: workspace_restriction - Login is restricted to workspace id org-required." in err
    )
    assert not (home / "auth.json").exists()
    assert_no_secret_leaked(run, home, result.visited, out, err)


def test_workspace_member_is_allowed(provider: Provider, browser: Browser, home: Path) -> None:
    with cli(home, *args(provider, "--workspace-id", "org-bob")) as run:
        complete_login(browser, run.url, login="bob")
        code, _, err = run.finish()
    assert code == 0, err
    assert json.loads((home / "auth.json").read_text())["tokens"]["account_id"] == "org-bob"


def test_second_login_takes_over_the_port(provider: Provider, browser: Browser, home: Path) -> None:
    port = str(free_port())
    fixed = ("--issuer", provider.issuer, "--port", port, "--no-browser")
    with cli(home, *fixed) as first, cli(home, *fixed) as second:
        code1, _, err1 = first.finish()
        assert code1 == 1
        assert err1.endswith("Error logging in: Login cancelled\n")
        assert "Cleaning up an old login session first...\n" in "".join(second.head)
        assert second.port == int(port)
        result = complete_login(browser, second.url)
        code2, _, err2 = second.finish()
    assert code2 == 0, err2
    assert "Signed in to Codex" in result.text


def test_generic_oidc_client_uses_its_own_words(
    provider: Provider, browser: Browser, home: Path
) -> None:
    with cli(home, *args(provider, "--client-id", "generic-cli")) as run:
        query = parse_qs(urlsplit(run.url).query)
        assert query["scope"] == ["openid profile email offline_access"]
        assert "originator" not in query
        result = complete_login(browser, run.url)
        code, _, err = run.finish()
    assert code == 0, err
    assert "Saving your loginkit credentials..." in err
    assert "Codex" not in err and "codex" not in err
    assert "Signed in to loginkit" in result.text
    auth = json.loads((home / "auth.json").read_text())
    assert auth["OPENAI_API_KEY"] is None, "no Codex API-key exchange for other clients"


def test_a_provider_that_keeps_its_keys_elsewhere(browser: Browser, home: Path) -> None:
    """Codex's client against a provider whose signing keys are not at auth.openai.com's path
    (oidc-provider's default, /jwks): discovery finds them and the id_token is verified."""
    with start_provider(extra_args=["--jwks-path", "/jwks"]) as elsewhere:
        with pytest.raises(urllib.error.HTTPError) as probe:
            urllib.request.urlopen(f"{elsewhere.issuer}/.well-known/jwks.json", timeout=10)
        assert probe.value.code == 404, "nothing at auth.openai.com's path"
        with cli(home, *args(elsewhere)) as run:
            complete_login(browser, run.url)
            code, _, err = run.finish()
    assert code == 0, err
    assert err.endswith("Signed in. You're good to go.\n")
    log = (home / "log" / "codex-login.log").read_text()
    assert "id_token verification failed" not in log


def test_opens_the_browser_when_the_handler_is_ready(
    provider: Provider, home: Path, tmp_path: Path
) -> None:
    """Without --no-browser: the system browser ($BROWSER) gets the link and completes sign-in."""
    tests_dir = Path(__file__).resolve().parents[1]
    browser_log = tmp_path / "browser.jsonl"
    env = {
        "BROWSER": f"{sys.executable} -m support.fake_browser %s",
        "PYTHONPATH": str(tests_dir),
        "LOGINKIT_TEST_BROWSER_LOG": str(browser_log),
    }
    with cli(home, "--issuer", provider.issuer, "--port", "0", env=env) as run:
        code, _, err = run.finish(timeout=60)
    assert code == 0, err
    lines = err.splitlines()
    assert lines.index("Opening your browser to sign in...") > lines.index(run.url), (
        "the link is out before the browser is launched (spec 16.5)"
    )
    assert err.endswith("Signed in. You're good to go.\n")
    deadline = time.monotonic() + 30  # the browser process reports after it has closed
    while not browser_log.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    [record] = [json.loads(line) for line in browser_log.read_text().splitlines()]
    assert "Signed in to Codex" in record["text"]
