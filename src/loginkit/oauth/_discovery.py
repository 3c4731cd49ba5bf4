"""OpenID Connect discovery for generic providers (OpenID Connect Discovery 1.0, RFC 8414).

A generic profile's endpoints come from ``{issuer}/.well-known/openid-configuration``. A provider
without a discovery document (or one that cannot be reached now) keeps the Codex-style paths
``/oauth/authorize`` and ``/oauth/token``, with a log line saying so; the sign-in then fails, if it
must, with a classified error at the exchange rather than here. The ``openai`` profile never
discovers: its endpoints are fixed, and its link must not wait for a network round trip.
"""

from __future__ import annotations

import dataclasses
import logging

import httpx2

from loginkit.core._log import log_event
from loginkit.core._profiles import Profile
from loginkit.core._redact import sanitize_url_for_logging

logger = logging.getLogger("loginkit.discovery")
WELL_KNOWN = "/.well-known/openid-configuration"


def discovery_url(issuer: str) -> str:
    return issuer.rstrip("/") + WELL_KNOWN


def fetch_metadata(client: httpx2.Client, issuer: str) -> dict[str, object] | None:
    """The provider's metadata, or None (logged) when there is none to be had. One GET."""
    from loginkit.oauth._token import describe_transport_error

    url = discovery_url(issuer)
    try:
        response = client.get(url, headers={"Accept": "application/json"})
        data = response.json() if response.status_code == 200 else None
    except (httpx2.HTTPError, ValueError) as exc:
        reason = describe_transport_error(exc) if isinstance(exc, httpx2.HTTPError) else str(exc)
        log_event(
            logger,
            logging.WARNING,
            "openid discovery failed",
            url=sanitize_url_for_logging(url),
            error=reason,
        )
        return None
    if not isinstance(data, dict):
        log_event(
            logger,
            logging.WARNING,
            "openid discovery document unavailable; using default endpoint paths",
            url=sanitize_url_for_logging(url),
            status=response.status_code,
        )
        return None
    return data


def with_metadata(profile: Profile, issuer: str, metadata: dict[str, object]) -> Profile:
    """``profile`` with its endpoints and expected ``iss`` taken from a discovery document."""

    def text(name: str) -> str | None:
        value = metadata.get(name)
        return value if isinstance(value, str) and value else None

    log_event(
        logger, logging.INFO, "openid discovery succeeded", issuer=sanitize_url_for_logging(issuer)
    )
    return dataclasses.replace(
        profile,
        authorization_endpoint_url=text("authorization_endpoint"),
        token_endpoint_url=text("token_endpoint"),
        jwks_uri_url=text("jwks_uri"),
        issuer_identifier=text("issuer"),
    )
