"""PKCE (RFC 7636, S256), the CSRF ``state`` value (from the OS CSPRNG) and the authorize URL
(RFC 6749 4.1.1) they go into.

This module is on the way to the sign-in link, so it uses the C pieces directly: ``os.urandom``
(what ``secrets`` calls), ``binascii`` (what ``base64`` wraps), ``_sha256`` (what ``hashlib``
picks) and a percent-encoder equal to ``urllib.parse.quote(value, safe="")``. Together they
cost a fraction of a millisecond; the modules they stand for cost several.
"""

from __future__ import annotations

import binascii
import os

try:  # the C SHA-256 (Python 3.11), else its 3.12+ home, else hashlib's (OpenSSL: slower to load)
    from _sha256 import sha256  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - other Pythons
    try:
        from _sha2 import sha256  # type: ignore[import-not-found]
    except ImportError:
        from hashlib import sha256

#: RFC 3986 unreserved characters: all ``quote(value, safe="")`` leaves as they are.
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~")
_B64_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")


def quote(value: str, safe: str = "") -> str:
    """``value`` percent-encoded as UTF-8, only RFC 3986 unreserved characters (and ``safe``)
    left as they are: the same bytes as ``urllib.parse.quote(value, safe=safe)``."""
    keep = _UNRESERVED | frozenset(safe.encode("ascii"))
    return "".join(chr(byte) if byte in keep else f"%{byte:02X}" for byte in value.encode("utf-8"))


# Not ``typing.TYPE_CHECKING``: typing is not loaded on the way to the link.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from loginkit.core._profiles import Profile


def sha256_hex(data: bytes) -> str:
    """The SHA-256 of ``data`` in hex, from the C module the link-first start already loaded."""
    return str(sha256(data).hexdigest())


def _b64url(data: bytes) -> str:
    encoded = binascii.b2a_base64(data, newline=False).translate(_B64_TO_URLSAFE)
    return encoded.rstrip(b"=").decode("ascii")


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
    return _b64url(sha256(verifier.encode("ascii")).digest())


def generate_pkce() -> PkceCodes:
    verifier = _b64url(os.urandom(64))
    return PkceCodes(code_verifier=verifier, code_challenge=challenge_for(verifier))


def generate_state() -> str:
    """32 random bytes, base64url without padding: 43 characters."""
    return _b64url(os.urandom(32))


def generate_nonce() -> str:
    """The OpenID Connect ``nonce`` of one browser run: 32 random bytes, base64url, 43
    characters, fresh per run like the state. A secret until the sign-in ends: never logged."""
    return _b64url(os.urandom(32))


#: Every parameter :func:`authorize_url` may write: an endpoint whose own query names one is
#: unusable (RFC 6749 section 3.1: a parameter MUST NOT be included more than once).
AUTHORIZE_PARAMETERS = frozenset(
    {
        "response_type",
        "client_id",
        "redirect_uri",
        "scope",
        "code_challenge",
        "code_challenge_method",
        "state",
        "nonce",
        "originator",
        "allowed_workspace_id",
        "id_token_add_organizations",
        "codex_cli_simplified_flow",
    }
)


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
    ``nonce`` (generic profiles) goes right after the state. A query the endpoint already has
    (``?tenant=...``) is kept and the parameters follow it (RFC 6749 section 3.1)."""
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
    if "?" not in endpoint:
        return f"{endpoint}?{query}"
    return f"{endpoint}{'' if endpoint.endswith(('?', '&')) else '&'}{query}"


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
