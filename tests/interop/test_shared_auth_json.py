"""One CODEX_HOME, two programs: what loginkit writes the real Codex CLI reads, and back.

Codex CLI 0.169.0's `login status` says `API key configured - <masked>` (plus a second line) for
an API key, where the seed and loginkit say `Logged in using an API key - <masked>`; the masked
key itself must be the same bytes in both (Codex: up to 13 characters -> `***`, else the first 8,
`***`, the last 5).
"""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from playwright.sync_api import Browser
from support.browser import complete_login
from support.cli_runner import cli
from support.provider import Provider

from loginkit.credentials import get_access_token, login_status

from .codex_cli import codex_mask, output_lines, run_codex, run_loginkit

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
