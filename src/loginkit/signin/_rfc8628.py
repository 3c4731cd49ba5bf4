"""RFC 8628 as written, for the standard device flow of any provider that is not Codex's.

What the standard variant reads that Codex's does not: the device authorization response
(``verification_uri_complete``, the provider's own ``expires_in``), a token response whose
``id_token`` is optional (RFC 8628 section 3.5 returns an RFC 6749 access token response; an
id_token comes only with the ``openid`` scope, and not every provider sends one even then), and,
when there is no id_token, who signed in: the provider's ``userinfo_endpoint`` when discovery
announces one, else only the issuer with the subject unknown.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from loginkit.core._device_phases import expiry_words
from loginkit.core._exceptions import ResponseMalformedError
from loginkit.core._log import log_event
from loginkit.core._redact import sanitize_url_for_logging

if TYPE_CHECKING:
    from loginkit.oauth._provider import Provider
    from loginkit.oauth._token import ExchangedTokens

logger = logging.getLogger("loginkit.device")

#: The shortest wait between two polls, whatever the provider says.
MIN_INTERVAL = 1.0


def positive_number(value: object, default: float, what: str) -> float:
    """A finite, positive number from a provider field (a number or a numeric string); anything
    else (``"nan"``, ``"soon"``, ``-1``, ``true``) is the default, with a log line."""
    if value is None:
        return default
    try:
        number = float(str(value)) if not isinstance(value, bool) else math.nan
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or number <= 0:
        log_event(
            logger, logging.WARNING, "device response field unusable; using default", field=what
        )
        return default
    return number


def poll_interval(value: object) -> float:
    """Seconds between polls: the provider's ``interval`` (number or numeric string), never
    below :data:`MIN_INTERVAL`, so a ``0``, ``"nan"`` or missing value never means busy polling."""
    return max(positive_number(value, MIN_INTERVAL, "interval"), MIN_INTERVAL)


def timed_out_words(standard: bool, expires_in: float) -> str:
    """Why polling stopped at the deadline: the seed's words for Codex (whatever the wait), the
    provider's own code lifetime for the standard variant."""
    if not standard:
        return "device auth timed out after 15 minutes"
    return f"the device code expired after {expiry_words(expires_in)} without being approved"


@dataclass(frozen=True, repr=False)
class DeviceAuthorization:
    """The fields of an RFC 8628 section 3.2 response a client uses. ``device_code`` is a secret
    (``repr`` hides everything); the others are shown to the person."""

    device_code: str
    user_code: str
    verification_uri: str
    #: ``verification_uri_complete``, or None when the provider sent none (or not a string).
    verification_uri_complete: str | None
    expires_in: float

    def __repr__(self) -> str:
        return "DeviceAuthorization(<redacted>)"


def parse_device_authorization(data: dict[str, Any], default_expiry: float) -> DeviceAuthorization:
    """The response's fields; a missing ``user_code``, ``device_code`` or ``verification_uri``
    raises ``ValueError`` (the caller classifies it). ``verification_url`` (the draft's name) is
    accepted too; an unusable ``expires_in`` is ``default_expiry``, never "no expiry"."""
    user_code, device_code = data.get("user_code"), data.get("device_code")
    verification = data.get("verification_uri") or data.get("verification_url")
    if not (
        isinstance(user_code, str)
        and isinstance(device_code, str)
        and isinstance(verification, str)
        and user_code
        and device_code
        and verification
    ):
        raise ValueError("device code response is missing fields")
    complete = data.get("verification_uri_complete")
    return DeviceAuthorization(
        device_code=device_code,
        user_code=user_code,
        verification_uri=verification,
        verification_uri_complete=complete if isinstance(complete, str) and complete else None,
        expires_in=positive_number(data.get("expires_in"), default_expiry, "expires_in"),
    )


def device_grant_tokens(data: dict[str, Any], endpoint: str) -> ExchangedTokens:
    """The tokens of a successful device grant (RFC 8628 3.5 / RFC 6749 5.1). ``access_token``
    and ``refresh_token`` are required (the record must be refreshable); ``id_token`` is
    optional and is ``""`` when absent. A present but malformed field raises
    :class:`ResponseMalformedError`; a present id_token is still verified by the finishing step."""
    from loginkit.oauth._token import ExchangedTokens

    values: dict[str, str] = {}
    for name in ("id_token", "access_token", "refresh_token"):
        value = data.get(name)
        if name == "id_token" and value is None:
            values[name] = ""
            continue
        if not isinstance(value, str) or not value:
            what = "missing" if value is None else "invalid"
            raise ResponseMalformedError(endpoint=endpoint, reason=f"{what} field `{name}`")
        values[name] = value
    from loginkit.oauth._token import lifetime_from

    scope = data.get("scope")
    return ExchangedTokens(
        id_token=values["id_token"],
        access_token=values["access_token"],
        refresh_token=values["refresh_token"],
        expires_in=lifetime_from(data.get("expires_in")),
        scope=scope if isinstance(scope, str) else None,
    )


def identity_without_id_token(provider: Provider, access_token: str) -> dict[str, Any]:
    """Who signed in when the device grant returned no id_token: ``iss`` (the provider's issuer)
    plus ``sub`` and ``email`` from the announced ``userinfo_endpoint`` (one GET with the access
    token as a bearer token), when it answers with a JSON object. No userinfo endpoint, or one
    that fails, leaves the subject unknown (logged, never the token): the sign-in itself stands,
    since the tokens came straight from the provider's token endpoint over this run's client.

    The answer is not verified (it is the provider's text): callers must show it sanitized and
    never use it for an authorization decision such as a workspace check.
    """
    claims: dict[str, Any] = {"iss": provider.expected_issuer()}
    metadata = provider.metadata() or {}
    url = metadata.get("userinfo_endpoint")
    if not isinstance(url, str) or not url:
        log_event(logger, logging.INFO, "no id_token and no userinfo endpoint; subject unknown")
        return claims
    shown = sanitize_url_for_logging(url)
    status = 0
    try:
        # The run's client: its proxies, CA bundle, timeouts and body cap apply.
        response = provider.client(shown).get(
            url, headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"}
        )
        text = response.read().decode("utf-8", "replace")
        status = response.status_code
        data = json.loads(text) if status == 200 else None
    except Exception as exc:  # transport, setup, body cap, not JSON: the subject is unknown
        log_event(
            logger,
            logging.WARNING,
            "userinfo request failed; subject unknown",
            endpoint=shown,
            error=type(exc).__name__,
        )
        return claims
    if not isinstance(data, dict):
        log_event(
            logger, logging.WARNING, "userinfo gave no identity; subject unknown", status=status
        )
        return claims
    for name in ("sub", "email"):
        value = data.get(name)
        if isinstance(value, str) and value:
            claims[name] = value
    log_event(logger, logging.INFO, "identity read from userinfo", endpoint=shown)
    return claims
