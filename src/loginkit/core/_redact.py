"""Redaction of URLs and error text before anything is displayed or logged (spec section 14)."""

from __future__ import annotations

import re
from urllib.parse import SplitResult, parse_qsl, urlencode, urlsplit, urlunsplit

REDACTED = "<redacted>"
SENSITIVE_QUERY_KEYS = frozenset(
    {
        "access_token",
        "api_key",
        "client_secret",
        "code",
        "code_verifier",
        "id_token",
        "key",
        "refresh_token",
        "requested_token",
        "state",
        "subject_token",
        "token",
    }
)


def sanitize_url_for_logging(url: str) -> str:
    """Drop userinfo and fragment, replace sensitive query values; ``<invalid-url>`` if unparsable.

    The query is re-serialised form-style, so ``<redacted>`` appears as ``%3Credacted%3E``.
    """
    try:
        parts = urlsplit(url.strip())
        if not parts.scheme or not parts.netloc:
            return "<invalid-url>"
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        netloc = host if parts.port is None else f"{host}:{parts.port}"
    except ValueError:
        return "<invalid-url>"
    query = ""
    if parts.query:
        pairs = parse_qsl(parts.query, keep_blank_values=True)
        query = urlencode(
            [(k, REDACTED if k.lower() in SENSITIVE_QUERY_KEYS else v) for k, v in pairs]
        )
    return urlunsplit(SplitResult(parts.scheme, netloc, parts.path, query, ""))


_URL_IN_TEXT = re.compile(r"""(?i)\b[a-z][a-z0-9+.-]*://[^\s'"<>)\]]+""")


def strip_urls(text: str) -> str:
    """Remove every URL from free text (transport errors sometimes embed the request URL)."""
    return _URL_IN_TEXT.sub("<url>", text)


def scrub(text: str, secrets: list[str]) -> str:
    """Replace every occurrence of a secret value (a server may echo one back) with a marker."""
    for secret in secrets:
        if secret and len(secret) >= 6:
            text = text.replace(secret, REDACTED)
    return text
