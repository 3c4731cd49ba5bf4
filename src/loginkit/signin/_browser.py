"""One browser sign-in, start to finish: bind, link, serve, exchange, persist, redirect.

Start-up order matters to a person waiting for the link. :meth:`LoginRun.bind` needs only light
standard-library modules (socket, secrets, hashlib, base64, urllib.parse): it builds PKCE and state,
binds the port (retrying, and asking a stale login server to stand down) and builds the authorize
URL. :meth:`LoginRun.start` then loads asyncio and h11 and starts serving on a background thread;
the OS queues the browser's connection on the listening socket meanwhile. httpx2 loads when the
first exchange needs it (and is pre-warmed in the background).

The blocking and the asyncio API share this one core: the server always runs on its own event loop
thread, and :class:`LoginServer` offers both ``block_until_done()`` and ``await wait()``.
"""

from __future__ import annotations

import errno
import logging
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from loginkit.core._categories import LoginFailureCategory, LoginFailurePhase
from loginkit.core._exceptions import ErrorKind, LoginError
from loginkit.core._limits import ServerLimits, Timeouts
from loginkit.core._log import log_event
from loginkit.core._phases import (
    BindingLocalServer,
    ExchangingToken,
    Failed,
    LocalServerBound,
    LoginPhase,
    OpeningBrowser,
    PersistingCredentials,
    PreviousLoginServerDetected,
    ProgressSink,
    Succeeded,
    WaitingForCallback,
)
from loginkit.core._profiles import (
    DEFAULT_PORT,
    OPENAI_CLIENT_ID,
    OPENAI_ISSUER,
    Profile,
    profile_for,
)
from loginkit.core._redact import scrub
from loginkit.loopback._listen import LOOPBACK, listen, send_cancel_request
from loginkit.oauth._authorize import build_authorize_url
from loginkit.oauth._pkce import generate_pkce, generate_state
from loginkit.signin._prelinked import Prelinked
from loginkit.store._home import AuthCredentialsStoreMode

if TYPE_CHECKING:
    import asyncio
    import concurrent.futures

    from loginkit.loopback._callback import CallbackContext, Decision, Request, Response, RunResult
    from loginkit.loopback._server import LoopbackServer

logger = logging.getLogger("loginkit.server")

BIND_ATTEMPTS = 10
BIND_RETRY_DELAY = 0.2
READY_TIMEOUT = 2.0
DEFAULT_LOGIN_TIMEOUT = 600.0
#: A Location header longer than this is refused by common proxies and some browsers.
MAX_REDIRECT_LENGTH = 16 * 1024


@dataclass
class ServerOptions:
    """How to start one browser sign-in. Startup configuration only.

    Observers belong to a run, not here: pass a progress sink to
    :func:`run_login_server_with_progress`. ``force_state`` is for tests; a fixed state outside
    tests defeats the CSRF check it exists for. Headless callers should set ``open_browser`` to
    False and show :attr:`LoginServer.auth_url` themselves.
    """

    codex_home: Path
    client_id: str = OPENAI_CLIENT_ID
    issuer: str = OPENAI_ISSUER
    #: Preferred loopback port; 0 asks the OS for a free one (no stale-server takeover then).
    port: int = DEFAULT_PORT
    #: The IPv4 address to listen on. Keep the loopback default (RFC 8252): "0.0.0.0" is for a
    #: container whose port is published to the host's loopback (spec 16.9), where the
    #: container's own loopback cannot be reached from outside.
    bind_address: str = LOOPBACK
    open_browser: bool = True
    force_state: str | None = field(default=None, repr=False)
    forced_chatgpt_workspace_id: str | None = None
    cli_auth_credentials_store_mode: AuthCredentialsStoreMode = AuthCredentialsStoreMode.FILE
    #: A sign-in nobody completes ends as ``login_cancelled`` after this many seconds (None: never).
    login_timeout: float | None = DEFAULT_LOGIN_TIMEOUT
    #: Limits for every token-endpoint request.
    timeouts: Timeouts = field(default_factory=Timeouts)
    limits: ServerLimits = field(default_factory=ServerLimits)
    #: Words, endpoints and parameters; derived from ``issuer``/``client_id`` when None.
    profile: Profile | None = None

    def __post_init__(self) -> None:
        self.codex_home = Path(self.codex_home)
        try:
            socket.inet_pton(socket.AF_INET, self.bind_address)
        except (OSError, TypeError):
            raise ValueError(
                f"bind_address must be an IPv4 address such as 127.0.0.1 or 0.0.0.0, "
                f"not {self.bind_address!r}"
            ) from None
        workspace = (self.forced_chatgpt_workspace_id or "").strip()
        self.forced_chatgpt_workspace_id = workspace or None

    @classmethod
    def openai(cls, codex_home: Path | str, **overrides: Any) -> ServerOptions:
        """The Codex CLI's defaults: auth.openai.com, Codex's client id, port 1455."""
        return cls(codex_home=Path(codex_home), **overrides)

    @property
    def resolved_profile(self) -> Profile:
        if self.profile is not None:
            return self.profile.with_issuer(self.issuer)
        return profile_for(self.issuer, self.client_id)


class _Emitter:
    """Delivers phases to the sink, in order, from any thread. A failing sink is dropped."""

    def __init__(self, sink: ProgressSink | None) -> None:
        self._sink = sink
        self._lock = threading.Lock()

    def emit(self, phase: LoginPhase) -> None:
        with self._lock:
            sink = self._sink
            if sink is None:
                return
            try:
                sink(phase)
            except Exception as exc:
                self._sink = None
                log_event(
                    logger,
                    logging.WARNING,
                    "progress sink failed; dropping it",
                    error=type(exc).__name__,
                )


def _format_duration(seconds: float) -> str:
    if seconds >= 60 and seconds % 60 == 0:
        minutes = int(seconds // 60)
        return f"{minutes} minute" + ("" if minutes == 1 else "s")
    return f"{seconds:g} seconds"


class LoginRun:
    """The state of one browser sign-in. Use the public helpers unless you need the two steps.

    ``bind()`` then ``start()`` then optionally ``launch_browser()``: the CLI prints the link between
    the first two, so it is out before anything heavy is imported.
    """

    def __init__(self, opts: ServerOptions, sink: ProgressSink | None = None) -> None:
        self.opts = opts
        self.profile = opts.resolved_profile
        self._emitter = _Emitter(sink)
        self._pkce = generate_pkce()
        self._state = opts.force_state if opts.force_state is not None else generate_state()
        self._sockets: list[socket.socket] = []
        self.actual_port = 0
        self.auth_url = ""
        self.redirect_uri = ""
        self._ready = threading.Event()
        # Created on first use: concurrent.futures is not needed before the link is out.
        self._result_slot: concurrent.futures.Future[RunResult] | None = None
        self._lock = threading.Lock()
        self._result_lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._done: asyncio.Future[RunResult] | None = None
        self._pending_finish: tuple[RunResult, Failed | None] | None = None
        self._ctx: CallbackContext | None = None
        self._inflight: asyncio.Future[Decision] | None = None
        self._server: LoopbackServer | None = None
        self._thread: threading.Thread | None = None

    def emit(self, phase: LoginPhase) -> None:
        self._emitter.emit(phase)

    # -- start-up (light imports only) -------------------------------------------------------

    def _bind_failure(
        self,
        message: str,
        kind: ErrorKind,
        category: LoginFailureCategory = LoginFailureCategory.LOCAL_SERVER_UNAVAILABLE,
    ) -> LoginError:
        failure = Failed(LoginFailurePhase.BIND_LOCAL_SERVER, category, message)
        self.emit(failure)
        return LoginError(message, kind=kind, failure=failure)

    def bind(self) -> None:
        """Bind ``127.0.0.1:port`` (and ``[::1]`` when the host has it) and build the auth URL."""
        port = self.opts.port
        address = self.opts.bind_address
        started = time.monotonic()
        attempts = 0
        cancel_attempted = False
        while True:
            log_event(
                logger,
                logging.INFO,
                "binding local callback server",
                attempt=attempts + 1,
                port=port,
            )
            self.emit(BindingLocalServer(attempt=attempts + 1))
            try:
                v4 = listen(socket.AF_INET, address, port)
                break
            except OSError as exc:
                attempts += 1
                if exc.errno == errno.EADDRINUSE:
                    if not cancel_attempted:
                        cancel_attempted = True
                        log_event(
                            logger,
                            logging.WARNING,
                            "previous login server detected on callback port; cancelling stale session",
                            attempt=attempts,
                            port=port,
                        )
                        self.emit(PreviousLoginServerDetected(attempt=attempts))
                        try:
                            send_cancel_request(port, address=address)
                        except OSError as cancel_err:
                            log_event(
                                logger,
                                logging.WARNING,
                                "failed to cancel previous login server",
                                cancel_err=str(cancel_err),
                                port=port,
                            )
                    time.sleep(BIND_RETRY_DELAY)
                    if attempts >= BIND_ATTEMPTS:
                        elapsed = int((time.monotonic() - started) * 1000)
                        log_event(
                            logger,
                            logging.ERROR,
                            "local callback server port remained in use",
                            port=port,
                            attempts=attempts,
                            elapsed_ms=elapsed,
                        )
                        raise self._bind_failure(
                            f"Port {address}:{port} is already in use after {elapsed} ms",
                            ErrorKind.ADDR_IN_USE,
                        ) from None
                    continue
                category = LoginFailureCategory.LOCAL_SERVER_UNAVAILABLE
                if exc.errno in (errno.EACCES, errno.EPERM):
                    category = LoginFailureCategory.LOCAL_PORT_FORBIDDEN
                    message = (
                        f"Port {address}:{port} is reserved or not permitted by the operating system"
                        f" ({exc.strerror}); choose another port with --port"
                    )
                else:
                    message = f"Could not listen on {address}:{port}: {exc.strerror or exc}"
                log_event(
                    logger,
                    logging.ERROR,
                    "failed to bind local callback server",
                    port=port,
                    error=message,
                )
                raise self._bind_failure(message, ErrorKind.OTHER, category) from None
        self._sockets = [v4]
        self.actual_port = v4.getsockname()[1]
        try:
            # Browsers that resolve "localhost" to ::1 must reach us too.
            self._sockets.append(listen(socket.AF_INET6, "::1", self.actual_port))
        except OSError as exc:
            log_event(
                logger, logging.INFO, "ipv6 loopback not used", reason=exc.strerror or str(exc)
            )
        self.emit(LocalServerBound(port=self.actual_port))
        log_event(logger, logging.INFO, "local callback server bound", port=self.actual_port)
        if self.profile.discover:
            # Generic providers only: the openai profile's link never waits for the network.
            from loginkit.oauth._discovery import discover

            self.profile = discover(self.profile, self.opts.issuer, self.opts.timeouts)
        self.redirect_uri = f"http://{self.profile.redirect_host}:{self.actual_port}/auth/callback"
        self.auth_url = build_authorize_url(
            self.profile,
            issuer=self.opts.issuer,
            client_id=self.opts.client_id,
            redirect_uri=self.redirect_uri,
            pkce=self._pkce,
            state=self._state,
            workspace_id=self.opts.forced_chatgpt_workspace_id,
        )

    def adopt(self, ready: Prelinked) -> None:
        """Take over what :func:`loginkit.signin._prelinked.prelink` bound and printed, instead of
        :meth:`bind`: the sockets, the port, the PKCE pair, the state and the link."""
        if self.opts.port not in (0, ready.port) or self.opts.force_state is not None:
            ready.close()
            raise ValueError("the prelinked sign-in does not match these options")
        self.emit(BindingLocalServer(attempt=1))
        log_event(logger, logging.INFO, "binding local callback server", attempt=1, port=ready.port)
        self._sockets = list(ready.sockets)
        self.actual_port = ready.port
        self._pkce = ready.pkce
        self._state = ready.state
        self.redirect_uri = ready.redirect_uri
        self.auth_url = ready.auth_url
        self.emit(LocalServerBound(port=self.actual_port))
        log_event(logger, logging.INFO, "local callback server bound", port=self.actual_port)

    def start(self) -> None:
        """Start serving on a background event loop; returns once the handler is ready."""
        from loginkit.loopback._callback import CallbackContext

        self._ctx = CallbackContext(
            expected_state=self._state, port=self.actual_port, profile=self.profile
        )
        self._thread = threading.Thread(
            target=self._thread_main, name="loginkit-callback-server", daemon=True
        )
        self._thread.start()
        if not self._ready.wait(READY_TIMEOUT):
            log_event(logger, logging.ERROR, "timed out waiting for callback handler readiness")
            self._abandon()
            raise self._bind_failure(
                "Timed out waiting for callback handler readiness", ErrorKind.OTHER
            )

    def launch_browser(self) -> None:
        """Open the system browser on a helper thread; a slow or failing launcher is non-fatal."""
        self.emit(OpeningBrowser())
        log_event(logger, logging.INFO, "opening browser for oauth authorization")

        def _open() -> None:
            try:
                import webbrowser

                if webbrowser.open(self.auth_url):
                    return
                message = "No browser found"
            except Exception as exc:
                message = scrub(str(exc), [self.auth_url]) or type(exc).__name__
            log_event(
                logger,
                logging.WARNING,
                "failed to open browser for oauth authorization",
                err=message,
            )
            self.emit(
                Failed(
                    LoginFailurePhase.OPEN_BROWSER,
                    LoginFailureCategory.BROWSER_LAUNCH_FAILED,
                    message,
                )
            )

        threading.Thread(target=_open, name="loginkit-browser", daemon=True).start()

    # -- the event loop thread -------------------------------------------------------------------

    def _thread_main(self) -> None:
        import asyncio

        loop = asyncio.new_event_loop()
        try:
            result = loop.run_until_complete(self._serve())
        except BaseException as exc:  # pragma: no cover - a bug, reported rather than hung
            from loginkit.loopback._callback import Outcome, RunResult

            result = RunResult(
                Outcome.FAILURE, f"login server thread panicked: {type(exc).__name__}: {exc}"
            )
        finally:
            for sock in self._sockets:
                sock.close()
            loop.close()
        if not self._result.done():
            self._result.set_result(result)

    async def _serve(self) -> RunResult:
        import asyncio

        from loginkit.loopback._server import LoopbackServer

        loop = asyncio.get_running_loop()
        self._server = LoopbackServer(self._sockets, self._handle, self._finish, self.opts.limits)
        await self._server.start()
        with self._lock:
            self._loop = loop
            self._done = loop.create_future()
            pending = self._pending_finish
        self.emit(WaitingForCallback())
        log_event(logger, logging.INFO, "waiting for oauth callback from browser")
        self._ready.set()
        if pending is not None:  # cancelled before the loop was up: nothing is lost
            self._finish_now(*pending)
        timer = None
        if self.opts.login_timeout is not None:
            timer = loop.call_later(self.opts.login_timeout, self._timed_out)
        # Load the HTTP stack while the person is still in the browser.
        loop.run_in_executor(None, _prewarm)
        assert self._done is not None
        result = await self._done
        if timer is not None:
            timer.cancel()
        await self._server.close()
        return result

    def _timed_out(self) -> None:
        from loginkit.loopback._callback import Outcome, RunResult

        assert self.opts.login_timeout is not None
        message = (
            f"Login timed out after {_format_duration(self.opts.login_timeout)}"
            " without a completed browser sign-in"
        )
        log_event(logger, logging.WARNING, "login timed out", seconds=self.opts.login_timeout)
        failure = Failed(
            LoginFailurePhase.WAIT_FOR_CALLBACK, LoginFailureCategory.LOGIN_CANCELLED, message
        )
        self._finish_now(RunResult(Outcome.FAILURE, message, ErrorKind.TIMED_OUT, failure), failure)

    def _finish(self, result: RunResult) -> None:
        self._finish_now(result, None)

    def _finish_now(self, result: RunResult, failure: Failed | None) -> None:
        """On the loop thread: end the run once; later outcomes are ignored."""
        assert self._done is not None
        if self._done.done():
            return
        if failure is not None:
            self.emit(failure)
        category = result.failure.category.value if result.failure is not None else None
        log_event(
            logger,
            logging.INFO,
            "login run finished",
            outcome=result.outcome.value,
            kind=None
            if category is None and result.outcome.value == "success"
            else result.kind.value,
            category=category,
        )
        self._done.set_result(result)

    def cancel(
        self, message: str = "Login was not completed", *, kind: ErrorKind = ErrorKind.OTHER
    ) -> None:
        """End the run as cancelled from any thread. Safe before ``start`` and after the end."""
        from loginkit.loopback._callback import Outcome, RunResult

        failure = Failed(
            LoginFailurePhase.WAIT_FOR_CALLBACK, LoginFailureCategory.LOGIN_CANCELLED, message
        )
        result = RunResult(Outcome.FAILURE, message, kind, failure)
        with self._lock:
            loop = self._loop
            if loop is None:
                if self._pending_finish is None:
                    self._pending_finish = (result, failure)
                if self._thread is None and not self._result.done():
                    for sock in self._sockets:
                        sock.close()
                    self.emit(failure)
                    self._result.set_result(result)
                return
        log_event(logger, logging.INFO, "login cancelled", reason=message)
        try:
            loop.call_soon_threadsafe(self._finish_now, result, failure)
        except RuntimeError:
            pass  # the loop already ended: the run is over

    def _abandon(self) -> None:
        """Stop a run whose start failed, without emitting anything more."""
        from loginkit.loopback._callback import Outcome, RunResult

        result = RunResult(Outcome.FAILURE, "Login was not completed")
        with self._lock:
            loop = self._loop
            if loop is None:
                self._pending_finish = (result, None)
                return
        loop.call_soon_threadsafe(self._finish_now, result, None)

    @property
    def _result(self) -> concurrent.futures.Future[RunResult]:
        with self._result_lock:
            if self._result_slot is None:
                import concurrent.futures

                self._result_slot = concurrent.futures.Future()
            return self._result_slot

    @property
    def result_future(self) -> concurrent.futures.Future[RunResult]:
        return self._result

    # -- request handling (loop thread) ------------------------------------------------------

    async def _handle(self, request: Request) -> tuple[Response, RunResult | None]:
        import asyncio

        from loginkit.loopback._callback import Exchange, Finish, decide

        assert self._ctx is not None
        decision = decide(request, self._ctx)
        for event in decision.events:
            self.emit(event)
        if isinstance(decision, Exchange):
            if self._inflight is None:
                loop = asyncio.get_running_loop()
                self._inflight = loop.run_in_executor(None, self._complete, decision.code)
            try:
                decision = await asyncio.shield(self._inflight)
            except Exception as exc:  # a bug must end the run visibly, not hang it
                from loginkit.loopback._callback import Outcome, RunResult, plain

                log_event(
                    logger, logging.ERROR, "sign-in completion crashed", error=type(exc).__name__
                )
                message = f"internal error while completing sign-in: {type(exc).__name__}"
                return plain(500, "Internal Server Error", close=True), RunResult(
                    Outcome.FAILURE, message
                )
            for event in decision.events:
                self.emit(event)
        if isinstance(decision, Finish):
            return decision.response, decision.result
        assert not isinstance(decision, Exchange)
        return decision.response, None

    def _complete(self, code: str) -> Decision:
        """Worker thread: exchange, check, persist, and decide the browser's answer."""
        from loginkit.core._exceptions import (
            IdTokenRejected,
            JwtFormatError,
            ResponseMalformedError,
            TokenExchangeError,
        )
        from loginkit.core._redact import sanitize_url_for_logging
        from loginkit.loopback._callback import (
            Finish,
            Outcome,
            Reply,
            Response,
            RunResult,
            error_page_response,
        )
        from loginkit.oauth._discovery import jwks_url
        from loginkit.oauth._idtoken import parse_id_token, workspace_violation
        from loginkit.oauth._idverify import verify_id_token
        from loginkit.oauth._token import exchange_code_for_tokens, fetch_jwks, obtain_api_key

        secrets = [code, self._pkce.code_verifier, self._state]

        def fail(
            phase: LoginFailurePhase,
            category: LoginFailureCategory,
            message: str,
            kind: ErrorKind,
            page_message: str,
            page_code: str,
            page_description: str | None = None,
        ) -> Finish:
            failure = Failed(phase, category, message)
            # Emitted here (not via decision.events) so it precedes nothing else of this run.
            self.emit(failure)
            return Finish(
                error_page_response(page_message, page_code, page_description, self.profile),
                RunResult(Outcome.FAILURE, message, kind, failure),
            )

        self.emit(ExchangingToken())
        token_url = self.profile.token_endpoint(self.opts.issuer)
        try:
            tokens = exchange_code_for_tokens(
                token_url=token_url,
                issuer=self.opts.issuer,
                client_id=self.opts.client_id,
                redirect_uri=self.redirect_uri,
                code_verifier=self._pkce.code_verifier,
                code=code,
                timeouts=self.opts.timeouts,
            )
            try:
                parse_id_token(tokens.id_token)
            except JwtFormatError as exc:
                raise ResponseMalformedError(
                    endpoint=sanitize_url_for_logging(token_url),
                    reason=f"id_token is not a valid JWT ({exc})",
                ) from None
            keys_at = jwks_url(self.profile, self.opts.issuer, self.opts.timeouts)
            jwks = fetch_jwks(jwks_url=keys_at, timeouts=self.opts.timeouts)
            verify_id_token(
                tokens.id_token,
                jwks=jwks,
                issuer=self.profile.expected_issuer(self.opts.issuer),
                client_id=self.opts.client_id,
            )
        except IdTokenRejected as exc:
            log_event(logger, logging.ERROR, "id_token verification failed", reason=exc.reason)
            message = str(exc)
            return fail(
                LoginFailurePhase.VALIDATE_CALLBACK,
                LoginFailureCategory.ID_TOKEN_INVALID,
                message,
                ErrorKind.INVALID_DATA,
                message,
                "id_token_invalid",
            )
        except TokenExchangeError as exc:
            log_event(
                logger,
                logging.ERROR,
                "login callback token exchange failed",
                category=exc.category.value,
            )
            message = scrub(str(exc), secrets)
            return fail(
                LoginFailurePhase.EXCHANGE_TOKEN,
                exc.category,
                message,
                ErrorKind.OTHER,
                f"Token exchange failed: {message}",
                "token_exchange_failed",
            )

        violation = workspace_violation(self.opts.forced_chatgpt_workspace_id, tokens.id_token)
        if violation is not None:
            log_event(
                logger, logging.WARNING, "workspace restriction blocked login", message=violation
            )
            return fail(
                LoginFailurePhase.VALIDATE_CALLBACK,
                LoginFailureCategory.WORKSPACE_RESTRICTION,
                violation,
                ErrorKind.PERMISSION_DENIED,
                violation,
                "workspace_restriction",
            )

        api_key: str | None = None
        if self.profile.exchange_api_key:
            try:
                api_key = obtain_api_key(
                    token_url=token_url,
                    client_id=self.opts.client_id,
                    id_token=tokens.id_token,
                    timeouts=self.opts.timeouts,
                )
            except TokenExchangeError as exc:
                log_event(
                    logger,
                    logging.WARNING,
                    "api key exchange failed; continuing without an API key",
                    category=exc.category.value,
                )

        self.emit(PersistingCredentials())
        log_event(logger, logging.INFO, "persisting login credentials")
        try:
            persist_tokens(
                self.opts.codex_home,
                self.opts.cli_auth_credentials_store_mode,
                id_token=tokens.id_token,
                access_token=tokens.access_token,
                refresh_token=tokens.refresh_token,
                api_key=api_key,
            )
        except Exception as exc:
            message = scrub(str(exc), secrets)
            log_event(logger, logging.ERROR, "failed to persist login credentials", err=message)
            return fail(
                LoginFailurePhase.PERSIST_CREDENTIALS,
                LoginFailureCategory.PERSIST_FAILED,
                message,
                ErrorKind.OTHER,
                "Sign-in completed but credentials could not be saved locally.",
                "persist_failed",
                message,
            )
        log_event(logger, logging.INFO, "login credentials persisted")

        location = compose_success_url(
            self.actual_port, self.opts.issuer, self.profile, tokens.id_token, tokens.access_token
        )
        if len(location) > MAX_REDIRECT_LENGTH or any(c in location for c in "\r\n\0 "):
            message = f"Sign-in completed but redirecting back to {self.profile.app_name} failed."
            log_event(
                logger, logging.ERROR, "success redirect could not be built", length=len(location)
            )
            return fail(
                LoginFailurePhase.REDIRECT_BACK_TO_CODEX,
                LoginFailureCategory.REDIRECT_FAILED,
                message,
                ErrorKind.OTHER,
                message,
                "redirect_failed",
            )
        assert self._ctx is not None
        import dataclasses

        self._ctx = dataclasses.replace(self._ctx, success_location=location)
        self.emit(Succeeded())
        log_event(logger, logging.INFO, "browser login flow completed")
        loop = self._loop
        if loop is not None:
            # Credentials are saved: if the browser never loads /success, still end as a success.
            loop.call_soon_threadsafe(self._arm_success_grace)
        return Reply(Response(status=302, location=location))

    def _arm_success_grace(self) -> None:
        from loginkit.loopback._callback import Outcome, RunResult

        assert self._loop is not None
        self._loop.call_later(
            self.opts.limits.success_grace, self._finish_now, RunResult(Outcome.SUCCESS), None
        )


def _prewarm() -> None:
    """Load the HTTP stack, the JOSE stack and the TLS roots while the person is still in the
    browser, so the callback is answered without waiting for imports."""
    import joserfc.jwk
    import joserfc.jwt  # noqa: F401

    import loginkit.oauth._idverify
    import loginkit.oauth._token  # noqa: F401
    from loginkit.core._exceptions import HttpClientSetupFailure
    from loginkit.oauth._http import build_ssl_context

    try:
        build_ssl_context()
    except HttpClientSetupFailure:
        pass  # reported, classified, when the exchange builds its client


def persist_tokens(
    codex_home: Path,
    mode: AuthCredentialsStoreMode,
    *,
    id_token: str,
    access_token: str,
    refresh_token: str,
    api_key: str | None,
) -> None:
    """Save a completed ChatGPT-style sign-in. The whole record is replaced, never merged."""
    from loginkit.oauth._idtoken import jwt_auth_claims
    from loginkit.store._authfile import AuthDotJson, TokenData, utc_now_rfc3339
    from loginkit.store._select import store_for

    account = jwt_auth_claims(id_token).get("chatgpt_account_id")
    auth = AuthDotJson(
        auth_mode="chatgpt",
        openai_api_key=api_key,
        tokens=TokenData(
            id_token=id_token,
            access_token=access_token,
            refresh_token=refresh_token,
            account_id=account if isinstance(account, str) else None,
        ),
        last_refresh=utc_now_rfc3339(),
    )
    from loginkit.store._authfile import auth_lock

    with auth_lock(codex_home):
        store_for(mode, codex_home).save(auth)


def compose_success_url(
    port: int, issuer: str, profile: Profile, id_token: str, access_token: str
) -> str:
    """Where the browser goes after credentials are saved (spec 3.12).

    The id_token is only included when the page needs it (the "finish setting up" redirect), so
    in the common case no token lands in the browser's history.
    """
    base = f"http://{profile.redirect_host}:{port}/success"
    if not profile.platform_url:
        return base
    from loginkit.oauth._idtoken import jwt_auth_claims

    claims = jwt_auth_claims(id_token)
    needs_setup = (
        claims.get("completed_platform_onboarding") is not True
        and claims.get("is_org_owner") is True
    )
    org_id = claims.get("organization_id")
    project_id = claims.get("project_id")
    plan = jwt_auth_claims(access_token).get("chatgpt_plan_type")
    platform_url = (
        profile.platform_url if issuer == OPENAI_ISSUER else "https://platform.api.openai.org"
    )
    params = [
        ("id_token", id_token if needs_setup else ""),
        ("needs_setup", "true" if needs_setup else "false"),
        ("org_id", org_id if isinstance(org_id, str) else ""),
        ("project_id", project_id if isinstance(project_id, str) else ""),
        ("plan_type", plan if isinstance(plan, str) else ""),
        ("platform_url", platform_url),
    ]
    return base + "?" + "&".join(f"{k}={quote(v, safe='')}" for k, v in params)


class ShutdownHandle:
    """Cancels one running sign-in from any thread; clones all target the same run.

    It only stops the local server (no provider-side revocation). Await or block on the
    :class:`LoginServer` afterwards to observe the final error.
    """

    def __init__(self, run: LoginRun) -> None:
        self._run = run

    def shutdown(self) -> None:
        self._run.cancel()


class LoginServer:
    """A running browser sign-in: the link, the port, and the way to wait or cancel.

    Dropping it does not cancel the flow; call :meth:`cancel`. Bind and readiness failures are
    raised by the start call itself, never by :meth:`block_until_done`.
    """

    def __init__(self, run: LoginRun) -> None:
        self._run = run
        #: The provider authorization URL for this attempt (it contains the state: a secret).
        self.auth_url = run.auth_url
        #: The bound port; differs from ``ServerOptions.port`` when that was 0.
        self.actual_port = run.actual_port

    def block_until_done(self, timeout: float | None = None) -> None:
        """Wait for the end of the run; returns on success, raises :class:`LoginError` otherwise.

        Success means credentials were saved and the browser was sent to the success page.
        """
        result = self._run.result_future.result(timeout)
        _raise_for(result)

    async def wait(self) -> None:
        """``await`` form of :meth:`block_until_done`, for asyncio callers."""
        import asyncio

        result = await asyncio.wrap_future(self._run.result_future)
        _raise_for(result)

    def cancel(self) -> None:
        """Stop the local server; the run ends with "Login was not completed"."""
        self._run.cancel()

    def cancel_handle(self) -> ShutdownHandle:
        return ShutdownHandle(self._run)


def _raise_for(result: RunResult) -> None:
    from loginkit.loopback._callback import Outcome

    if result.outcome is not Outcome.SUCCESS:
        raise LoginError(result.message, kind=result.kind, failure=result.failure)


def run_login_server_with_progress(opts: ServerOptions, sink: ProgressSink | None) -> LoginServer:
    """Start a sign-in and report each phase to ``sink``; see :func:`run_login_server`.

    The sink is called from background threads, in order, one call at a time. It should return
    quickly; one that raises is dropped and the sign-in goes on.
    """
    run = LoginRun(opts, sink)
    run.bind()
    run.start()
    if opts.open_browser:
        run.launch_browser()
    return LoginServer(run)


def run_login_server(opts: ServerOptions) -> LoginServer:
    """Bind, start serving and (if asked) open the browser; returns once ready for the callback.

    Raises :class:`LoginError` when the port cannot be bound. Use
    :func:`run_login_server_with_progress` to see phases; without it the sign-in works, but the
    caller cannot tell binding from waiting from exchanging.
    """
    return run_login_server_with_progress(opts, None)


async def start_login_server(opts: ServerOptions, sink: ProgressSink | None = None) -> LoginServer:
    """Asyncio form of :func:`run_login_server_with_progress`: binding and its retries run off
    the caller's event loop. ``await server.wait()`` for the outcome."""
    import asyncio

    return await asyncio.to_thread(run_login_server_with_progress, opts, sink)
