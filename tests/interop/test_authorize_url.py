"""The authorize link, byte for byte: the real `codex login` against `loginkit login` (openai profile).

Both run on Codex's port 1455 with their defaults. Every byte of every parameter must be equal,
except the differences docs/differences.md lists ("Authorize URL compared with Codex CLI 0.169.0"),
where both links must appear exactly as this test renders them.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from support.cli_runner import cli

from .codex_cli import CODEX_PORT, codex_login, require_codex_port, wait_until_free

DIFFERENCES = Path(__file__).resolve().parents[2] / "docs" / "differences.md"
#: Per-run random values: compared by shape, shown as <name> in the rendering.
DYNAMIC = ("code_challenge", "state")
BASE64URL_43 = re.compile(r"[A-Za-z0-9_-]{43}")


def raw_parameters(url: str) -> list[tuple[str, str]]:
    """The query's (name, raw value) pairs in order, nothing decoded."""
    query = urlsplit(url).query
    return [(name, value) for name, _, value in (pair.partition("=") for pair in query.split("&"))]


def rendered(url: str) -> str:
    """The link with the per-run values replaced by `<name>` (as docs/differences.md shows it)."""
    parts = []
    for name, value in raw_parameters(url):
        if name in DYNAMIC:
            assert BASE64URL_43.fullmatch(value), f"{name}={value}"
        parts.append(f"{name}=<{name}>" if name in DYNAMIC else f"{name}={value}")
    return url.split("?", 1)[0] + "?" + "&".join(parts)


def test_authorize_url_matches_codex_except_the_documented_differences(
    codex: Path, home: Path
) -> None:
    require_codex_port()
    with codex_login(codex, home / "codex") as running:
        codex_url = running.url
    wait_until_free(CODEX_PORT)
    with cli(home / "loginkit", "--port", str(CODEX_PORT), "--no-browser") as run:
        loginkit_url = run.url
    assert codex_url and loginkit_url

    theirs, ours = dict(raw_parameters(codex_url)), dict(raw_parameters(loginkit_url))
    assert len(theirs) == len(raw_parameters(codex_url)), "no parameter appears twice"
    assert (
        codex_url.split("?")[0]
        == loginkit_url.split("?")[0]
        == ("https://auth.openai.com/oauth/authorize")
    )
    assert sorted(theirs) == sorted(ours), "the same parameter names"

    # The documented differences, and nothing else.
    assert [n for n, _ in raw_parameters(codex_url)] == [
        "response_type",
        "client_id",
        "redirect_uri",
        "code_challenge",
        "code_challenge_method",
        "state",
        "scope",
        "id_token_add_organizations",
        "codex_cli_simplified_flow",
        "originator",
    ]
    assert [n for n, _ in raw_parameters(loginkit_url)] == [
        "response_type",
        "client_id",
        "redirect_uri",
        "scope",
        "code_challenge",
        "code_challenge_method",
        "id_token_add_organizations",
        "codex_cli_simplified_flow",
        "state",
        "originator",
    ]
    assert theirs["redirect_uri"] == "http%3A%2F%2F127.0.0.1%3A1455%2Fauth%2Fcallback"
    assert ours["redirect_uri"] == "http%3A%2F%2Flocalhost%3A1455%2Fauth%2Fcallback"
    assert "+" in theirs["scope"] and "%20" in ours["scope"]
    assert theirs["scope"] == ours["scope"].replace("%20", "+")
    for name, value in theirs.items():
        if name in DYNAMIC:
            assert BASE64URL_43.fullmatch(value) and BASE64URL_43.fullmatch(ours[name])
        elif name not in ("redirect_uri", "scope"):
            assert value == ours[name], name

    # Decoded, the two links ask for the same thing but the redirect host.
    decoded_theirs, decoded_ours = (
        parse_qs(urlsplit(codex_url).query),
        parse_qs(urlsplit(loginkit_url).query),
    )
    assert decoded_theirs["scope"] == decoded_ours["scope"]

    # Both renderings are in the list of deliberate differences, byte for byte.
    doc = DIFFERENCES.read_text(encoding="utf-8")
    assert rendered(codex_url) in doc
    assert rendered(loginkit_url) in doc
