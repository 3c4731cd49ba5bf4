"""Which provider a stored record belongs to, and its access token's true expiry.

Codex's ``auth.json`` layout says neither: a record of a generic provider keeps them under the
``"loginkit"`` key (:data:`~loginkit.store._authfile.PROVENANCE_KEY`); a Codex record is read from
its id_token's ``iss`` and ``aud``, and its JWT access token carries its own ``exp``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Provenance:
    """What loginkit adds to Codex's layout (under the ``"loginkit"`` key): the provider the
    record came from, and the access token's true expiry from ``expires_in``, which an opaque
    (non-JWT) access token cannot tell.

    The expiry belongs to one access token: it is kept with a fingerprint of that token, so a
    record whose tokens another tool (the Codex CLI) refreshed without updating it falls back to
    the Codex rules instead of trusting a stale expiry.
    """

    issuer: str | None = None
    client_id: str | None = None
    scope: str | None = None
    #: Absolute expiry (epoch seconds) and lifetime of the access token it was saved with.
    expires_at: int | None = None
    lifetime: int | None = None
    fingerprint: str | None = None
    #: Who signed in as userinfo said (``sub``, ``email``), for a record without an id_token.
    identity: tuple[tuple[str, str], ...] = ()

    def said(self, key: str) -> str | None:
        """``sub`` or ``email`` as userinfo said (records without an id_token)."""
        return dict(self.identity).get(key)

    def expiry_for(self, access_token: str) -> tuple[int, int | None] | None:
        """``(expires_at, lifetime)`` when they belong to ``access_token``, else None."""
        if self.expires_at is None or self.fingerprint != token_fingerprint(access_token):
            return None
        return self.expires_at, self.lifetime

    def to_dict(self) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "issuer": self.issuer,
            "client_id": self.client_id,
            "scope": self.scope,
            "access_token_expires_at": self.expires_at,
            "access_token_lifetime": self.lifetime,
            "access_token_sha256": self.fingerprint,
        }
        data = {k: v for k, v in fields.items() if v is not None}
        if self.identity:
            data["identity"] = dict(self.identity)
        return data

    @classmethod
    def from_dict(cls, data: object) -> Provenance | None:
        if not isinstance(data, dict):
            return None

        def text(name: str) -> str | None:
            value = data.get(name)
            return value if isinstance(value, str) and value else None

        def number(name: str) -> int | None:
            value = data.get(name)
            return value if isinstance(value, int) and not isinstance(value, bool) else None

        said = data.get("identity")
        identity = tuple(
            (key, value)
            for key, value in (said.items() if isinstance(said, dict) else ())
            if key in ("sub", "email") and isinstance(value, str) and value
        )
        return cls(
            identity=identity,
            issuer=text("issuer"),
            client_id=text("client_id"),
            scope=text("scope"),
            expires_at=number("access_token_expires_at"),
            lifetime=number("access_token_lifetime"),
            fingerprint=text("access_token_sha256"),
        )


def token_fingerprint(token: str) -> str:
    """A short hash that tells one access token from another (never the token itself)."""
    import hashlib

    return hashlib.sha256(token.encode("utf-8")).hexdigest()[:16]
