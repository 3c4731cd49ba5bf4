"""The token request: transport error classification and the form body, loginkit.oauth._token."""

from __future__ import annotations

from loginkit.core._categories import LoginFailureCategory
from loginkit.oauth._token import classify_transport, describe_transport_error, form_body


def test_transport_classification_keeps_the_cause_chain() -> None:
    import httpx2

    root = OSError(111, "Connection refused")
    try:
        try:
            raise root
        except OSError as exc:
            raise httpx2.ConnectError(
                "All connection attempts failed to https://x.test/?code=1"
            ) from exc
    except httpx2.ConnectError as top:
        text = describe_transport_error(top)
        assert classify_transport(top) is LoginFailureCategory.TOKEN_EXCHANGE_CONNECT
    assert (
        text
        == "connection failed: All connection attempts failed to <url>: [Errno 111] Connection refused"
    )
    assert classify_transport(httpx2.ReadTimeout("")) is LoginFailureCategory.TOKEN_EXCHANGE_TIMEOUT
    assert (
        classify_transport(httpx2.ConnectTimeout("")) is LoginFailureCategory.TOKEN_EXCHANGE_TIMEOUT
    )
    assert (
        classify_transport(httpx2.RemoteProtocolError("x"))
        is LoginFailureCategory.TOKEN_EXCHANGE_REQUEST
    )
    assert describe_transport_error(httpx2.ReadTimeout("")) == "timed out waiting for a response"


def test_form_body_order_and_encoding() -> None:
    assert form_body([("b", "x y/z"), ("a", "~._-")]) == b"b=x%20y%2Fz&a=~._-"
