"""Refresh against the real provider (rotating refresh tokens; reuse revokes the grant).

The stampede test is the one the issue asks for: 20 real ``loginkit token`` processes start at
once on an expired access token; the provider must see exactly one refresh request and every
process must print the same new token.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser
from support.browser import complete_login
from support.cli_runner import cli, loginkit_command, start
from support.provider import Provider, start_provider

from loginkit.store._refresh import OTHER


def b64url(data: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def expired_jwt() -> str:
    payload = {
        "exp": int(time.time()) - 30,
        "https://api.openai.com/auth": {"chatgpt_plan_type": "plus"},
    }
    return f"{b64url(b'{}')}.{b64url(json.dumps(payload).encode())}.{b64url(b'sig')}"


@pytest.fixture(scope="module")
def refresh_provider() -> Iterator[Provider]:
    with start_provider() as running:
        yield running


@pytest.fixture
def signed_in(refresh_provider: Provider, browser: Browser, tmp_path: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    with cli(home, "--issuer", refresh_provider.issuer, "--port", "0", "--no-browser") as run:
        complete_login(browser, run.url)
        code, _, err = run.finish()
    assert code == 0, err
    return home


def expire_access_token(home: Path, **token_overrides: str) -> dict[str, Any]:
    path = home / "auth.json"
    auth: dict[str, Any] = json.loads(path.read_text())
    auth["tokens"]["access_token"] = expired_jwt()
    auth["tokens"].update(token_overrides)
    path.write_text(json.dumps(auth, indent=2))
    return auth


def token_processes(home: Path, count: int) -> list[subprocess.CompletedProcess[str]]:
    # All started before any is waited for: they must overlap.
    procs = [start(loginkit_command("token", home=home)) for _ in range(count)]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        results.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    return results


def test_twenty_processes_refresh_once(refresh_provider: Provider, signed_in: Path) -> None:
    before = expire_access_token(signed_in)
    refresh_provider.reset_stats()
    results = token_processes(signed_in, 20)
    assert [r.returncode for r in results] == [0] * 20, [r.stderr for r in results if r.returncode]
    tokens = {r.stdout for r in results}
    assert len(tokens) == 1, "every process printed the same token"
    [token] = tokens
    assert token.endswith("\n") and token.count(".") == 2
    assert all(r.stderr == "" for r in results), "nothing but the token is printed"
    stats = refresh_provider.stats()
    assert stats["refresh_requests"] == 1
    assert stats["refresh_errors"] == 0
    after = json.loads((signed_in / "auth.json").read_text())
    assert after["tokens"]["access_token"] == token.strip()
    assert after["tokens"]["refresh_token"] != before["tokens"]["refresh_token"], "rotated"
    assert after["last_refresh"] != before["last_refresh"]
    # A valid token is served from disk: no further request.
    assert token_processes(signed_in, 1)[0].stdout == token
    assert refresh_provider.stats()["refresh_requests"] == 1
    log = (signed_in / "log" / "codex-login.log").read_text()
    assert log.count("access token refreshed") == 1
    assert token.strip() not in log


def test_permanent_failure_is_reported_once_never_stormed(
    refresh_provider: Provider, signed_in: Path
) -> None:
    expire_access_token(signed_in, refresh_token="not-a-refresh-token-the-provider-issued")
    refresh_provider.reset_stats()
    results = token_processes(signed_in, 10) + token_processes(signed_in, 3)
    assert all(r.returncode == 1 and r.stdout == "" for r in results)
    assert {r.stderr for r in results} == {f"Error: {OTHER}\n"}
    assert refresh_provider.stats()["refresh_requests"] == 1, (
        "one request, then the remembered answer"
    )


def test_transient_failure_is_retried_next_time(
    refresh_provider: Provider, signed_in: Path
) -> None:
    expire_access_token(signed_in)
    refresh_provider.reset_stats()
    refresh_provider.set_fault(
        "status",
        status=503,
        body="upstream down",
        content_type="text/plain",
        grant_type="refresh_token",
    )
    try:
        [first] = token_processes(signed_in, 1)
    finally:
        refresh_provider.clear_fault()
    assert first.returncode == 1
    assert first.stderr == "Error: Failed to refresh token: 503: upstream down\n"
    [second] = token_processes(signed_in, 1)
    assert second.returncode == 0, second.stderr
    assert refresh_provider.stats()["refresh_requests"] == 2


def test_library_get_access_token(refresh_provider: Provider, signed_in: Path) -> None:
    from loginkit.store._credentials import get_access_token, login_status

    expire_access_token(signed_in)
    token = get_access_token(signed_in)
    assert token == get_access_token(signed_in)
    status = login_status(signed_in)
    assert status.mode == "chatgpt" and status.email == "alice@example.com"
    assert (
        status.access_token_expires_at is not None and status.access_token_expires_at > time.time()
    )


def test_generic_client_refreshes_with_a_form_body(
    refresh_provider: Provider, browser: Browser, tmp_path: Path
) -> None:
    home = tmp_path / "generic"
    home.mkdir()
    args = (
        "--issuer",
        refresh_provider.issuer,
        "--client-id",
        "generic-cli",
        "--port",
        "0",
        "--no-browser",
    )
    with cli(home, *args) as run:
        complete_login(browser, run.url)
        assert run.finish()[0] == 0
    expire_access_token(home)
    refresh_provider.reset_stats()
    [done] = token_processes(home, 1)
    assert done.returncode == 0, done.stderr
    assert refresh_provider.stats()["refresh_requests"] == 1
    assert (
        json.loads((home / "auth.json").read_text())["tokens"]["access_token"]
        == done.stdout.strip()
    )
