"""The authorization URL: loginkit.oauth._pkce."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from loginkit.core._profiles import OPENAI, generic_profile
from loginkit.oauth._pkce import PkceCodes, build_authorize_url


def test_authorize_url_matches_codex_byte_for_byte() -> None:
    pkce = PkceCodes(code_verifier="v", code_challenge="CHALLENGE")
    url = build_authorize_url(
        OPENAI,
        issuer="https://auth.openai.com",
        client_id="app_EMoamEEZ73f0CkXaXp7hrann",
        redirect_uri="http://localhost:1455/auth/callback",
        pkce=pkce,
        state="STATE",
        workspace_id=None,
    )
    assert url == (
        "https://auth.openai.com/oauth/authorize?response_type=code"
        "&client_id=app_EMoamEEZ73f0CkXaXp7hrann"
        "&redirect_uri=http%3A%2F%2Flocalhost%3A1455%2Fauth%2Fcallback"
        "&scope=openid%20profile%20email%20offline_access%20api.connectors.read%20api.connectors.invoke"
        "&code_challenge=CHALLENGE&code_challenge_method=S256"
        "&id_token_add_organizations=true&codex_cli_simplified_flow=true"
        "&state=STATE&originator=codex_cli_rs"
    )


def test_authorize_url_workspace_and_generic_profile() -> None:
    pkce = PkceCodes(code_verifier="v", code_challenge="C")
    url = build_authorize_url(
        OPENAI,
        issuer="https://auth.openai.com/",
        client_id="c",
        redirect_uri="r",
        pkce=pkce,
        state="s t",
        workspace_id="org 1",
    )
    assert url.startswith("https://auth.openai.com//oauth/authorize?"), "issuer used verbatim"
    assert url.endswith("&state=s%20t&originator=codex_cli_rs&allowed_workspace_id=org%201")
    generic = generic_profile("https://idp.example.com", "my-cli")
    plain = build_authorize_url(
        generic,
        issuer=generic.issuer,
        client_id="my-cli",
        redirect_uri="r",
        pkce=pkce,
        state="s",
        workspace_id=None,
    )
    keys = [k for k, _ in parse_qsl(urlsplit(plain).query)]
    assert keys == [
        "response_type",
        "client_id",
        "redirect_uri",
        "scope",
        "code_challenge",
        "code_challenge_method",
        "state",
    ]
