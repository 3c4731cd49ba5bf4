"""PKCE (RFC 7636, S256), the CSRF ``state`` value (from the OS CSPRNG) and the authorize URL
(RFC 6749 4.1.1) they go into, with ``base64``, ``hashlib``, ``secrets`` and ``urllib.parse``
only: this module is on the way to the sign-in link."""

from __future__ import annotations

import base64
import hashlib
import secrets
from urllib.parse import quote

# Not ``typing.TYPE_CHECKING``: typing is not loaded on the way to the link.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from loginkit.core._profiles import Profile


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class PkceCodes:
    """A verifier (86 chars from 64 random bytes) and its S256 challenge (43 chars).

    ``repr`` is suppressed: the verifier is a secret and must not reach a log through a stray
    ``%r``. A plain class, not a dataclass: this module is on the path to the sign-in link.
    """

    __slots__ = ("code_challenge", "code_verifier")

    def __init__(self, code_verifier: str, code_challenge: str) -> None:
        self.code_verifier = code_verifier
        self.code_challenge = code_challenge

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PkceCodes):
            return NotImplemented
        return (self.code_verifier, self.code_challenge) == (
            other.code_verifier,
            other.code_challenge,
        )

    def __hash__(self) -> int:
        return hash((self.code_verifier, self.code_challenge))

    def __repr__(self) -> str:
        return "PkceCodes(<redacted>)"


def challenge_for(verifier: str) -> str:
    """The S256 challenge: base64url (no padding) of SHA-256 over the verifier's ASCII bytes."""
    return _b64url(hashlib.sha256(verifier.encode("ascii")).digest())


def generate_pkce() -> PkceCodes:
    verifier = _b64url(secrets.token_bytes(64))
    return PkceCodes(code_verifier=verifier, code_challenge=challenge_for(verifier))


def generate_state() -> str:
    """32 random bytes, base64url without padding: 43 characters."""
    return _b64url(secrets.token_bytes(32))


def generate_nonce() -> str:
    """The OpenID Connect ``nonce`` of one browser run: 32 random bytes, base64url, 43
    characters, fresh per run like the state. A secret until the sign-in ends: never logged."""
    return _b64url(secrets.token_bytes(32))


def authorize_url(
    endpoint: str,
    *,
    client_id: str,
    redirect_uri: str,
    scope: str,
    code_challenge: str,
    extra_params: tuple[tuple[str, str], ...],
    state: str,
    originator: str | None,
    workspace_id: str | None,
    nonce: str | None = None,
) -> str:
    """The authorize URL, parameters in Codex's order, values RFC 3986 percent-encoded; a
    ``nonce`` (generic profiles) goes right after the state."""
    params = [
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", redirect_uri),
        ("scope", scope),
        ("code_challenge", code_challenge),
        ("code_challenge_method", "S256"),
        *extra_params,
        ("state", state),
    ]
    if nonce is not None:
        params.append(("nonce", nonce))
    if originator is not None:
        params.append(("originator", originator))
    if workspace_id is not None:
        params.append(("allowed_workspace_id", workspace_id))
    query = "&".join(f"{k}={quote(v, safe='')}" for k, v in params)
    return f"{endpoint}?{query}"


def build_authorize_url(
    profile: Profile,
    *,
    issuer: str,
    client_id: str,
    redirect_uri: str,
    pkce: PkceCodes,
    state: str,
    workspace_id: str | None,
    nonce: str | None = None,
) -> str:
    """The authorize URL, parameters in Codex's order, values RFC 3986 percent-encoded.

    ``nonce`` is for generic OpenID Connect profiles only: the openai profile's URL must stay
    exactly Codex's (Codex sends none), so its callers pass None."""
    return authorize_url(
        profile.authorize_endpoint(issuer),
        client_id=client_id,
        redirect_uri=redirect_uri,
        scope=profile.scope,
        code_challenge=pkce.code_challenge,
        extra_params=profile.extra_authorize_params,
        state=state,
        originator=profile.originator,
        workspace_id=workspace_id,
        nonce=nonce,
    )
