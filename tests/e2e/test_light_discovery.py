"""The link-first start's light discovery GET reads both real providers' documents exactly as the
full HTTP client does: one request each, the same JSON object."""

from __future__ import annotations

import pytest
from support.provider import Provider
from support.provider2 import start_provider2

from loginkit.core._limits import Timeouts
from loginkit.oauth._discovery import load_metadata
from loginkit.oauth._http import build_client
from loginkit.oauth._wellknown import fetch_discovery

pytestmark = pytest.mark.e2e


def _same_document(issuer: str) -> None:
    light = fetch_discovery(issuer)
    assert light is not None, "a plain usable document is answered by the light GET"
    assert light.failure is None
    with build_client(Timeouts()) as client:
        assert light.document == load_metadata(client, issuer)


def test_oidc_provider_document(provider: Provider) -> None:
    _same_document(provider.issuer)


def test_django_oauth_toolkit_document() -> None:
    with start_provider2() as running:
        _same_document(running.issuer)
