"""Token endpoint error bodies and the error texts and categories: loginkit.oauth._errors."""

from __future__ import annotations

import pytest

from loginkit.core._categories import LoginFailureCategory
from loginkit.core._exceptions import (
    EndpointRejectedError,
    HttpClientSetupError,
    ResponseMalformedError,
    TokenEndpointErrorDetail,
    TransportError,
    status_text,
)
from loginkit.oauth._errors import parse_token_endpoint_error


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            '{"error":"invalid_grant","error_description":"refresh token expired"}',
            ("invalid_grant", "refresh token expired", "refresh token expired"),
        ),
        (
            '{"error":{"code":"proxy_auth_required","message":"proxy authentication required"}}',
            (
                "proxy_auth_required",
                "proxy authentication required",
                "proxy authentication required",
            ),
        ),
        (
            '{"error":"temporarily_unavailable"}',
            ("temporarily_unavailable", None, "temporarily_unavailable"),
        ),
        ("service unavailable", (None, None, "service unavailable")),
        ("   ", (None, None, "unknown error")),
        (
            '{"error":"  ","error_description":" "}',
            (None, None, '{"error":"  ","error_description":" "}'),
        ),
        ("[1,2]", (None, None, "[1,2]")),
        ('{"unrelated":true}', (None, None, '{"unrelated":true}')),
    ],
)
def test_parse_token_endpoint_error(
    body: str, expected: tuple[str | None, str | None, str]
) -> None:
    assert parse_token_endpoint_error(body) == TokenEndpointErrorDetail(*expected)


def test_error_texts_and_categories() -> None:
    endpoint = "https://auth.openai.com/oauth/token"
    rejected = EndpointRejectedError(
        endpoint=endpoint,
        status=403,
        detail=parse_token_endpoint_error('{"error":"x","error_description":"denied"}'),
    )
    assert str(rejected) == f"token endpoint returned status 403 Forbidden from {endpoint}: denied"
    assert rejected.category is LoginFailureCategory.TOKEN_ENDPOINT_REJECTED
    malformed = ResponseMalformedError(endpoint=endpoint, reason="missing field `id_token`")
    assert (
        str(malformed)
        == f"token response from {endpoint} could not be parsed: missing field `id_token`"
    )
    assert malformed.category is LoginFailureCategory.TOKEN_RESPONSE_MALFORMED
    setup = HttpClientSetupError(endpoint=endpoint, message="bad CA")
    assert str(setup) == f"failed to prepare HTTP client for {endpoint}: bad CA"
    assert setup.category is LoginFailureCategory.TOKEN_EXCHANGE_REQUEST
    transport = TransportError(
        endpoint=endpoint,
        description="timed out",
        category=LoginFailureCategory.TOKEN_EXCHANGE_TIMEOUT,
    )
    assert str(transport) == f"timed out (endpoint: {endpoint})"
    assert transport.is_timeout and not transport.is_connect
    assert status_text(599) == "599 <unknown status code>"
