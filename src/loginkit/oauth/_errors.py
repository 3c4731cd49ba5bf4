"""Token-endpoint failures: classification and error-body parsing, with no HTTP import.

Each :class:`TokenExchangeError` leaf knows its :class:`LoginFailureCategory`; the transport leaf is
classified when it is built, from the HTTP library's exception type, so nothing downstream
string-matches. Messages carry a sanitised endpoint and never the request URL's query.
"""

from __future__ import annotations

import json

from loginkit.core._exceptions import TokenEndpointErrorDetail
from loginkit.core._sanitize import sanitize


def json_object(text: str) -> dict[str, object] | None:
    """``text`` as a JSON object, or None when it is not JSON or is JSON of another kind (an
    array, a string, a number). The one reading of every provider answer whose failure the
    caller words itself; the caller's likely mistake is to treat any JSON as an object."""
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _nonblank(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def parse_token_endpoint_error(body: str) -> TokenEndpointErrorDetail:
    """Parse an OAuth error body (spec 3.8): ``error_description``, then ``error.message``, then
    the code; anything else shows the trimmed body; an empty body is "unknown error".

    Every field is provider text: it comes back through :func:`sanitize` (controls and bidi
    characters escaped, long values cut short without splitting a word), so a message built from
    it is safe on a terminal and of a readable size.
    """
    detail = _parse(body)
    return TokenEndpointErrorDetail(
        None if detail.error_code is None else sanitize(detail.error_code),
        None if detail.error_message is None else sanitize(detail.error_message),
        sanitize(detail.display),
    )


def _parse(body: str) -> TokenEndpointErrorDetail:
    trimmed = body.strip()
    if not trimmed:
        return TokenEndpointErrorDetail(None, None, "unknown error")
    parsed = json_object(trimmed)
    if parsed is not None:
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
