"""OpenID Connect discovery for generic providers (OpenID Connect Discovery 1.0, RFC 8414).

A generic profile's endpoints come from ``{issuer}/.well-known/openid-configuration``, read with
the run's client; a document that cannot be had, names another issuer or lacks an endpoint the
run needs is a :class:`DiscoveryError` (no endpoint is ever guessed). What a usable document
is lives in :mod:`loginkit.oauth._wellknown`, shared with the link-first start's light GET. The
``openai`` profile never discovers: its endpoints are fixed, and its link must not wait for a
network round trip.
"""

from __future__ import annotations

import dataclasses
import logging

import httpx2

from loginkit.core._exceptions import DiscoveryError
from loginkit.core._log import log_event
from loginkit.core._profiles import Profile
from loginkit.core._redact import sanitize_url_for_logging
from loginkit.core._sanitize import sanitize
from loginkit.oauth._errors import json_object
from loginkit.oauth._wellknown import discovery_url, issuer_matches, missing_endpoints

__all__ = [
    "discovery_url",
    "load_metadata",
    "missing_endpoint_error",
    "with_metadata",
]

logger = logging.getLogger("loginkit.discovery")


def load_metadata(client: httpx2.Client, issuer: str) -> dict[str, object]:
    """The provider's metadata (one GET), checked: a JSON object whose ``issuer`` is this issuer
    (OpenID Connect Discovery 4.3). Raises
    :class:`DiscoveryError` saying what was wrong."""
    from loginkit.core._exceptions import status_text
    from loginkit.oauth._token import describe_transport_error

    url = discovery_url(issuer)
    shown = sanitize_url_for_logging(url)
    try:
        response = client.get(url, headers={"Accept": "application/json"})
        text = response.read().decode("utf-8", "replace")
    except httpx2.HTTPError as exc:
        raise DiscoveryError(f"could not read {shown}: {describe_transport_error(exc)}") from None
    if response.status_code != 200:
        raise DiscoveryError(f"{shown} answered {status_text(response.status_code)}")
    data = json_object(text)
    if data is None:
        raise DiscoveryError(f"{shown} is not a JSON discovery document")
    named = data.get("issuer")
    if not issuer_matches(named, issuer):
        raise DiscoveryError(
            f"{shown} describes the issuer {sanitize(repr(named))}, not {sanitize(repr(issuer))}"
        )
    return data


def missing_endpoint_error(document: dict[str, object], shown: str, names: tuple[str, ...]) -> None:
    """Raise :class:`DiscoveryError` when the document lacks one of ``names`` (see
    :func:`missing_endpoints`); ``shown`` is the document's sanitised URL."""
    missing = missing_endpoints(document, names)
    if missing:
        raise DiscoveryError(
            f"{shown} gives no usable {' or '.join(missing)} (an absolute http or https URL)"
        )


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
