"""PKCE (RFC 7636, S256) and the CSRF ``state`` value, from the OS CSPRNG."""

from __future__ import annotations

import base64
import hashlib
import secrets


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
