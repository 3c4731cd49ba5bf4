"""Token endpoint calls: authorization-code exchange (spec 3.7) and the API-key exchange (3.11).

Every failure becomes a :class:`~loginkit.oauth._errors.TokenExchangeError` leaf whose category was
decided from the HTTP library's exception type. Logs carry only reviewed fields: the sanitised
endpoint, the status, and error codes/messages parsed from JSON; never a raw body, a code, a
verifier or a token.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from urllib.parse import quote

import httpx2

from loginkit.core._categories import LoginFailureCategory
from loginkit.core._exceptions import (
    EndpointRejectedError,
    ResponseMalformedError,
    TokenExchangeError,
    TransportError,
)
from loginkit.core._limits import MAX_RESPONSE_BODY
from loginkit.core._log import log_event
from loginkit.core._redact import sanitize_url_for_logging, scrub, strip_urls
from loginkit.core._sanitize import sanitize
from loginkit.oauth._errors import json_object, parse_token_endpoint_error
from loginkit.oauth._http import ResponseTooLarge

logger = logging.getLogger("loginkit.token")

FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True, repr=False)
class ExchangedTokens:
    """The three tokens from a successful exchange. ``repr`` hides them."""

    id_token: str
    access_token: str
    refresh_token: str
    #: Seconds the access token lives (``expires_in``, RFC 6749 5.1), when the server said so.
    expires_in: int | None = None
    #: The scope granted, when the server said (RFC 6749 5.1: omitted when as requested).
    scope: str | None = None

    def __repr__(self) -> str:
        return "ExchangedTokens(<redacted>)"


def lifetime_from(value: object) -> int | None:
    """``expires_in`` as whole seconds when it is a positive finite number (or numeric string),
    else None: a malformed value never crashes a sign-in, it only loses the expiry."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        seconds = float(str(value))
    except ValueError:
        return None
    if not math.isfinite(seconds) or seconds <= 0 or seconds > 10 * 365 * 86400:
        return None
    return int(seconds)


def form_body(pairs: list[tuple[str, str]]) -> bytes:
    """``k=v&...`` in the given order, each value percent-encoded (unreserved characters kept)."""
    return "&".join(f"{k}={quote(v, safe='')}" for k, v in pairs).encode("ascii")


_TRANSPORT_WORDS: list[tuple[type[BaseException], str]] = [
    (httpx2.ConnectTimeout, "timed out connecting"),
    (httpx2.ReadTimeout, "timed out waiting for a response"),
    (httpx2.WriteTimeout, "timed out sending the request"),
    (httpx2.PoolTimeout, "timed out waiting for a connection"),
    (httpx2.ProxyError, "proxy error"),
    (httpx2.ConnectError, "connection failed"),
    (httpx2.RemoteProtocolError, "the server broke the HTTP exchange"),
    (httpx2.ReadError, "connection lost while reading the response"),
    (httpx2.WriteError, "connection lost while sending the request"),
]


def describe_transport_error(exc: BaseException) -> str:
    """A readable description with the whole cause chain, URLs removed.

    The top-level message of an HTTP error is often empty or generic; the useful part (TLS
    verification, proxy refusal, errno) sits further down the chain, so all of it is kept.
    """
    parts: list[str] = []
    for cls, words in _TRANSPORT_WORDS:
        if isinstance(exc, cls):
            parts.append(words)
            break
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        text = strip_urls(str(current)).strip()
        if text and text not in parts:
            parts.append(text)
        elif not text and not parts:
            parts.append(type(current).__name__)
        current = current.__cause__ or current.__context__
    return ": ".join(parts) if parts else type(exc).__name__


def classify_transport(exc: BaseException) -> LoginFailureCategory:
    if isinstance(exc, httpx2.TimeoutException):
        return LoginFailureCategory.TOKEN_EXCHANGE_TIMEOUT
    if isinstance(exc, httpx2.ConnectError | httpx2.ProxyError):
        return LoginFailureCategory.TOKEN_EXCHANGE_CONNECT
    return LoginFailureCategory.TOKEN_EXCHANGE_REQUEST


def _too_large(endpoint: str, what: str) -> ResponseMalformedError:
    return ResponseMalformedError(
        endpoint=endpoint,
        what=what,
        reason=f"the response body is larger than {MAX_RESPONSE_BODY // 1024} KiB; reading stopped",
    )


def _transport_error(endpoint: str, exc: BaseException) -> TransportError:
    return TransportError(
        endpoint=endpoint,
        description=describe_transport_error(exc),
        category=classify_transport(exc),
    )


def _body_text(response: httpx2.Response, endpoint: str) -> str:
    """The answer's body as text (undecodable bytes replaced); a failure while reading it is a
    :class:`TransportError` for ``endpoint``, like one while sending."""
    try:
        return response.read().decode("utf-8", errors="replace")
    except httpx2.HTTPError as exc:
        raise _transport_error(endpoint, exc) from None


def _send(
    client: httpx2.Client,
    method: str,
    url: str,
    endpoint: str,
    *,
    headers: dict[str, str],
    content: bytes | None = None,
    log_what: str,
    url_what: str,
    what: str = "token response",
) -> httpx2.Response:
    """One request; a transport failure becomes a classified :class:`TransportError` (logged
    as "``log_what`` transport failure"), a URL that cannot be requested a request error, a
    body over the cap a malformed ``what``. The body is read (capped) before this returns."""
    try:
        return client.request(method, url, content=content, headers=headers)
    except ResponseTooLarge:
        log_event(logger, logging.ERROR, f"{log_what} response too large", cap=MAX_RESPONSE_BODY)
        raise _too_large(endpoint, what) from None
    except httpx2.HTTPError as exc:
        error = _transport_error(endpoint, exc)
        log_event(
            logger,
            logging.ERROR,
            f"{log_what} transport failure",
            is_timeout=error.is_timeout,
            is_connect=error.is_connect,
            is_request=not (error.is_timeout or error.is_connect),
            error=error.description,
        )
        raise error from None
    except (httpx2.InvalidURL, httpx2.UnsupportedProtocol, ValueError) as exc:
        raise TransportError(
            endpoint=endpoint,
            description=f"invalid {url_what} URL: {strip_urls(str(exc))}",
            category=LoginFailureCategory.TOKEN_EXCHANGE_REQUEST,
        ) from None


def _post(
    client: httpx2.Client, url: str, endpoint: str, body: bytes, content_type: str
) -> httpx2.Response:
    return _send(
        client,
        "POST",
        url,
        endpoint,
        headers={"Content-Type": content_type},
        content=body,
        log_what="oauth token exchange",
        url_what="token endpoint",
    )


def exchange_code_for_tokens(
    client: httpx2.Client,
    *,
    token_url: str,
    issuer: str,
    client_id: str,
    redirect_uri: str,
    code_verifier: str,
    code: str,
) -> ExchangedTokens:
    """POST the code and verifier; 2xx JSON with ``id_token``/``access_token``/``refresh_token``.

    A stale code from an old tab is expected to come back rejected; that is an auth failure to
    show, not something to retry.
    """
    endpoint = sanitize_url_for_logging(token_url)
    log_event(
        logger,
        logging.INFO,
        "starting oauth token exchange",
        issuer=sanitize_url_for_logging(issuer),
        redirect_uri=redirect_uri,
    )
    body = form_body(
        [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("client_id", client_id),
            ("code_verifier", code_verifier),
        ]
    )
    response = _post(client, token_url, endpoint, body, FORM)
    text = _body_text(response, endpoint)
    if not 200 <= response.status_code < 300:
        detail = parse_token_endpoint_error(text)
        log_event(
            logger,
            logging.WARNING,
            "oauth token exchange returned non-success status",
            status=response.status_code,
            # Parsed fields only, and scrubbed: a server may echo the request (code, verifier).
            error_code=scrub(detail.error_code or "unknown", [code, code_verifier]),
            error_message=scrub(detail.error_message or "unknown", [code, code_verifier]),
            body_is_json=detail.from_json,
        )
        raise EndpointRejectedError(endpoint=endpoint, status=response.status_code, detail=detail)
    tokens = parse_token_response(text, endpoint)
    log_event(logger, logging.INFO, "oauth token exchange succeeded", status=response.status_code)
    return tokens


def parse_token_response(text: str, endpoint: str) -> ExchangedTokens:
    try:
        payload = json.loads(text)
    except ValueError as exc:
        raise ResponseMalformedError(endpoint=endpoint, reason=f"expected JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise ResponseMalformedError(endpoint=endpoint, reason="expected a JSON object")
    values: dict[str, str] = {}
    for name in ("id_token", "access_token", "refresh_token"):
        value = payload.get(name)
        if not isinstance(value, str) or not value:
            what = "missing" if value is None else "invalid"
            raise ResponseMalformedError(endpoint=endpoint, reason=f"{what} field `{name}`")
        values[name] = value
    scope = payload.get("scope")
    return ExchangedTokens(
        **values,
        expires_in=lifetime_from(payload.get("expires_in")),
        scope=scope if isinstance(scope, str) else None,
    )


def obtain_api_key(client: httpx2.Client, *, token_url: str, client_id: str, id_token: str) -> str:
    """Exchange the id_token for an API key (Codex's legacy step). Raises on any failure.

    Callers must treat a failure as non-fatal: deployments without the exchange still sign in.
    """
    endpoint = sanitize_url_for_logging(token_url)
    body = form_body(
        [
            ("grant_type", "urn:ietf:params:oauth:grant-type:token-exchange"),
            ("client_id", client_id),
            ("requested_token", "openai-api-key"),
            ("subject_token", id_token),
            ("subject_token_type", "urn:ietf:params:oauth:token-type:id_token"),
        ]
    )
    try:
        response = client.post(token_url, content=body, headers={"Content-Type": FORM})
        text = response.read().decode("utf-8", errors="replace")
    except ResponseTooLarge:
        raise _too_large(endpoint, "token response") from None
    except httpx2.HTTPError as exc:
        raise _transport_error(endpoint, exc) from None
    if not 200 <= response.status_code < 300:
        raise TokenExchangeError(
            f"api key exchange failed with status {response.status_code}", endpoint=endpoint
        )
    key = (json_object(text) or {}).get("access_token")
    if not isinstance(key, str) or not key:
        raise ResponseMalformedError(endpoint=endpoint, reason="missing field `access_token`")
    return key


def fetch_jwks(client: httpx2.Client, *, jwks_url: str) -> dict[str, object]:
    """GET the provider's JSON Web Key Set, classified like a token-endpoint call.

    Transport failures keep their timeout / connect / request categories; a non-2xx answer or a
    body that is not ``{"keys": [...]}`` is a malformed response (the keys are public, so the
    status is shown, never a body).
    """
    endpoint = sanitize_url_for_logging(jwks_url)
    response = _send(
        client,
        "GET",
        jwks_url,
        endpoint,
        headers={"Accept": "application/json"},
        log_what="signing keys",
        url_what="signing keys",
        what="signing keys",
    )
    text = _body_text(response, endpoint)
    if not 200 <= response.status_code < 300:
        log_event(logger, logging.WARNING, "signing keys unavailable", status=response.status_code)
        raise ResponseMalformedError(
            endpoint=endpoint, what="signing keys", reason=f"status {response.status_code}"
        )
    keys = json_object(text)
    if keys is None or not isinstance(keys.get("keys"), list):
        raise ResponseMalformedError(
            endpoint=endpoint,
            what="signing keys",
            reason='expected a JSON object with a "keys" list',
        )
    return keys


#: RFC 7009 section 2.1 token type hints.
REVOCATION_HINTS = ("refresh_token", "access_token")


def revoke_token(
    client: httpx2.Client, *, revocation_url: str, client_id: str, token: str, hint: str
) -> bool:
    """RFC 7009 revocation of one token: POST ``token``, ``token_type_hint`` and ``client_id``
    (a public client authenticates by its id only). True on a 200, also for a token the server
    no longer knew (section 2.2); False when the server answers ``unsupported_token_type`` (it
    does not revoke tokens of this type, section 2.2.1: oidc-provider for its access tokens).
    Anything else raises a :class:`TokenExchangeError` whose message names the status and the
    parsed error, never the token; a caller that shows it must still scrub it (a server may
    echo the request into its error)."""
    from loginkit.core._exceptions import status_text

    if hint not in REVOCATION_HINTS:
        raise ValueError(f"token_type_hint must be one of {REVOCATION_HINTS}, not {hint!r}")
    endpoint = sanitize_url_for_logging(revocation_url)
    body = form_body([("token", token), ("token_type_hint", hint), ("client_id", client_id)])
    response = _send(
        client,
        "POST",
        revocation_url,
        endpoint,
        headers={"Content-Type": FORM},
        content=body,
        log_what="token revocation",
        url_what="revocation endpoint",
        what="revocation response",
    )
    text = _body_text(response, endpoint)
    if response.status_code == 200:
        log_event(logger, logging.INFO, "token revoked", hint=hint)
        return True
    detail = parse_token_endpoint_error(text)
    if response.status_code == 400 and detail.error_code == "unsupported_token_type":
        log_event(logger, logging.INFO, "token type not revocable at this provider", hint=hint)
        return False
    error_code = scrub(detail.error_code or "unknown", [token])
    log_event(
        logger,
        logging.WARNING,
        "token revocation refused",
        hint=hint,
        status=response.status_code,
        error_code=error_code,
    )
    raise TokenExchangeError(
        f"{endpoint} answered {status_text(response.status_code)}"
        + (f" ({sanitize(error_code)})" if detail.error_code else ""),
        endpoint=endpoint,
    )
