"""Device-code sign-in (spec 6 for the Codex variant, RFC 8628 for any other provider).

Codex variant: ``POST {issuer}/api/accounts/deviceauth/usercode`` gives a user code; polling
``.../deviceauth/token`` answers 403/404 while pending and finally an authorization code *with the
PKCE pair the server chose*; that code is exchanged like the browser flow's with
``redirect_uri={issuer}/deviceauth/callback``. Standard variant: the provider's
``device_authorization_endpoint`` (from discovery) and the ``device_code`` grant.

The standard variant follows RFC 8628 as written (see :mod:`loginkit.signin._rfc8628`): the
id_token is optional, ``verification_uri_complete`` and the provider's own ``expires_in`` are
shown, ``slow_down`` adds 5 seconds to the interval for every later poll (section 3.5).

Fixed from the original (spec 16.14): ``interval`` may be a string or a number and never means
busy polling; transient network errors while polling are retried with backoff; an unexpected poll
status shows the server's error text.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from loginkit.core._categories import (
    AnyCategory,
    DeviceFailureCategory,
    DeviceFailurePhase,
    FailurePhase,
    LoginFailureCategory,
    SignInStep,
)
from loginkit.core._device_phases import (
    PollingForApproval,
    PollRetrying,
    RequestingDeviceCode,
    ShowingDeviceCode,
)
from loginkit.core._exceptions import (
    DeviceLoginError,
    DiscoveryError,
    ErrorKind,
    HttpClientSetupError,
    ResponseMalformedError,
    SignInStepError,
)
from loginkit.core._limits import Timeouts
from loginkit.core._log import log_event
from loginkit.core._phases import Emitter, ExchangingToken, Failed, ProgressSink, Succeeded
from loginkit.core._profiles import OPENAI_CLIENT_ID, Profile, profile_for
from loginkit.core._redact import sanitize_url_for_logging, scrub
from loginkit.oauth._errors import json_object
from loginkit.oauth._provider import Provider
from loginkit.signin._rfc8628 import poll_interval, timed_out_words
from loginkit.store._home import AuthCredentialsStoreMode

_interval = poll_interval  # the name the tests know

logger = logging.getLogger("loginkit.device")

MAX_WAIT = 15 * 60.0
MAX_BACKOFF = 30.0
NOT_ENABLED = (
    "device code login is not enabled for this Codex server. Use the browser login or verify the"
    " server URL."
)
#: The standard variant's words for the same (no Codex server there).
NOT_ANNOUNCED = "the provider's discovery document announces no device_authorization_endpoint"
NOT_FOUND = "the provider's device authorization endpoint answered 404 Not Found"


@dataclass(frozen=True)
class DeviceCode:
    """A code to show the person. ``device_auth_id`` (or the RFC 8628 ``device_code``) is a
    secret used only for polling; ``repr`` hides it.

    It carries the run's :class:`~loginkit.oauth._provider.Provider` (the same HTTP client and
    discovery document) to :func:`complete_device_code_login`; complete every code you request,
    or the provider's connections stay open until the code is garbage-collected.
    """

    verification_url: str
    user_code: str
    interval: float
    expires_in: int
    device_auth_id: str = field(repr=False)
    token_url: str
    issuer: str
    client_id: str
    standard: bool = False
    provider: Provider | None = field(default=None, repr=False, compare=False)
    #: RFC 8628 ``verification_uri_complete`` (the link with the code in it), when sent.
    verification_url_complete: str | None = None


@dataclass
class DeviceLoginOptions:
    """How to start one device-code sign-in (the browser flow's :class:`ServerOptions` twin)."""

    codex_home: Path
    issuer: str
    client_id: str = OPENAI_CLIENT_ID
    store_mode: AuthCredentialsStoreMode = AuthCredentialsStoreMode.FILE
    forced_chatgpt_workspace_id: str | None = None
    timeouts: Timeouts = field(default_factory=Timeouts)
    #: Stop polling after this many seconds at most. None: the code's own lifetime (the
    #: provider's ``expires_in``; Codex's codes live :data:`MAX_WAIT`). A smaller value also
    #: shortens the lifetime the prompt shows, never the other way round.
    max_wait: float | None = None
    profile: Profile | None = None
    #: Replace a stored sign-in of another issuer or client id (refused by default).
    replace_other_record: bool = False

    @property
    def resolved_profile(self) -> Profile:
        return (
            self.profile.with_issuer(self.issuer)
            if self.profile
            else profile_for(self.issuer, self.client_id)
        )

    @property
    def base(self) -> str:
        return self.issuer.rstrip("/")


class _Run:
    """One device run's emitter, secrets and failure helper."""

    def __init__(self, sink: ProgressSink | None, secrets: Sequence[str] = ()) -> None:
        self.emit = Emitter(sink)
        self.secrets = [s for s in secrets if s]

    def fail(
        self,
        phase: FailurePhase,
        category: AnyCategory,
        message: str,
        kind: ErrorKind = ErrorKind.OTHER,
    ) -> DeviceLoginError:
        failure = Failed(phase, category, scrub(message, self.secrets))
        self.emit(failure)
        log_event(logger, logging.WARNING, "device code login failed", category=category.value)
        return DeviceLoginError(failure, kind)


def request_device_code(opts: DeviceLoginOptions, sink: ProgressSink | None = None) -> DeviceCode:
    """Ask for a user code. A server without device sign-in raises a :class:`DeviceLoginError`
    whose ``not_enabled`` is true, so callers can fall back; any other failure is classified."""
    import httpx2

    from loginkit.core._exceptions import status_text
    from loginkit.oauth._errors import parse_token_endpoint_error
    from loginkit.oauth._token import describe_transport_error

    run = _Run(sink)
    run.emit(RequestingDeviceCode())
    phase = DeviceFailurePhase.REQUEST_DEVICE_CODE
    failed = DeviceFailureCategory.DEVICE_CODE_REQUEST_FAILED
    profile = opts.resolved_profile
    provider = Provider(profile, opts.issuer, opts.timeouts)
    try:
        if profile.name == "openai":
            url = f"{opts.base}/api/accounts/deviceauth/usercode"
            client = provider.client(sanitize_url_for_logging(url))
            response = client.post(url, json={"client_id": opts.client_id})
        else:
            try:
                metadata = provider.discovery_document()
                provider.discover()
            except DiscoveryError as exc:
                raise run.fail(
                    phase,
                    LoginFailureCategory.PROVIDER_DISCOVERY_FAILED,
                    exc.reason,
                    ErrorKind.NOT_FOUND,
                ) from None
            url = str(metadata.get("device_authorization_endpoint") or "")
            if not url:
                log_event(logger, logging.WARNING, "provider announces no device authorization")
                raise run.fail(
                    phase,
                    DeviceFailureCategory.DEVICE_CODE_UNAVAILABLE,
                    NOT_ANNOUNCED,
                    ErrorKind.NOT_FOUND,
                )
            client = provider.client(sanitize_url_for_logging(url))
            response = client.post(url, data={"client_id": opts.client_id, "scope": profile.scope})
        text = response.read().decode("utf-8", "replace")
    except HttpClientSetupError as exc:
        provider.close()
        raise run.fail(phase, failed, exc.detail) from None
    except httpx2.HTTPError as exc:
        provider.close()
        raise run.fail(
            phase, failed, f"device code request failed: {describe_transport_error(exc)}"
        ) from None
    except BaseException:
        provider.close()
        raise
    status = response.status_code
    try:
        if status == 404:
            log_event(logger, logging.WARNING, "device code login not enabled", status=status)
            raise run.fail(
                phase,
                DeviceFailureCategory.DEVICE_CODE_UNAVAILABLE,
                NOT_ENABLED if profile.name == "openai" else NOT_FOUND,
                ErrorKind.NOT_FOUND,
            )
        if not 200 <= status < 300:
            detail = parse_token_endpoint_error(text)
            raise run.fail(
                phase,
                failed,
                f"device code request failed with status {status_text(status)}: {detail}",
            )
        data = json_object(text)
        if data is None:
            raise run.fail(
                phase, failed, "device code response is not a JSON object", ErrorKind.INVALID_DATA
            )
        complete: str | None = None
        user_code: object = None
        device_id: object = None
        verification = ""
        expires = MAX_WAIT
        if profile.name == "openai":
            user_code = data.get("user_code", data.get("usercode"))
            device_id = data.get("device_auth_id")
            verification = f"{opts.base}/codex/device"
            token_url = f"{opts.base}/api/accounts/deviceauth/token"
        else:
            from loginkit.signin._rfc8628 import parse_device_authorization

            try:
                started = parse_device_authorization(data, MAX_WAIT)
            except ValueError:
                started = None
            if started is not None:
                user_code, device_id = started.user_code, started.device_code
                verification, complete = started.verification_uri, started.verification_uri_complete
                expires = started.expires_in
            token_url = provider.token_endpoint()
        if not isinstance(user_code, str) or not isinstance(device_id, str) or not verification:
            raise run.fail(
                phase, failed, "device code response is missing fields", ErrorKind.INVALID_DATA
            )
    except BaseException:
        provider.close()
        raise
    code = DeviceCode(
        verification_url=verification,
        user_code=user_code,
        interval=_interval(data.get("interval")),
        expires_in=int(min(expires, opts.max_wait if opts.max_wait is not None else expires)),
        device_auth_id=device_id,
        token_url=token_url,
        issuer=opts.issuer,
        client_id=opts.client_id,
        standard=profile.name != "openai",
        provider=provider,
        verification_url_complete=complete,
    )
    log_event(
        logger, logging.INFO, "device code issued", interval=code.interval, expires_in=expires
    )
    run.emit(
        ShowingDeviceCode(
            code.verification_url, code.user_code, code.expires_in, code.verification_url_complete
        )
    )
    return code


@dataclass(frozen=True, repr=False)
class _Approved:
    """What polling ends with: a code and its PKCE verifier (Codex) or tokens (RFC 8628)."""

    authorization_code: str = ""
    code_verifier: str = ""
    tokens: dict[str, object] | None = None


def _poll(
    code: DeviceCode,
    provider: Provider,
    run: _Run,
    sleep: Callable[[float], None],
) -> _Approved:
    import httpx2

    from loginkit.core._exceptions import status_text
    from loginkit.oauth._errors import parse_token_endpoint_error
    from loginkit.oauth._token import describe_transport_error

    phase = DeviceFailurePhase.WAIT_FOR_APPROVAL
    deadline = time.monotonic() + code.expires_in
    interval = code.interval
    backoff = 1.0
    attempt = 0
    try:
        client = provider.client(sanitize_url_for_logging(code.token_url))
    except HttpClientSetupError as exc:
        raise run.fail(
            phase, DeviceFailureCategory.DEVICE_AUTHORIZATION_FAILED, exc.detail
        ) from None
    while True:
        attempt += 1
        run.emit(PollingForApproval(attempt))
        try:
            if code.standard:
                response = client.post(
                    code.token_url,
                    data={
                        "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
                        "device_code": code.device_auth_id,
                        "client_id": code.client_id,
                    },
                )
            else:
                response = client.post(
                    code.token_url,
                    json={"device_auth_id": code.device_auth_id, "user_code": code.user_code},
                )
            text = response.read().decode("utf-8", "replace")
        except httpx2.HTTPError as exc:
            description = describe_transport_error(exc)
            if isinstance(exc, httpx2.UnsupportedProtocol):  # plain http refused: never retried
                raise run.fail(
                    phase, DeviceFailureCategory.DEVICE_AUTHORIZATION_FAILED, description
                ) from None
            log_event(
                logger, logging.WARNING, "device poll transport error; retrying", error=description
            )
            delay = min(backoff, max(deadline - time.monotonic(), 0))
            run.emit(PollRetrying(delay=round(delay, 1), error=description))
            backoff = min(backoff * 2, MAX_BACKOFF)
            if time.monotonic() + delay >= deadline:
                raise run.fail(
                    phase,
                    DeviceFailureCategory.DEVICE_CODE_EXPIRED,
                    timed_out_words(code.standard, code.expires_in),
                ) from None
            sleep(delay)
            continue
        backoff = 1.0
        status = response.status_code
        if 200 <= status < 300:
            data = json_object(text)
            if data is None:
                raise run.fail(
                    phase,
                    DeviceFailureCategory.DEVICE_AUTHORIZATION_FAILED,
                    "device auth answer is not JSON",
                )
            if code.standard:
                return _Approved(tokens=data)
            auth_code, verifier = data.get("authorization_code"), data.get("code_verifier")
            if not isinstance(auth_code, str) or not isinstance(verifier, str):
                raise run.fail(
                    phase,
                    DeviceFailureCategory.DEVICE_AUTHORIZATION_FAILED,
                    "device auth answer is missing the authorization code",
                )
            return _Approved(authorization_code=auth_code, code_verifier=verifier)
        detail = parse_token_endpoint_error(text)
        pending = (
            status in (403, 404)
            if not code.standard
            else detail.error_code in ("authorization_pending", "slow_down")
        )
        if not pending:
            if code.standard and detail.error_code == "expired_token":
                raise run.fail(
                    phase,
                    DeviceFailureCategory.DEVICE_CODE_EXPIRED,
                    "the device code expired before it was approved",
                )
            raise run.fail(
                phase,
                DeviceFailureCategory.DEVICE_AUTHORIZATION_FAILED,
                f"device auth failed with status {status_text(status)}: {detail}",
            )
        if code.standard and detail.error_code == "slow_down":
            interval += 5
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise run.fail(
                phase,
                DeviceFailureCategory.DEVICE_CODE_EXPIRED,
                timed_out_words(code.standard, code.expires_in),
            )
        sleep(min(interval, remaining))


def complete_device_code_login(
    code: DeviceCode,
    opts: DeviceLoginOptions,
    sink: ProgressSink | None = None,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Poll until the code is approved, then exchange and finish like the browser flow (verify
    the id_token, check the workspace, save). No API-key step, as in the Codex CLI."""
    provider = code.provider or Provider(opts.resolved_profile, opts.issuer, opts.timeouts)
    try:
        _complete(code, provider, opts, sink, sleep)
    finally:
        provider.close()


def _complete(
    code: DeviceCode,
    provider: Provider,
    opts: DeviceLoginOptions,
    sink: ProgressSink | None,
    sleep: Callable[[float], None],
) -> None:
    from loginkit.signin._finish import Destination, exchange_code, finish_sign_in
    from loginkit.signin._rfc8628 import device_grant_tokens

    run = _Run(sink, [code.device_auth_id, code.user_code])
    approved = _poll(code, provider, run, sleep)
    run.secrets += [approved.authorization_code, approved.code_verifier]
    run.emit(ExchangingToken())
    try:
        if approved.tokens is not None:
            try:
                tokens = device_grant_tokens(
                    approved.tokens, sanitize_url_for_logging(code.token_url)
                )
            except ResponseMalformedError as exc:
                raise SignInStepError(SignInStep.EXCHANGE_TOKEN, exc.category, str(exc)) from None
        else:
            tokens = exchange_code(
                provider,
                client_id=opts.client_id,
                code=approved.authorization_code,
                code_verifier=approved.code_verifier,
                redirect_uri=f"{opts.base}/deviceauth/callback",
                secrets=run.secrets,
            )
        finish_sign_in(
            tokens,
            provider,
            Destination(
                codex_home=opts.codex_home,
                store_mode=opts.store_mode,
                client_id=opts.client_id,
                workspace_id=opts.forced_chatgpt_workspace_id,
                replace_other=opts.replace_other_record,
                # RFC 8628: the device grant's answer may carry no id_token.
                id_token_optional=code.standard,
            ),
            emit=run.emit,
            secrets=run.secrets,
        )
    except SignInStepError as exc:
        message = exc.message
        if exc.step is SignInStep.EXCHANGE_TOKEN:
            message = f"device code exchange failed: {message}"
        raise run.fail(exc.step.for_device(), exc.category, message, exc.kind) from None
    log_event(logger, logging.INFO, "device code login completed")
    run.emit(Succeeded())


def run_device_code_login(
    opts: DeviceLoginOptions,
    sink: ProgressSink | None = None,
    *,
    on_code: Callable[[DeviceCode], None] | None = None,
) -> None:
    """Request a code, hand it to ``on_code`` (show it!), then complete the sign-in."""
    code = request_device_code(opts, sink)
    if on_code is not None:
        on_code(code)
    complete_device_code_login(code, opts, sink)


async def arun_device_code_login(
    opts: DeviceLoginOptions,
    sink: ProgressSink | None = None,
    *,
    on_code: Callable[[DeviceCode], None] | None = None,
) -> None:
    """:func:`run_device_code_login` for asyncio callers: polling runs off the event loop.

    ``on_code`` and ``sink`` are called from a worker thread.
    """
    import asyncio

    await asyncio.to_thread(run_device_code_login, opts, sink, on_code=on_code)
