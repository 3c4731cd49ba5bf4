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

from loginkit.core._limits import Timeouts
from loginkit.core._log import log_event
from loginkit.core._profiles import OPENAI_ISSUER, Profile
from loginkit.core._redact import sanitize_url_for_logging

logger = logging.getLogger("loginkit.discovery")
WELL_KNOWN = "/.well-known/openid-configuration"


def discovery_url(issuer: str) -> str:
    return issuer.rstrip("/") + WELL_KNOWN


def fetch_metadata(
    issuer: str, timeouts: Timeouts, client: object = None
) -> dict[str, object] | None:
    """The provider's metadata, or None (logged) when there is none to be had.

    ``client`` is an ``httpx2.Client`` to reuse; by default one is built (CA and proxy rules).
    """
    import httpx2

    from loginkit.core._exceptions import HttpClientSetupFailure
    from loginkit.oauth._http import build_client
    from loginkit.oauth._token import describe_transport_error

    url = discovery_url(issuer)
    try:
        http = client if isinstance(client, httpx2.Client) else build_client(timeouts)
        try:
            response = http.get(url, headers={"Accept": "application/json"})
            data = response.json() if response.status_code == 200 else None
        finally:
            if http is not client:
                http.close()
    except (httpx2.HTTPError, HttpClientSetupFailure, ValueError) as exc:
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


def discover(profile: Profile, issuer: str, timeouts: Timeouts) -> Profile:
    """``profile`` with its endpoints filled in from discovery (unchanged when discovery is off
    or finds nothing)."""
    if not profile.discover:
        return profile
    metadata = fetch_metadata(issuer, timeouts)
    if metadata is None:
        return profile

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


def jwks_url(profile: Profile, issuer: str, timeouts: Timeouts) -> str:
    """Where the id_token's signing keys are: the configured or discovered ``jwks_uri``; for
    auth.openai.com its fixed path (no extra round trip); for any other issuer, its discovery
    document's ``jwks_uri`` when it has one (oidc-provider, Keycloak and Auth0 each publish keys
    at a different path), else ``{issuer}/.well-known/jwks.json``."""
    if profile.jwks_uri_url or issuer.rstrip("/") == OPENAI_ISSUER:
        return profile.jwks_endpoint(issuer)
    metadata = fetch_metadata(issuer, timeouts)
    found = metadata.get("jwks_uri") if metadata is not None else None
    return found if isinstance(found, str) and found else profile.jwks_endpoint(issuer)
