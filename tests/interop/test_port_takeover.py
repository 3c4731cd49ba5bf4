"""Port takeover both ways on Codex's real port 1455, against the real `codex login`.

A second sign-in on the same port first sends `GET /cancel` to whoever holds it (spec 3.2). The
real Codex CLI sends exactly that (observed: `GET /cancel HTTP/1.1`, `Host: 127.0.0.1:1455`,
`Connection: close`), so each side must stand down for the other, and the newcomer must then
bind and work.

Codex's own sign-in always goes to auth.openai.com and never completes here; the tests are about
the port and the cancellation.
"""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import Browser
from support.browser import complete_login
from support.cli_runner import cli
from support.net import ipv6_loopback_available
from support.provider import Provider

from .codex_cli import (
    CODEX_PORT,
    codex_login,
    output_lines,
    port_is_free,
    require_codex_port,
    run_codex,
)


def test_loginkit_login_cancels_a_running_codex_login_and_completes(
    codex: Path, home: Path, provider: Provider, browser: Browser
) -> None:
    require_codex_port()
    with codex_login(codex, home) as theirs:
        assert theirs.port == CODEX_PORT
        started = time.monotonic()
        with cli(
            home, "--issuer", provider.issuer, "--port", str(CODEX_PORT), "--no-browser"
        ) as ours:
            # The link is printed only once loginkit holds the port: Codex has stood down.
            code, err = theirs.wait(timeout=10)
            took = time.monotonic() - started
            assert code == 1, err
            assert output_lines(err)[-1] == "Error logging in: Login cancelled"
            assert ours.port == CODEX_PORT
            assert "Cleaning up an old login session first...\n" in ours.head
            result = complete_login(browser, ours.url)
            code, _, our_err = ours.finish()
    assert code == 0, our_err
    assert took < 5, f"the takeover took {took:.1f} s"
    assert urlsplit(result.final_url).path == "/success"
    assert our_err.endswith("Signed in. You're good to go.\n")
    auth = json.loads((home / "auth.json").read_text())
    assert auth["auth_mode"] == "chatgpt"
    log = (home / "log" / "codex-login.log").read_text()
    assert "previous login server detected on callback port; cancelling stale session" in log

    # And the Codex CLI that was pushed aside sees the new sign-in.
    status = run_codex(codex, home, "login", "status")
    assert status.returncode == 0, status.stderr
    assert output_lines(status.stderr) == ["Logged in using ChatGPT"]


def test_a_running_loginkit_login_yields_to_codex_login(codex: Path, home: Path) -> None:
    require_codex_port()
    with cli(home, "--port", str(CODEX_PORT), "--no-browser") as ours:
        assert ours.port == CODEX_PORT
        if ipv6_loopback_available():
            assert not port_is_free(CODEX_PORT, "::1"), "loginkit also listens on [::1]"
        started = time.monotonic()
        with codex_login(codex, home) as theirs:
            code, out, err = ours.finish(timeout=10)
            took = time.monotonic() - started
            # Codex got the port on its first retry and is waiting for its own sign-in.
            assert theirs.port == CODEX_PORT
            assert theirs.proc.poll() is None, theirs.stderr.text()
            assert "Starting local login server on http://localhost:1455.\n" in theirs.stderr.lines
            with socket.create_connection(("127.0.0.1", CODEX_PORT), timeout=5):
                pass  # Codex answers on the port loginkit left
            # loginkit left nothing behind: not the [::1] listener either.
            if ipv6_loopback_available():
                assert port_is_free(CODEX_PORT, "::1")
    assert code == 1, err
    assert out == ""
    assert err.endswith("Error logging in: Login cancelled\n"), err
    assert "Traceback" not in err
    assert took < 5, f"loginkit took {took:.1f} s to stand down"
    assert not (home / "auth.json").exists()
    assert not [p.name for p in home.iterdir() if p.name.startswith(".auth")], "no temp files"
    log = (home / "log" / "codex-login.log").read_text()
    assert "INFO loginkit.server: login cancelled by a newer login server\n" in log
    assert "login run finished outcome=failure kind=interrupted" in log
    # Both programs append to the same login log in the shared home.
    assert "INFO codex_cli::login: starting browser login flow\n" in log
