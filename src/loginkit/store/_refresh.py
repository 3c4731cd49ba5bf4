"""Token refresh (spec 9) that never races and never storms.

Refresh tokens rotate, and a reused one is rejected (and may revoke the whole grant), so every
process that finds the access token expired takes the lock next to ``auth.json``, re-reads the
credentials, and refreshes only if they are *still* stale; the others find the new token and use
it. A permanent failure is remembered (keyed by a hash of the refresh token that failed), so a
loop of ``loginkit token`` calls reports it with its fix instead of hammering the server.

The endpoint comes from the issuer the person actually signed in with (the id_token's ``iss``),
not a hard-coded production URL (spec 16.15); ``CODEX_REFRESH_TOKEN_URL_OVERRIDE`` still wins.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

from loginkit.core._exceptions import RefreshError
from loginkit.core._log import log_event
from loginkit.core._profiles import (
    DEFAULT_ORIGINATOR,
    OPENAI_CLIENT_ID,
    profile_for,
)
from loginkit.core._redact import scrub
from loginkit.oauth._errors import json_object
from loginkit.oauth._provider import Provider
from loginkit.store._provenance import Provenance

logger = logging.getLogger("loginkit.refresh")

#: A token that expires within this many seconds is refreshed before it is handed out.
DEFAULT_MIN_VALIDITY = 60.0
#: Without an ``exp`` claim, refresh after this long (the Codex CLI's rule).
MAX_REFRESH_AGE = 8 * 24 * 3600
FAILURE_MARKER = "auth.json.refresh-failed"

EXPIRED = (
    "Your access token could not be refreshed because your refresh token has expired."
    " Please log out and sign in again."
)
EXHAUSTED = (
    "Your access token could not be refreshed because your refresh token was already used."
    " Please log out and sign in again."
)
REVOKED = (
    "Your access token could not be refreshed because your refresh token was revoked."
    " Please log out and sign in again."
)
OTHER = "Your access token could not be refreshed. Please log out and sign in again."
PERMANENT_MESSAGES = {
    "refresh_token_expired": ("expired", EXPIRED),
    "refresh_token_reused": ("exhausted", EXHAUSTED),
    "refresh_token_invalidated": ("revoked", REVOKED),
}


def jwt_claims(token: str) -> dict[str, Any]:
    """Unverified payload claims, or ``{}``: only used to decide *when* and *where* to refresh."""
    from loginkit.core._exceptions import JwtFormatError
    from loginkit.oauth._idtoken import decode_jwt_payload

    try:
        return decode_jwt_payload(token)
    except JwtFormatError:
        return {}


def token_expiry(access_token: str) -> int | None:
    exp = jwt_claims(access_token).get("exp")
    return exp if isinstance(exp, int) and not isinstance(exp, bool) else None


def _parse_rfc3339(value: str | None) -> float | None:
    if not value:
        return None
    from datetime import datetime

    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def needs_refresh(
    access_token: str,
    last_refresh: str | None,
    *,
    now: float,
    min_validity: float,
    expiry: tuple[int, int | None] | None = None,
) -> bool:
    """True when the access token expires within ``min_validity`` seconds; without a JWT ``exp``,
    ``expiry`` (the ``(expires_at, lifetime)`` stored from ``expires_in``) says when; without
    either, the Codex rule: the last refresh is more than eight days old.

    The margin is at most half the token's lifetime, when that is known: a 60-second token is
    not refreshed on every call just because ``min_validity`` is 60.
    """
    exp = token_expiry(access_token)
    lifetime: int | None = None
    if exp is not None:
        issued = jwt_claims(access_token).get("iat")
        if isinstance(issued, int) and not isinstance(issued, bool) and issued < exp:
            lifetime = exp - issued
    elif expiry is not None:
        exp, lifetime = expiry
    if exp is not None:
        margin = min_validity if lifetime is None else min(min_validity, lifetime / 2)
        return exp - now < margin
    refreshed = _parse_rfc3339(last_refresh)
    return refreshed is None or now - refreshed > MAX_REFRESH_AGE


def refresh_endpoint(id_token: str, provenance: Provenance | None = None) -> tuple[str, str]:
    """``(token URL, client id)`` for the issuer and client the record belongs to: what it
    stored (:class:`Provenance`), else what its id_token was issued by/for."""
    from loginkit.store._origin import record_origin

    issuer, client_id = record_origin(id_token, provenance)
    override = os.environ.get("CODEX_REFRESH_TOKEN_URL_OVERRIDE", "").strip()
    url = override or f"{issuer.rstrip('/')}/oauth/token"
    return url, client_id


def _token_hash(refresh_token: str) -> str:
    return hashlib.sha256(refresh_token.encode("utf-8")).hexdigest()


def remembered_failure(codex_home: Path, refresh_token: str) -> RefreshError | None:
    """The permanent failure already seen for this very refresh token, if any."""
    from loginkit.core._safefs import open_regular

    try:
        # Never follows a symbolic link, never blocks on a FIFO: anything odd is "no record".
        with os.fdopen(open_regular(codex_home / FAILURE_MARKER, os.O_RDONLY), "rb") as handle:
            data = json.loads(handle.read(65536).decode("utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("refresh_token_sha256") != _token_hash(refresh_token):
        return None
    return RefreshError(
        str(data.get("message", OTHER)), permanent=True, reason=str(data.get("reason", "other"))
    )


def remember_failure(codex_home: Path, refresh_token: str, error: RefreshError) -> None:
    from loginkit.store._authfile import write_atomic

    record = {
        "refresh_token_sha256": _token_hash(refresh_token),
        "reason": error.reason,
        "message": error.message,
        "at": int(time.time()),
    }
    try:
        write_atomic(codex_home / FAILURE_MARKER, json.dumps(record).encode("utf-8"))
    except OSError as exc:
        log_event(logger, logging.WARNING, "failed to record refresh failure", err=str(exc))


def forget_failure(codex_home: Path) -> None:
    try:
        (codex_home / FAILURE_MARKER).unlink()
    except OSError:
        pass


def _permanent_from(body: str) -> RefreshError:
    code: str | None = None
    data = json_object(body)
    if data is not None:
        error = data.get("error")
        nested = error.get("code") if isinstance(error, dict) else None
        top = data.get("code")
        for candidate in (error, nested, top):
            if isinstance(candidate, str):
                code = candidate
                break
    reason, message = PERMANENT_MESSAGES.get((code or "").lower(), ("other", OTHER))
    return RefreshError(message, permanent=True, reason=reason)


def request_refresh(
    refresh_token: str,
    id_token: str,
    *,
    timeouts: Any,
    client: Any = None,
    provenance: Provenance | None = None,
) -> dict[str, str]:
    """POST the refresh grant; returns the token fields the server sent (some may be absent),
    and ``expires_in`` (whole seconds, as text) when it sent a usable one.

    The openai profile sends JSON, as auth.openai.com expects; any other client sends the
    standard form encoding (RFC 6749 section 6).
    """
    url, client_id = refresh_endpoint(id_token, provenance)
    issuer = url.removesuffix("/oauth/token")
    provider = Provider(profile_for(issuer, client_id), issuer, timeouts, client=client)
    try:
        return _refresh(provider, url, client_id, refresh_token)
    finally:
        provider.close()


def _refresh(provider: Provider, url: str, client_id: str, refresh_token: str) -> dict[str, str]:
    import httpx2

    from loginkit.core._exceptions import HttpClientSetupError
    from loginkit.core._redact import sanitize_url_for_logging
    from loginkit.oauth._errors import parse_token_endpoint_error
    from loginkit.oauth._token import describe_transport_error

    if client_id != OPENAI_CLIENT_ID and not os.environ.get("CODEX_REFRESH_TOKEN_URL_OVERRIDE"):
        # A generic provider's token endpoint is wherever its discovery document says; it is
        # never guessed.
        from loginkit.core._exceptions import DiscoveryError

        try:
            provider.discover()
        except DiscoveryError as exc:
            log_event(logger, logging.ERROR, "token refresh: discovery failed", error=exc.reason)
            raise RefreshError(
                f"Failed to refresh token: the token endpoint could not be found ({exc.reason})",
                permanent=False,
                reason="transient",
            ) from None
        url = provider.token_endpoint()
    endpoint = sanitize_url_for_logging(url)
    headers = {"User-Agent": "loginkit"}
    if client_id == OPENAI_CLIENT_ID:
        headers["originator"] = DEFAULT_ORIGINATOR
        headers["Content-Type"] = "application/json"
        body = json.dumps(
            {"client_id": client_id, "grant_type": "refresh_token", "refresh_token": refresh_token}
        ).encode()
    else:
        from loginkit.oauth._token import form_body

        headers["Content-Type"] = "application/x-www-form-urlencoded"
        body = form_body(
            [
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
                ("client_id", client_id),
            ]
        )
    log_event(logger, logging.INFO, "refreshing access token", endpoint=endpoint)
    try:
        http = provider.client(endpoint)
    except HttpClientSetupError as exc:
        raise RefreshError(
            f"Failed to refresh token: {exc.detail}", permanent=False, reason="transient"
        ) from None
    try:
        response = http.post(url, content=body, headers=headers)
        text = response.read().decode("utf-8", errors="replace")
    except httpx2.HTTPError as exc:
        description = describe_transport_error(exc)
        log_event(logger, logging.ERROR, "token refresh transport failure", error=description)
        raise RefreshError(
            f"Failed to refresh token: {description} (endpoint: {endpoint})",
            permanent=False,
            reason="transient",
        ) from None
    status = response.status_code
    if 200 <= status < 300:
        payload = json_object(text)
        if payload is None:
            raise RefreshError(
                "Failed to refresh token: the token endpoint sent a response that is not JSON",
                permanent=False,
                reason="transient",
            )
        log_event(logger, logging.INFO, "access token refreshed", status=status)
        fresh = {
            k: v
            for k in ("id_token", "access_token", "refresh_token")
            if isinstance(v := payload.get(k), str) and v
        }
        from loginkit.oauth._token import lifetime_from

        lifetime = lifetime_from(payload.get("expires_in"))
        if lifetime is not None:
            fresh["expires_in"] = str(lifetime)
        return fresh
    detail = parse_token_endpoint_error(text)
    log_event(
        logger,
        logging.ERROR,
        "token refresh rejected",
        status=status,
        error_code=scrub(detail.error_code or "unknown", [refresh_token]),
        error_message=scrub(detail.error_message or "unknown", [refresh_token]),
    )
    invalid_grant = status == 400 and detail.error_code == "invalid_grant"
    if status == 401 or invalid_grant:
        raise _permanent_from(text)
    message = scrub(detail.error_message or detail.display or "Unknown error", [refresh_token])
    raise RefreshError(
        f"Failed to refresh token: {status}: {message}", permanent=False, reason="transient"
    )
