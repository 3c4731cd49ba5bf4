"""Reading JWT claims without verification (id_token info, workspace check): loginkit.oauth._idtoken."""

from __future__ import annotations

import logging

import pytest

from loginkit.oauth._idtoken import (
    JwtFormatError,
    decode_jwt_payload,
    jwt_auth_claims,
    parse_id_token,
    workspace_violation,
)

from .fake_issuer import b64url, id_token_for, make_jwt


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
    assert info.plan_is_known


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


def test_workspace_violation_messages() -> None:
    assert workspace_violation(None, "garbage") is None
    assert workspace_violation("org-alice", id_token_for("org-alice")) is None
    assert (
        workspace_violation("org-x", id_token_for("org-alice"))
        == "Login is restricted to workspace id org-x."
    )
    assert "did not include an chatgpt_account_id claim" in str(
        workspace_violation("org-x", id_token_for(None))
    )
