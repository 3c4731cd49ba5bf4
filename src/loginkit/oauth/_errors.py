"""Token-endpoint failures: classification and error-body parsing, with no HTTP import.

Each :class:`TokenExchangeError` leaf knows its :class:`LoginFailureCategory`; the transport leaf is
classified when it is built, from the HTTP library's exception type, so nothing downstream
string-matches. Messages carry a sanitised endpoint and never the request URL's query.
"""

from __future__ import annotations

import http
import json
from dataclasses import dataclass

from loginkit.core._exceptions import LoginkitError
from loginkit.core._phases import LoginFailureCategory


@dataclass(frozen=True)
class TokenEndpointErrorDetail:
    """What an error body said. ``error_code``/``error_message`` come from parsed JSON only.

    ``display`` may be the raw body when it was not JSON: fit to show a person, not to log.
    """

    error_code: str | None
    error_message: str | None
    display: str

    @property
    def from_json(self) -> bool:
        return self.error_code is not None or self.error_message is not None

    def __str__(self) -> str:
        return self.display


def _nonblank(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def parse_token_endpoint_error(body: str) -> TokenEndpointErrorDetail:
    """Parse an OAuth error body (spec 3.8): ``error_description``, then ``error.message``, then
    the code; anything else shows the trimmed body; an empty body is "unknown error"."""
    trimmed = body.strip()
    if not trimmed:
        return TokenEndpointErrorDetail(None, None, "unknown error")
    try:
        parsed = json.loads(trimmed)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        error = parsed.get("error")
        code = _nonblank(error)
        if code is None and isinstance(error, dict):
            code = _nonblank(error.get("code"))
        description = _nonblank(parsed.get("error_description"))
        if description is not None:
            return TokenEndpointErrorDetail(code, description, description)
        if isinstance(error, dict) and (message := _nonblank(error.get("message"))) is not None:
            return TokenEndpointErrorDetail(code, message, message)
        if code is not None:
            return TokenEndpointErrorDetail(code, None, code)
    return TokenEndpointErrorDetail(None, None, trimmed)


def status_text(status: int) -> str:
    """``403 Forbidden``, the way the seed's HTTP library prints a status."""
    try:
        return f"{status} {http.HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} <unknown status code>"


class TokenExchangeError(LoginkitError):
    """The authorization-code exchange failed. ``category`` says how, for UIs and support."""

    category: LoginFailureCategory = LoginFailureCategory.TOKEN_EXCHANGE_REQUEST

    def __init__(self, message: str, *, endpoint: str) -> None:
        super().__init__(message)
        self.endpoint = endpoint

    @property
    def failure_category(self) -> LoginFailureCategory:
        return self.category


class HttpClientSetupError(TokenExchangeError):
    """The HTTP client could not be built (typically a bad custom CA bundle)."""

    def __init__(self, *, endpoint: str, message: str) -> None:
        super().__init__(
            f"failed to prepare HTTP client for {endpoint}: {message}", endpoint=endpoint
        )
        self.detail = message


class TransportError(TokenExchangeError):
    """No usable response: timeout, refused connection, TLS or proxy failure, reset, and so on.

    ``description`` keeps the whole cause chain (TLS and proxy detail live there) with URLs removed.
    """

    def __init__(self, *, endpoint: str, description: str, category: LoginFailureCategory) -> None:
        super().__init__(f"{description} (endpoint: {endpoint})", endpoint=endpoint)
        self.description = description
        self.category = category

    @property
    def is_timeout(self) -> bool:
        return self.category is LoginFailureCategory.TOKEN_EXCHANGE_TIMEOUT

    @property
    def is_connect(self) -> bool:
        return self.category is LoginFailureCategory.TOKEN_EXCHANGE_CONNECT


class EndpointRejectedError(TokenExchangeError):
    """The token endpoint answered with a non-2xx status; ``detail`` is its parsed error body."""

    category = LoginFailureCategory.TOKEN_ENDPOINT_REJECTED

    def __init__(self, *, endpoint: str, status: int, detail: TokenEndpointErrorDetail) -> None:
        super().__init__(
            f"token endpoint returned status {status_text(status)} from {endpoint}: {detail}",
            endpoint=endpoint,
        )
        self.status = status
        self.detail = detail


class ResponseMalformedError(TokenExchangeError):
    """A 2xx answer that is not the expected token JSON."""

    category = LoginFailureCategory.TOKEN_RESPONSE_MALFORMED

    def __init__(self, *, endpoint: str, reason: str, what: str = "token response") -> None:
        super().__init__(f"{what} from {endpoint} could not be parsed: {reason}", endpoint=endpoint)
        self.reason = reason
