"""One browser sign-in, start to finish: bind, link, serve, exchange, persist, redirect.

Start-up order matters to a person waiting for the link. :meth:`LoginRun.bind` binds the port
(retrying, and asking a stale login server to stand down) and builds the authorize URL, or
:meth:`LoginRun.adopt` takes what the link-first start already bound and printed.
:meth:`LoginRun.start` then loads asyncio and h11 and serves on a background thread; the OS
queues the browser's connection on the listening socket meanwhile. httpx2 loads when the first
exchange needs it (and is pre-warmed in the background).

The blocking and the asyncio API share this one core: the server always runs on its own event loop
thread, and :class:`LoginServer` offers both ``block_until_done()`` and ``await wait()``.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import secrets
import socket
import threading
from typing import TYPE_CHECKING

from loginkit.core._categories import LoginFailureCategory, LoginFailurePhase
from loginkit.core._exceptions import ErrorKind, LoginError
from loginkit.core._log import log_event
from loginkit.core._phases import (
    Emitter,
    Failed,
    LocalServerBound,
    LoginPhase,
    ProgressSink,
    Succeeded,
    WaitingForCallback,
)
from loginkit.core._texts import format_duration
from loginkit.loopback._takeover import bind_callback_port
from loginkit.oauth._pkce import build_authorize_url, generate_nonce, generate_pkce, generate_state
from loginkit.signin._launch import open_system_browser
from loginkit.signin._options import ServerOptions
from loginkit.signin._prelinked import Prelinked
from loginkit.signin._state import Credentials, Serving, Stage

if TYPE_CHECKING:
    import asyncio
    import concurrent.futures

    from loginkit.loopback._callback import (
        CallbackContext,
        Decision,
        OneShotStart,
        Request,
        Response,
        RunResult,
    )
    from loginkit.oauth._provider import Provider

logger = logging.getLogger("loginkit.server")

READY_TIMEOUT = 2.0


class LoginRun:
    """The state of one browser sign-in. Use the public helpers unless you need the two steps.

    ``bind()`` then ``start()`` then optionally ``launch_browser()``: the CLI prints the link between
    the first two, so it is out before anything heavy is imported.
    """

    def __init__(self, opts: ServerOptions, sink: ProgressSink | None = None) -> None:
        self.opts = opts
        self.profile = opts.resolved_profile
        self._emitter = Emitter(sink)
        self._provider: Provider | None = None
        self._pkce = generate_pkce()
        self._state = opts.force_state if opts.force_state is not None else generate_state()
        # OpenID Connect nonce: generic profiles only (Codex sends none; its URL stays Codex's).
        self._nonce = generate_nonce() if self.profile.discover else None
        self._sockets: list[socket.socket] = []
        self.actual_port = 0
        self.auth_url = ""
        self.redirect_uri = ""
        self._ready = threading.Event()
        # Created on first use: concurrent.futures is not needed before the link is out.
        self._result_slot: concurrent.futures.Future[RunResult] | None = None
        # One lock guards the stage and what belongs to it (reentrant: cancel() creates the
        # result future under it).
        self._lock = threading.RLock()
        self._stage = Stage.NEW
        #: The serving loop and its end (SERVING only).
        self._serving: Serving | None = None
        #: An end asked for while STARTING, applied as soon as the loop is up.
        self._early_end: tuple[RunResult, Failed | None] | None = None
        self._credentials = Credentials.OPEN
        #: A cancel arrived while SAVING: end as a success as soon as the save is done.
        self._end_when_saved = False
        self._ctx: CallbackContext | None = None
        self._start: OneShotStart | None = None
        self._inflight: asyncio.Future[Decision] | None = None

    @property
    def provider(self) -> Provider:
        """The run's one connection to the provider: made on first use (the openai profile's
        link never needs it), then shared by discovery, the exchange, the keys and the API key."""
        if self._provider is None:
            from loginkit.oauth._provider import Provider

            self._provider = Provider(self.profile, self.opts.issuer, self.opts.timeouts)
        return self._provider

    def emit(self, phase: LoginPhase) -> None:
        self._emitter(phase)

    # -- start-up (light imports only) -------------------------------------------------------

    def _bind_failure(self, message: str, kind: ErrorKind) -> LoginError:
        failure = Failed(
            LoginFailurePhase.BIND_LOCAL_SERVER,
            LoginFailureCategory.LOCAL_SERVER_UNAVAILABLE,
            message,
        )
        self.emit(failure)
        return LoginError(message, kind=kind, failure=failure)

    def bind(self) -> None:
        """Bind ``127.0.0.1:port`` (and ``[::1]`` when the host has it) and build the auth URL.

        A generic provider's discovery document is read first: when it cannot be had, or names
        another issuer, this raises :class:`LoginError` (``provider_discovery_failed``) before
        anything is bound or shown; no endpoint is guessed. The openai profile never waits for
        the network here."""
        if self.profile.discover:
            self._discover()
        self._sockets = bind_callback_port(self.opts.bind_address, self.opts.port, self.emit)
        self.actual_port = self._sockets[0].getsockname()[1]
        self._stage = Stage.BOUND
        self.emit(LocalServerBound(port=self.actual_port))
        log_event(logger, logging.INFO, "local callback server bound", port=self.actual_port)
        host, path = self.profile.redirect_host, self.profile.redirect_path
        self.redirect_uri = f"http://{host}:{self.actual_port}{path}"
        self.auth_url = build_authorize_url(
            self.profile,
            issuer=self.opts.issuer,
            client_id=self.opts.client_id,
            redirect_uri=self.redirect_uri,
            pkce=self._pkce,
            state=self._state,
            workspace_id=self.opts.forced_chatgpt_workspace_id,
            nonce=self._nonce,
        )

    def _discover(self) -> None:
        from loginkit.signin._completion import discover_or_fail

        self.profile = discover_or_fail(self.provider, self.emit)

    def adopt(self, ready: Prelinked) -> None:
        """Take over what :func:`~loginkit.signin._prelinked.prelink` bound, made and printed,
        instead of :meth:`bind`, and the discovery answer it was built from (never asked again)."""
        fits = ready.fits(self.opts.port, self.profile.discover)
        if not fits or self.opts.force_state is not None:
            ready.close()
            raise ValueError("the prelinked sign-in does not match these options")
        if ready.discovered is not None:
            self.provider.seed(ready.discovered)
            self._discover()  # from the seeded document: no request
        from loginkit.loopback._takeover import adopt_bound

        self._sockets = adopt_bound(
            ready.sockets, ready.port, took_over=ready.took_over, emit=self.emit
        )
        self._stage = Stage.BOUND
        self.actual_port = ready.port
        self._pkce = ready.pkce
        self._state = ready.state
        self._nonce = ready.nonce
        self.redirect_uri = ready.redirect_uri
        self.auth_url = ready.auth_url
        self.emit(LocalServerBound(port=self.actual_port))
        log_event(logger, logging.INFO, "local callback server bound", port=self.actual_port)

    def start(self) -> None:
        """Start serving on a background event loop; returns once the handler is ready."""
        from loginkit.loopback._callback import CallbackContext, OneShotStart
        from loginkit.signin._completion import issuer_check

        self._start = OneShotStart(secrets.token_urlsafe(32), self.auth_url)
        issuer, required = issuer_check(self.provider, self.profile, self.opts.issuer)
        ctx = CallbackContext(
            self._state,
            self.actual_port,
            self.profile,
            start=self._start,
            expected_issuer=issuer,
            issuer_required=required,
        )
        self._ctx = ctx
        with self._lock:
            if self._stage is Stage.ENDED:
                return  # cancelled before it started: the result is already set
            self._stage = Stage.STARTING
        threading.Thread(
            target=self._thread_main, name="loginkit-callback-server", daemon=True
        ).start()
        if not self._ready.wait(READY_TIMEOUT):
            log_event(logger, logging.ERROR, "timed out waiting for callback handler readiness")
            self._abandon()
            raise self._bind_failure(
                "Timed out waiting for callback handler readiness", ErrorKind.OTHER
            )

    def launch_browser(self) -> None:
        """Open the system browser on a helper thread; a slow or failing launcher is non-fatal.
        It gets the one-shot ``/start/<token>`` address: argv is readable by every user."""
        start = f"{self.redirect_uri.split('/auth/')[0]}{self._start.path()}" if self._start else ""
        open_system_browser(start or self.auth_url, self.emit)

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
            if self._provider is not None:
                self._provider.close()
        with self._lock:
            self._stage = Stage.ENDED
            self._serving = None
            if not self._result.done():
                self._result.set_result(result)

    async def _serve(self) -> RunResult:
        import asyncio

        from loginkit.loopback._server import LoopbackServer

        loop = asyncio.get_running_loop()
        server = LoopbackServer(self._sockets, self._handle, self._finish, self.opts.limits)
        await server.start()
        serving = Serving(loop, loop.create_future())
        with self._lock:
            self._serving = serving
            self._stage = Stage.SERVING
            pending = self._early_end
        self.emit(WaitingForCallback())
        log_event(logger, logging.INFO, "waiting for oauth callback from browser")
        self._ready.set()
        if pending is not None:  # cancelled before the loop was up: nothing is lost
            self._cancel_now(*pending)
        timer = None
        if self.opts.login_timeout is not None:
            timer = loop.call_later(self.opts.login_timeout, self._timed_out)
        # Load the HTTP stack while the person is still in the browser.
        from loginkit.oauth._provider import prewarm

        threading.Thread(target=prewarm, name="loginkit-prewarm", daemon=True).start()
        result = await serving.done
        if timer is not None:
            timer.cancel()
        await server.close()
        return result

    def _timed_out(self) -> None:
        from loginkit.loopback._callback import Outcome, RunResult

        assert self.opts.login_timeout is not None
        message = (
            f"Sign-in timed out after {format_duration(self.opts.login_timeout)}"
            " without a completed browser sign-in"
        )
        log_event(logger, logging.WARNING, "login timed out", seconds=self.opts.login_timeout)
        failure = Failed(
            LoginFailurePhase.WAIT_FOR_CALLBACK, LoginFailureCategory.LOGIN_TIMED_OUT, message
        )
        result = RunResult(Outcome.FAILURE, message, ErrorKind.TIMED_OUT, failure, cancels=True)
        self._cancel_now(result, failure)

    def _finish(self, result: RunResult) -> None:
        if result.cancels:
            self._cancel_now(result, None)
        else:
            self._finish_now(result, None)

    def _cancel_now(self, result: RunResult, failure: Failed | None) -> None:
        """On the loop thread: end the run as cancelled, unless its credentials are being saved
        (then it ends as a success once they are) or saved (then it is a success now)."""
        from loginkit.loopback._callback import Outcome, RunResult

        with self._lock:
            state = self._credentials
            if state is Credentials.OPEN:
                self._credentials = Credentials.REFUSED
            elif state is Credentials.SAVING:
                self._end_when_saved = True
        if state is Credentials.SAVING:
            log_event(logger, logging.INFO, "cancel arrived while saving; the sign-in completes")
            return
        if state is Credentials.SAVED:
            log_event(logger, logging.INFO, "cancel arrived after the credentials were saved")
            self._finish_now(RunResult(Outcome.SUCCESS), None)
            return
        self._finish_now(result, failure)

    def _still_wanted(self) -> bool:
        with self._lock:
            return self._credentials is Credentials.OPEN

    def claim_save(self) -> bool:
        """The finishing step's right to write credentials, claimed right before writing (any
        thread). False once the run was cancelled or timed out: then nothing may be saved."""
        with self._lock:
            if self._credentials is not Credentials.OPEN:
                return False
            self._credentials = Credentials.SAVING
            return True

    def _finish_now(self, result: RunResult, failure: Failed | None) -> None:
        """On the loop thread: end the run once; later outcomes are ignored."""
        assert self._serving is not None
        done = self._serving.done
        if done.done():
            return
        if failure is not None:
            self.emit(failure)
        # The end is the last thing the sink hears: an exchange abandoned by a cancel, still
        # unwinding on its thread, reports nothing more.
        self._emitter.close()
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
        done.set_result(result)

    def cancel(
        self, message: str = "Login was not completed", *, kind: ErrorKind = ErrorKind.OTHER
    ) -> None:
        """End the run as cancelled from any thread. Safe before ``start`` and after the end."""
        from loginkit.loopback._callback import Outcome, RunResult

        failure = Failed(
            LoginFailurePhase.WAIT_FOR_CALLBACK, LoginFailureCategory.LOGIN_CANCELLED, message
        )
        result = RunResult(Outcome.FAILURE, message, kind, failure, cancels=True)
        with self._lock:
            stage = self._stage
            if stage in (Stage.NEW, Stage.BOUND):
                # Nothing serves yet: end here, on the caller's thread.
                self._stage = Stage.ENDED
                self._credentials = Credentials.REFUSED
                for sock in self._sockets:
                    sock.close()
                self.emit(failure)
                self._result.set_result(result)
                return
            if stage is Stage.STARTING:
                if self._early_end is None:
                    self._early_end = (result, failure)
                return
            if stage is Stage.ENDED or self._serving is None:
                return
            loop = self._serving.loop
        log_event(logger, logging.INFO, "login cancelled", reason=message)
        try:
            loop.call_soon_threadsafe(self._cancel_now, result, failure)
        except RuntimeError:
            pass  # the loop already ended: the run is over

    def _abandon(self) -> None:
        """Stop a run whose start failed, without emitting anything more."""
        from loginkit.loopback._callback import Outcome, RunResult

        result = RunResult(Outcome.FAILURE, "Login was not completed")
        with self._lock:
            if self._stage is Stage.STARTING:
                self._early_end = (result, None)
                return
            if self._stage is not Stage.SERVING or self._serving is None:
                return
            loop = self._serving.loop
        loop.call_soon_threadsafe(self._finish_now, result, None)

    @property
    def _result(self) -> concurrent.futures.Future[RunResult]:
        with self._lock:
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
                from loginkit.signin._completion import on_a_daemon_thread

                self._inflight = on_a_daemon_thread(self._complete, decision.code)
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
        """Worker thread: complete the callback, then, once saved, move the run on."""
        from loginkit.loopback._callback import Outcome, Reply, RunResult
        from loginkit.signin._completion import CallbackExchange, complete_callback

        decision = complete_callback(
            code,
            CallbackExchange(
                provider=self.provider,
                opts=self.opts,
                profile=self.profile,
                port=self.actual_port,
                redirect_uri=self.redirect_uri,
                code_verifier=self._pkce.code_verifier,
                state=self._state,
                emit=self.emit,
                wanted=self._still_wanted,
                claim_save=self.claim_save,
                nonce=self._nonce,
            ),
        )
        if not isinstance(decision, Reply) or decision.response.location is None:
            return decision
        assert self._ctx is not None
        import dataclasses

        self._ctx = dataclasses.replace(self._ctx, success_location=decision.response.location)
        self.emit(Succeeded())
        log_event(logger, logging.INFO, "browser login flow completed")
        with self._lock:
            self._credentials = Credentials.SAVED
            end_now = self._end_when_saved
            serving = self._serving
        if serving is not None:
            # Credentials are saved: if the browser never loads /success, still end as a success
            # (at once when a cancel already asked for the end).
            end = (
                functools.partial(self._finish_now, RunResult(Outcome.SUCCESS), None)
                if end_now
                else self._arm_success_grace
            )
            with contextlib.suppress(RuntimeError):  # the loop is gone: the run is over
                serving.loop.call_soon_threadsafe(end)
        return decision

    def _arm_success_grace(self) -> None:
        from loginkit.loopback._callback import Outcome, RunResult

        assert self._serving is not None
        self._serving.loop.call_later(
            self.opts.limits.success_grace, self._finish_now, RunResult(Outcome.SUCCESS), None
        )
