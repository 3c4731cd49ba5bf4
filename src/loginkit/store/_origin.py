"""Which provider a stored record belongs to: what a generic record stored, else its id_token.

A Codex record does not keep its issuer or client id: both come from the stored id_token's
``iss`` and ``aud``, unverified (the token was verified when it was saved; here it only says
*where* to refresh or revoke, never *who* is signed in). Refresh and logout share this one
reading, so they can never disagree about the provider.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from loginkit.core._profiles import OPENAI_CLIENT_ID, OPENAI_ISSUER, profile_for

if TYPE_CHECKING:
    from loginkit.core._profiles import Profile
    from loginkit.store._provenance import Provenance


def record_origin(id_token: str, provenance: Provenance | None = None) -> tuple[str, str]:
    """``(issuer, client id)`` of a stored record: what it stored (``provenance``: a generic
    provider's record keeps both), else what the id_token was issued by/for, its ``iss`` and
    its (first) ``aud``; Codex's issuer and client id where a claim is missing (a Codex record
    always has them, an unreadable token is treated as Codex's)."""
    if provenance is not None and provenance.issuer and provenance.client_id:
        return provenance.issuer, provenance.client_id
    from loginkit.core._exceptions import JwtFormatError
    from loginkit.oauth._idtoken import decode_jwt_payload

    try:
        claims = decode_jwt_payload(id_token)
    except JwtFormatError:
        claims = {}
    issuer = claims.get("iss")
    audience = claims.get("aud")
    if isinstance(audience, list):
        audience = audience[0] if audience else None
    return (
        issuer if isinstance(issuer, str) else OPENAI_ISSUER,
        audience if isinstance(audience, str) else OPENAI_CLIENT_ID,
    )


def record_profile(id_token: str, provenance: Provenance | None = None) -> tuple[Profile, str, str]:
    """``(profile, issuer, client id)`` of a stored record, the profile picked as a sign-in
    with that issuer and client id would pick it (Codex's client id: the openai profile)."""
    issuer, client_id = record_origin(id_token, provenance)
    return profile_for(issuer, client_id), issuer, client_id
