"""PKCE (RFC 7636, S256) and the CSRF ``state`` value, from the OS CSPRNG."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass(frozen=True, repr=False)
class PkceCodes:
    """A verifier (86 chars from 64 random bytes) and its S256 challenge (43 chars).

    ``repr`` is suppressed: the verifier is a secret and must not reach a log through a stray
    ``%r``.
    """

    code_verifier: str
    code_challenge: str

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
