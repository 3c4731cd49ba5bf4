"""One CODEX_HOME, two programs: what loginkit writes the real Codex CLI reads, and back.

Codex CLI 0.169.0's `login status` says `API key configured - <masked>` (plus a second line) for
an API key, where the seed and loginkit say `Logged in using an API key - <masked>`; the masked
key itself must be the same bytes in both (Codex: up to 13 characters -> `***`, else the first 8,
`***`, the last 5).
"""

from __future__ import annotations

import base64
import json
import stat
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser
from support.browser import complete_login
from support.cli_runner import cli
from support.net import free_port
from support.provider import Provider

from loginkit.store._credentials import get_access_token, login_status

from .codex_cli import codex_env, codex_mask, output_lines, run_codex, run_loginkit, stop

#: Around Codex's masking boundary (13 characters) and a real-looking project key.
KEYS = ["sk-proj-1234567890ABCDE", "sk-1234567890", "sk-12345678901"]


def test_codex_sees_a_loginkit_browser_sign_in(
    codex: Path, home: Path, provider: Provider, browser: Browser
) -> None:
    with cli(home, "--issuer", provider.issuer, "--port", "0", "--no-browser") as run:
        complete_login(browser, run.url)
        code, _, err = run.finish()
    assert code == 0, err
    written = (home / "auth.json").read_bytes()

    status = run_codex(codex, home, "login", "status")

    assert status.returncode == 0, status.stderr
    assert output_lines(status.stderr) == ["Logged in using ChatGPT"]
    assert status.stdout == ""
    assert (home / "auth.json").read_bytes() == written, "reading never rewrites"


@pytest.mark.parametrize("key", KEYS)
def test_codex_sees_a_loginkit_api_key(codex: Path, home: Path, key: str) -> None:
    saved = run_loginkit(home, "login", "--with-api-key", stdin=key + "\n")
    assert saved.returncode == 0, saved.stderr

    theirs = run_codex(codex, home, "login", "status")
    ours = run_loginkit(home, "login", "status")

    assert theirs.returncode == 0, theirs.stderr
    assert output_lines(theirs.stderr) == [
        f"API key configured - {codex_mask(key)}",
        "Authentication is checked when you send a request.",
    ]
    assert ours.returncode == 0, ours.stderr
    assert ours.stderr.splitlines()[0] == f"Logged in using an API key - {codex_mask(key)}"


@pytest.mark.parametrize("key", KEYS)
def test_loginkit_sees_a_codex_api_key(codex: Path, home: Path, key: str) -> None:
    saved = run_codex(codex, home, "login", "--with-api-key", stdin=key + "\n")
    assert saved.returncode == 0, saved.stderr
    theirs = run_codex(codex, home, "login", "status")
    masked = output_lines(theirs.stderr)[0].removeprefix("API key configured - ")
    assert masked == codex_mask(key)

    status = run_loginkit(home, "login", "status")
    token = run_loginkit(home, "token")

    assert status.returncode == 0, status.stderr
    assert status.stderr.splitlines()[0] == f"Logged in using an API key - {masked}"
    assert token.returncode == 0, token.stderr
    assert token.stdout == key + "\n"
    assert get_access_token(home) == key
    assert login_status(home).masked_api_key == masked


@pytest.mark.parametrize("key", KEYS[:1])
def test_both_write_the_same_api_key_file(codex: Path, tmp_path: Path, key: str) -> None:
    """Byte for byte and mode for mode, so neither program can tell who wrote it."""
    theirs, ours = tmp_path / "codex", tmp_path / "loginkit"
    assert run_codex(codex, theirs, "login", "--with-api-key", stdin=key + "\n").returncode == 0
    assert run_loginkit(ours, "login", "--with-api-key", stdin=key + "\n").returncode == 0

    assert (ours / "auth.json").read_bytes() == (theirs / "auth.json").read_bytes()
    assert json.loads((ours / "auth.json").read_text()) == {
        "auth_mode": "apikey",
        "OPENAI_API_KEY": key,
    }
    for home in (theirs, ours):
        assert stat.S_IMODE((home / "auth.json").stat().st_mode) == 0o600


def expire_access_token(home: Path) -> dict[str, Any]:
    """Move the stored access token's `exp` into the past (claims kept, signature dropped)."""
    path = home / "auth.json"
    auth: dict[str, Any] = json.loads(path.read_text())
    header, payload, _ = auth["tokens"]["access_token"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["exp"] = int(time.time()) - 60
    encoded = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    auth["tokens"]["access_token"] = f"{header}.{encoded}.c2ln"
    path.write_text(json.dumps(auth, indent=2))
    return auth


def test_codex_refreshes_a_loginkit_session_and_loginkit_carries_on(
    codex: Path, home: Path, tmp_path: Path, provider: Provider, browser: Browser
) -> None:
    """The rotating refresh token passes from loginkit to Codex and back through auth.json.

    `codex exec` refreshes an expired access token before it talks to the model; its refresh
    URL is pointed at the test provider (CODEX_REFRESH_TOKEN_URL_OVERRIDE) and everything else
    at a dead proxy, so it never reaches the internet. It is stopped once it has saved.
    """
    with cli(home, "--issuer", provider.issuer, "--port", "0", "--no-browser") as run:
        complete_login(browser, run.url)
        code, _, err = run.finish()
    assert code == 0, err
    stale = expire_access_token(home)["tokens"]
    refreshes, errors = provider.stats()["refresh_requests"], provider.stats()["refresh_errors"]

    dead = f"http://127.0.0.1:{free_port()}"
    env = codex_env(
        home,
        CODEX_REFRESH_TOKEN_URL_OVERRIDE=provider.token_endpoint,
        HTTPS_PROXY=dead,
        HTTP_PROXY=dead,
        ALL_PROXY=dead,
        NO_PROXY="127.0.0.1,localhost",
    )
    work = tmp_path / "work"
    work.mkdir()
    proc = subprocess.Popen(
        [str(codex), "exec", "--skip-git-repo-check", "say hi"],
        cwd=work,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while json.loads((home / "auth.json").read_text())["tokens"] == stale:
            assert proc.poll() is None, "codex exec ended without refreshing"
            assert time.monotonic() < deadline, "codex exec did not refresh within 30 s"
            time.sleep(0.05)
    finally:
        stop(proc)

    assert provider.stats()["refresh_requests"] == refreshes + 1
    by_codex = json.loads((home / "auth.json").read_text())
    assert by_codex["auth_mode"] == "chatgpt"
    assert by_codex["tokens"]["refresh_token"] != stale["refresh_token"], "rotated"
    assert stat.S_IMODE((home / "auth.json").stat().st_mode) == 0o600

    # loginkit uses what Codex saved, without a refresh of its own...
    token = run_loginkit(home, "token")
    assert token.returncode == 0, token.stderr
    assert token.stdout == by_codex["tokens"]["access_token"] + "\n"
    status = run_loginkit(home, "login", "status")
    assert status.returncode == 0, status.stderr
    assert status.stderr.splitlines()[0] == "Logged in using ChatGPT"
    assert provider.stats()["refresh_requests"] == refreshes + 1

    # ...and refreshes with the refresh token Codex rotated (a reused one would be rejected).
    expire_access_token(home)
    token = run_loginkit(home, "token")
    assert token.returncode == 0, token.stderr
    assert provider.stats()["refresh_requests"] == refreshes + 2
    assert provider.stats()["refresh_errors"] == errors
    final = json.loads((home / "auth.json").read_text())["tokens"]
    assert token.stdout == final["access_token"] + "\n"
    assert final["refresh_token"] != by_codex["tokens"]["refresh_token"]
