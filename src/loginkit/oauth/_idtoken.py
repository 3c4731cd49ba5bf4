"""JWT claim reading (no signature check, as in Codex), workspace restriction, success-URL claims.

JWT segments are base64url *without* padding; Python's decoder needs it back, which is the classic
bug here. Nothing in this module logs a token or a claim value.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from dataclasses import dataclass
from typing import Any

from loginkit.core._exceptions import JwtFormatError
from loginkit.core._log import log_event

AUTH_CLAIM = "https://api.openai.com/auth"
PROFILE_CLAIM = "https://api.openai.com/profile"

logger = logging.getLogger("loginkit.jwt")


def b64url_decode(segment: str) -> bytes:
    padded = segment + "=" * (-len(segment) % 4)
    try:
        return base64.urlsafe_b64decode(padded.encode("ascii"))
    except (binascii.Error, ValueError, UnicodeEncodeError) as exc:
        raise JwtFormatError(f"failed to base64url-decode jwt payload: {exc}") from None


def decode_jwt_payload(jwt: str) -> dict[str, Any]:
    """The payload object of ``jwt``. Raises :class:`JwtFormatError` (message has no token text)."""
    parts = jwt.split(".")
    if len(parts) != 3 or not all(parts):
        raise JwtFormatError("invalid ID token format")
    raw = b64url_decode(parts[1])
    try:
        payload = json.loads(raw)
    except ValueError as exc:
        raise JwtFormatError(f"failed to parse jwt json payload: {exc}") from None
    if not isinstance(payload, dict):
        raise JwtFormatError("jwt payload is not a JSON object")
    return payload


def jwt_auth_claims(jwt: str) -> dict[str, Any]:
    """The ``https://api.openai.com/auth`` object, or ``{}`` (with a warn log) on any problem."""
    try:
        payload = decode_jwt_payload(jwt)
    except JwtFormatError as exc:
        log_event(logger, logging.WARNING, str(exc).split(":")[0])
        return {}
    claims = payload.get(AUTH_CLAIM)
    if isinstance(claims, dict):
        return claims
    log_event(logger, logging.WARNING, f"jwt payload missing expected '{AUTH_CLAIM}' object")
    return {}


@dataclass(frozen=True)
class IdTokenInfo:
    """What loginkit reads from an id_token for storage and ``status``."""

    email: str | None
    plan_type: str | None
    user_id: str | None
    account_id: str | None
    subject: str | None
    expires_at: int | None


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


def parse_id_token(jwt: str) -> IdTokenInfo:
    """Typed parse. Raises :class:`JwtFormatError` for anything that is not a JWT."""
    payload = decode_jwt_payload(jwt)
    auth = payload.get(AUTH_CLAIM)
    auth = auth if isinstance(auth, dict) else {}
    profile = payload.get(PROFILE_CLAIM)
    email = _str_or_none(payload.get("email"))
    if email is None and isinstance(profile, dict):
        email = _str_or_none(profile.get("email"))
    exp = payload.get("exp")
    return IdTokenInfo(
        email=email,
        plan_type=_str_or_none(auth.get("chatgpt_plan_type")),
        user_id=_str_or_none(auth.get("chatgpt_user_id")) or _str_or_none(auth.get("user_id")),
        account_id=_str_or_none(auth.get("chatgpt_account_id")),
        subject=_str_or_none(payload.get("sub")),
        expires_at=exp if isinstance(exp, int) and not isinstance(exp, bool) else None,
    )
