"""Every exception loginkit raises on purpose, in one tree. Messages never contain a secret.

    LoginkitError
    ├── LoginError                  a sign-in did not complete (kind, failure event)
    │   └── DeviceLoginError        ... a device-code sign-in (not_enabled: fall back)
    ├── SignInStepError             exchange, verification, workspace or save failed
    ├── TokenExchangeError          a provider endpoint failed (category says how)
    │   ├── HttpClientSetupError    the HTTP client could not be built (bad CA bundle)
    │   ├── TransportError          timeout / connect / other transport failure
    │   ├── EndpointRejectedError   a non-2xx answer, with the parsed OAuth error body
    │   └── ResponseMalformedError  a 2xx answer that is not what the protocol says
    ├── DiscoveryError              the issuer's discovery document is unusable
    ├── IdTokenRejected             the id_token failed verification
    ├── JwtFormatError              not a JWT at all (also a ValueError)
    ├── HttpClientSetupFailure      the CA bundle or proxy settings are unusable
    ├── CredentialStoreError        credentials could not be read, written or removed
    │   └── KeyringUnavailableError no usable OS keyring
    ├── NotLoggedInError            nothing stored
    ├── RefreshError                the access token could not be refreshed (permanent?)
    ├── CodexHomeError              the home directory is unusable
    └── ConfigError                 config.toml is unreadable or invalid

What a failure *is* (its category) is a property of the error, never a string match: a
:class:`LoginError` carries the :class:`~loginkit.core._phases.Failed` event that reported it,
when one was emitted, so a UI can tell whether the person has already seen it; a
:class:`TokenExchangeError` knows its :class:`~loginkit.core._categories.LoginFailureCategory`,
classified when it is built from the HTTP library's exception type.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

from loginkit.core._categories import (
    AnyCategory,
    DeviceFailureCategory,
    LoginFailureCategory,
    SignInStep,
)

if TYPE_CHECKING:
    from loginkit.core._phases import Failed


class ErrorKind(enum.Enum):
    """Coarse outcome kinds, mirroring the seed's ``io::ErrorKind`` values."""

    INTERRUPTED = "interrupted"
    OTHER = "other"
    PERMISSION_DENIED = "permission_denied"
    INVALID_DATA = "invalid_data"
    ADDR_IN_USE = "addr_in_use"
    TIMED_OUT = "timed_out"
    NOT_FOUND = "not_found"


class LoginkitError(Exception):
    """Root of every error loginkit raises on purpose. Messages never contain a secret."""


class LoginError(LoginkitError):
    """A sign-in did not complete.

    ``failure`` is the ``Failed`` event this run emitted for this very error, or ``None`` when no
    event was emitted (a ``/cancel`` from a newer login, for example). UIs use it to avoid showing
    the same failure twice, and to still show a final error when it was never shown.
    """

    def __init__(
        self, message: str, *, kind: ErrorKind = ErrorKind.OTHER, failure: Failed | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.failure = failure

    def __str__(self) -> str:
        return self.message


class DeviceLoginError(LoginError):
    """A device-code sign-in failed; ``failure`` is the event that reported it (always set).

    ``not_enabled`` says the server has no device sign-in and ``unusable_answer`` that it answered
    with something that is not a device code: the two failures after which ``--device-auth=auto``
    falls back to the browser.
    """

    failure: Failed

    def __init__(self, failure: Failed, kind: ErrorKind = ErrorKind.OTHER) -> None:
        super().__init__(failure.message, kind=kind, failure=failure)

    @property
    def not_enabled(self) -> bool:
        return self.failure.category is DeviceFailureCategory.DEVICE_CODE_UNAVAILABLE

    @property
    def unusable_answer(self) -> bool:
        """The device code request was answered with something that is not a device code (not
        JSON, fields missing): the other reason a fallback to the browser makes sense."""
        return (
            self.failure.category is DeviceFailureCategory.DEVICE_CODE_REQUEST_FAILED
            and self.kind is ErrorKind.INVALID_DATA
        )


class SignInStepError(LoginkitError):
    """A step after the provider answered failed: the code exchange, the id_token verification,
    the workspace check or saving the credentials.

    Raised by the one finishing step both flows share; each flow turns it into its own
    ``Failed`` event (``step.for_browser()`` / ``step.for_device()``). The message was scrubbed
    of the run's secrets once, where it was built.
    """

    def __init__(
        self,
        step: SignInStep,
        category: AnyCategory,
        message: str,
        kind: ErrorKind = ErrorKind.OTHER,
    ) -> None:
        super().__init__(message)
        self.step = step
        self.category = category
        self.message = message
        self.kind = kind

    def __str__(self) -> str:
        return self.message


class TokenEndpointErrorDetail:
    """What an error body said. ``error_code``/``error_message`` come from parsed JSON only.

    ``display`` may be the raw body when it was not JSON: fit to show a person, not to log.
    A plain class, not a dataclass: this module loads before the sign-in link is printed, and a
    dataclass costs a third of a millisecond to define.
    """

    __slots__ = ("display", "error_code", "error_message")

    def __init__(self, error_code: str | None, error_message: str | None, display: str) -> None:
        self.error_code = error_code
        self.error_message = error_message
        self.display = display

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TokenEndpointErrorDetail):
            return NotImplemented
        return (self.error_code, self.error_message, self.display) == (
            other.error_code,
            other.error_message,
            other.display,
        )

    def __hash__(self) -> int:
        return hash((self.error_code, self.error_message, self.display))

    def __repr__(self) -> str:
        return (
            f"TokenEndpointErrorDetail(error_code={self.error_code!r},"
            f" error_message={self.error_message!r}, display={self.display!r})"
        )

    @property
    def from_json(self) -> bool:
        return self.error_code is not None or self.error_message is not None

    def __str__(self) -> str:
        return self.display


def status_text(status: int) -> str:
    """``403 Forbidden``, the way the seed's HTTP library prints a status."""
    import http  # only when an error is worded: not on the way to the link

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


class DiscoveryError(LoginkitError):
    """The issuer's discovery document could not be had, or it describes another issuer.
    ``reason`` says which, with the sanitised URL; the category is always
    ``provider_discovery_failed``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class IdTokenRejected(LoginkitError):
    """The id_token failed verification. ``reason`` says which check; no token text."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"id_token verification failed: {reason}")
        self.reason = reason


class JwtFormatError(LoginkitError, ValueError):
    """The value is not a three-part JWT with a base64url JSON object as payload."""


class HttpClientSetupFailure(LoginkitError):
    """The client could not be built; the message is the spec's text, ending with the hint."""


class CredentialStoreError(LoginkitError):
    """Credentials could not be read, written or removed; the message says which and where."""


class KeyringUnavailableError(CredentialStoreError):
    """No usable OS keyring (no Secret Service, locked, or only an insecure backend)."""


class NotLoggedInError(LoginkitError):
    """There are no stored credentials."""


class RefreshError(LoginkitError):
    """The access token could not be refreshed.

    ``permanent`` failures need a new sign-in (the message says so); transient ones (network,
    5xx) may succeed on a later try. ``reason`` is a stable id: expired, exhausted, revoked,
    other, or transient.
    """

    def __init__(self, message: str, *, permanent: bool, reason: str) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.reason = reason


class CodexHomeError(LoginkitError):
    """``CODEX_HOME`` points somewhere unusable (missing, or not a directory)."""


class ConfigError(LoginkitError):
    """config.toml could not be read or holds a value loginkit cannot use."""
