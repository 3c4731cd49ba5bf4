"""Reading JWT claims without verification (id_token info, workspace check): loginkit.oauth._idtoken."""

from __future__ import annotations

import logging

import pytest

from loginkit.core._exceptions import JwtFormatError
from loginkit.oauth._idtoken import decode_jwt_payload, jwt_auth_claims, parse_id_token

from .fake_issuer import b64url, make_jwt


@pytest.mark.parametrize("pad", range(4))
def test_jwt_payload_without_padding_decodes(pad: int) -> None:
    # Four payload lengths: between them every padding remainder base64url can leave is hit.
    payload = {"email": "a@b.c", "x": "y" * pad}
    token = make_jwt(payload)
    assert "=" not in token
    assert decode_jwt_payload(token) == payload


def test_id_token_parse_and_profile_email_fallback() -> None:
    token = make_jwt(
        {
            "sub": "s",
            "exp": 10,
            "https://api.openai.com/profile": {"email": "p@x"},
            "https://api.openai.com/auth": {
                "chatgpt_plan_type": "enterprise",
                "user_id": "u",
                "chatgpt_account_id": "org",
            },
        }
    )
    info = parse_id_token(token)
    assert (info.email, info.plan_type, info.user_id, info.account_id, info.expires_at) == (
        "p@x",
        "enterprise",
        "u",
        "org",
        10,
    )


@pytest.mark.parametrize(
    "bad", ["", "a.b", "a..c", "a.!!!.c", f"a.{b64url(b'not json')}.c", f"a.{b64url(b'[1]')}.c"]
)
def test_malformed_jwts(bad: str, caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(JwtFormatError):
        decode_jwt_payload(bad)
    with caplog.at_level(logging.WARNING, logger="loginkit"):
        assert jwt_auth_claims(bad) == {}
    assert caplog.records, "a loose parse failure leaves a diagnostic"
    assert all(bad not in r.getMessage() or bad == "" for r in caplog.records)
