"""Device-code sign-in (spec 6 for the Codex variant, RFC 8628 for any other provider).

Codex variant: ``POST {issuer}/api/accounts/deviceauth/usercode`` gives a user code; polling
``.../deviceauth/token`` answers 403/404 while pending and finally an authorization code *with the
PKCE pair the server chose*; that code is exchanged like the browser flow's with
``redirect_uri={issuer}/deviceauth/callback``. Standard variant: the provider's
``device_authorization_endpoint`` (from discovery) and the ``device_code`` grant.

Fixed from the original (spec 16.14): ``interval`` may be a string or a number and never means
busy polling; transient network errors while polling are retried with backoff; an unexpected poll
status shows the server's error text.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from loginkit.core._categories import (
    DeviceFailureCategory,
    DeviceFailurePhase,
    LoginFailureCategory,
)
from loginkit.core._exceptions import DeviceLoginError, ErrorKind
from loginkit.core._limits import Timeouts
from loginkit.core._log import log_event
from loginkit.core._phases import (
    ExchangingToken,
    Failed,
    LoginPhase,
    PersistingCredentials,
    PollingForApproval,
    PollRetrying,
    RequestingDeviceCode,
    ShowingDeviceCode,
    Succeeded,
)
from loginkit.core._profiles import OPENAI_CLIENT_ID, Profile, profile_for
from loginkit.store._home import AuthCredentialsStoreMode

logger = logging.getLogger("loginkit.device")

MAX_WAIT = 15 * 60.0
MIN_INTERVAL = 1.0
MAX_BACKOFF = 30.0
NOT_ENABLED = (
    "device code login is not enabled for this Codex server. Use the browser login or verify the"
    " server URL."
)

ProgressSink = Callable[[LoginPhase], object]


@dataclass(frozen=True)
class DeviceCode:
    """A code to show the person. ``device_auth_id`` (or the RFC 8628 ``device_code``) is a
    secret used only for polling; ``repr`` hides it."""

    verification_url: str
    user_code: str
    interval: float
    expires_in: int
    device_auth_id: str = field(repr=False)
    token_url: str
    issuer: str
    client_id: str
    standard: bool = False
    #: The provider's signing keys, and the ``iss`` its id_tokens carry (from discovery when the
    #: provider has it).
    jwks_url: str = ""
    expected_issuer: str = ""


@dataclass
class DeviceLoginOptions:
    codex_home: Path
    issuer: str
    client_id: str = OPENAI_CLIENT_ID
    store_mode: AuthCredentialsStoreMode = AuthCredentialsStoreMode.FILE
    forced_chatgpt_workspace_id: str | None = None
    timeouts: Timeouts = field(default_factory=Timeouts)
    max_wait: float = MAX_WAIT
    profile: Profile | None = None

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


class _Emitter:
    def __init__(self, sink: ProgressSink | None) -> None:
        self._sink = sink

    def __call__(self, phase: LoginPhase) -> None:
        if self._sink is None:
            return
        try:
            self._sink(phase)
        except Exception:
            self._sink = None

    def fail(
        self,
        phase: DeviceFailurePhase,
        category: LoginFailureCategory | DeviceFailureCategory,
        message: str,
        kind: ErrorKind = ErrorKind.OTHER,
    ) -> DeviceLoginError:
        failure = Failed(phase, category, message)
        self(failure)
        log_event(logger, logging.WARNING, "device code login failed", category=category.value)
        return DeviceLoginError(failure, kind)


def _interval(value: object) -> float:
    try:
        seconds = float(str(value)) if value is not None else 0.0
    except ValueError:
        seconds = 0.0
    return max(seconds, MIN_INTERVAL)


def request_device_code(opts: DeviceLoginOptions, sink: ProgressSink | None = None) -> DeviceCode:
    """Ask for a user code. A 404 (no device sign-in on this server) raises a
    :class:`DeviceLoginError` whose ``not_enabled`` is true, so callers can fall back."""
    import httpx2

    from loginkit.core._exceptions import HttpClientSetupFailure, status_text
    from loginkit.oauth._errors import parse_token_endpoint_error
    from loginkit.oauth._http import build_client
    from loginkit.oauth._token import describe_transport_error

    emit = _Emitter(sink)
    emit(RequestingDeviceCode())
    phase = DeviceFailurePhase.REQUEST_DEVICE_CODE
    failed = DeviceFailureCategory.DEVICE_CODE_REQUEST_FAILED
    profile = opts.resolved_profile
    try:
        client = build_client(opts.timeouts)
    except HttpClientSetupFailure as exc:
        raise emit.fail(phase, failed, str(exc)) from None
    with client:
        try:
            keys_url = ""  # resolved after approval, unless discovery names it now
            expected_issuer = profile.expected_issuer(opts.issuer)
            if profile.name == "openai":
                url = f"{opts.base}/api/accounts/deviceauth/usercode"
                response = client.post(url, json={"client_id": opts.client_id})
            else:
                url, token_url, meta = _discover(client, opts)
                keys_url = meta.get("jwks_uri", "")
                expected_issuer = meta.get("issuer") or expected_issuer
                response = client.post(
                    url, data={"client_id": opts.client_id, "scope": profile.scope}
                )
            text = response.read().decode("utf-8", "replace")
        except httpx2.HTTPError as exc:
            raise emit.fail(
                phase, failed, f"device code request failed: {describe_transport_error(exc)}"
            ) from None
    status = response.status_code
    if status == 404:
        log_event(logger, logging.WARNING, "device code login not enabled", status=status)
        raise emit.fail(
            phase, DeviceFailureCategory.DEVICE_CODE_UNAVAILABLE, NOT_ENABLED, ErrorKind.NOT_FOUND
        )
    if not 200 <= status < 300:
        detail = parse_token_endpoint_error(text)
        raise emit.fail(
            phase, failed, f"device code request failed with status {status_text(status)}: {detail}"
        )
    try:
        data = json.loads(text)
        assert isinstance(data, dict)
    except (ValueError, AssertionError):
        raise emit.fail(phase, failed, "device code response is not a JSON object") from None
    if profile.name == "openai":
        user_code = data.get("user_code", data.get("usercode"))
        device_id = data.get("device_auth_id")
        verification = f"{opts.base}/codex/device"
        token_url = f"{opts.base}/api/accounts/deviceauth/token"
        expires = int(MAX_WAIT)
    else:
        user_code, device_id = data.get("user_code"), data.get("device_code")
        verification = str(data.get("verification_uri") or data.get("verification_url") or "")
        expires = int(data.get("expires_in") or MAX_WAIT)
    if not isinstance(user_code, str) or not isinstance(device_id, str) or not verification:
        raise emit.fail(phase, failed, "device code response is missing fields")
    code = DeviceCode(
        verification_url=verification,
        user_code=user_code,
        interval=_interval(data.get("interval")),
        expires_in=min(expires, int(opts.max_wait)),
        device_auth_id=device_id,
        token_url=token_url,
        issuer=opts.issuer,
        client_id=opts.client_id,
        standard=profile.name != "openai",
        jwks_url=keys_url,
        expected_issuer=expected_issuer,
    )
    log_event(logger, logging.INFO, "device code issued", interval=code.interval)
    emit(ShowingDeviceCode(code.verification_url, code.user_code, code.expires_in))
    return code


def _discover(client: object, opts: DeviceLoginOptions) -> tuple[str, str, dict[str, str]]:
    """Device and token endpoints, and the metadata's other string fields (jwks_uri, issuer)."""
    import httpx2

    assert isinstance(client, httpx2.Client)
    response = client.get(f"{opts.base}/.well-known/openid-configuration")
    if response.status_code == 404:
        return f"{opts.base}/oauth/device/auth", f"{opts.base}/oauth/token", {}
    raw = response.json()
    meta = {k: v for k, v in raw.items() if isinstance(v, str)} if isinstance(raw, dict) else {}
    device = meta.get("device_authorization_endpoint")
    if device is None:
        return f"{opts.base}/device-not-offered", meta.get("token_endpoint", ""), meta
    return device, meta.get("token_endpoint") or f"{opts.base}/oauth/token", meta


@dataclass(frozen=True, repr=False)
class _Approved:
    """What polling ends with: a code and its PKCE verifier (Codex) or tokens (RFC 8628)."""

    authorization_code: str = ""
    code_verifier: str = ""
    tokens: dict[str, str] | None = None


def _poll(
    code: DeviceCode, opts: DeviceLoginOptions, emit: _Emitter, sleep: Callable[[float], None]
) -> _Approved:
    import httpx2

    from loginkit.core._exceptions import status_text
    from loginkit.oauth._errors import parse_token_endpoint_error
    from loginkit.oauth._http import build_client
    from loginkit.oauth._token import describe_transport_error

    phase = DeviceFailurePhase.WAIT_FOR_APPROVAL
    deadline = time.monotonic() + code.expires_in
    interval = code.interval
    backoff = 1.0
    attempt = 0
    with build_client(opts.timeouts) as client:
        while True:
            attempt += 1
            emit(PollingForApproval(attempt))
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
                log_event(
                    logger,
                    logging.WARNING,
                    "device poll transport error; retrying",
                    error=description,
                )
                delay = min(backoff, max(deadline - time.monotonic(), 0))
                emit(PollRetrying(delay=round(delay, 1), error=description))
                backoff = min(backoff * 2, MAX_BACKOFF)
                if time.monotonic() + delay >= deadline:
                    raise emit.fail(
                        phase,
                        DeviceFailureCategory.DEVICE_CODE_EXPIRED,
                        "device auth timed out after 15 minutes",
                    ) from None
                sleep(delay)
                continue
            backoff = 1.0
            status = response.status_code
            if 200 <= status < 300:
                try:
                    data = json.loads(text)
                except ValueError:
                    data = None
                if not isinstance(data, dict):
                    raise emit.fail(
                        phase,
                        DeviceFailureCategory.DEVICE_AUTHORIZATION_FAILED,
                        "device auth answer is not JSON",
                    )
                if code.standard:
                    return _Approved(tokens={k: v for k, v in data.items() if isinstance(v, str)})
                auth_code, verifier = data.get("authorization_code"), data.get("code_verifier")
                if not isinstance(auth_code, str) or not isinstance(verifier, str):
                    raise emit.fail(
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
                    raise emit.fail(
                        phase,
                        DeviceFailureCategory.DEVICE_CODE_EXPIRED,
                        "the device code expired before it was approved",
                    )
                raise emit.fail(
                    phase,
                    DeviceFailureCategory.DEVICE_AUTHORIZATION_FAILED,
                    f"device auth failed with status {status_text(status)}: {detail}",
                )
            if code.standard and detail.error_code == "slow_down":
                interval += 5
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise emit.fail(
                    phase,
                    DeviceFailureCategory.DEVICE_CODE_EXPIRED,
                    "device auth timed out after 15 minutes",
                )
            sleep(min(interval, remaining))


def complete_device_code_login(
    code: DeviceCode,
    opts: DeviceLoginOptions,
    sink: ProgressSink | None = None,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Poll until the code is approved, exchange, check the workspace, save. No API-key step."""
    from loginkit.core._exceptions import IdTokenRejected, JwtFormatError, TokenExchangeError
    from loginkit.oauth._discovery import jwks_url
    from loginkit.oauth._idtoken import parse_id_token, workspace_violation
    from loginkit.oauth._idverify import verify_id_token
    from loginkit.oauth._token import exchange_code_for_tokens, fetch_jwks, parse_token_response
    from loginkit.signin._browser import persist_tokens

    emit = _Emitter(sink)
    approved = _poll(code, opts, emit, sleep)
    emit(ExchangingToken())
    try:
        if approved.tokens is not None:
            tokens = parse_token_response(json.dumps(approved.tokens), code.token_url)
        else:
            tokens = exchange_code_for_tokens(
                token_url=opts.resolved_profile.token_endpoint(opts.base),
                issuer=opts.issuer,
                client_id=opts.client_id,
                redirect_uri=f"{opts.base}/deviceauth/callback",
                code_verifier=approved.code_verifier,
                code=approved.authorization_code,
                timeouts=opts.timeouts,
            )
        parse_id_token(tokens.id_token)
        verify_id_token(
            tokens.id_token,
            jwks=fetch_jwks(
                jwks_url=code.jwks_url or jwks_url(opts.resolved_profile, opts.base, opts.timeouts),
                timeouts=opts.timeouts,
            ),
            issuer=code.expected_issuer or opts.issuer,
            client_id=opts.client_id,
        )
    except IdTokenRejected as exc:
        raise emit.fail(
            DeviceFailurePhase.VALIDATE,
            LoginFailureCategory.ID_TOKEN_INVALID,
            str(exc),
            ErrorKind.INVALID_DATA,
        ) from None
    except TokenExchangeError as exc:
        raise emit.fail(
            DeviceFailurePhase.EXCHANGE_TOKEN, exc.category, f"device code exchange failed: {exc}"
        ) from None
    except JwtFormatError as exc:
        raise emit.fail(
            DeviceFailurePhase.EXCHANGE_TOKEN,
            LoginFailureCategory.TOKEN_RESPONSE_MALFORMED,
            f"device code exchange failed: id_token is not a valid JWT ({exc})",
        ) from None
    violation = workspace_violation(opts.forced_chatgpt_workspace_id, tokens.id_token)
    if violation is not None:
        raise emit.fail(
            DeviceFailurePhase.VALIDATE,
            LoginFailureCategory.WORKSPACE_RESTRICTION,
            violation,
            ErrorKind.PERMISSION_DENIED,
        )
    emit(PersistingCredentials())
    try:
        persist_tokens(
            opts.codex_home,
            opts.store_mode,
            id_token=tokens.id_token,
            access_token=tokens.access_token,
            refresh_token=tokens.refresh_token,
            api_key=None,
        )
    except Exception as exc:
        raise emit.fail(
            DeviceFailurePhase.PERSIST_CREDENTIALS, LoginFailureCategory.PERSIST_FAILED, str(exc)
        ) from None
    log_event(logger, logging.INFO, "device code login completed")
    emit(Succeeded())


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
