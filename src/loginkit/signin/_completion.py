"""The provider-facing steps of a browser run: the discovery before its link, and completing its
callback (exchange the code, finish: verify, check, save; then the browser's answer, a redirect to
the success page or the error page that says why).

Completion runs on a daemon thread of a :class:`~loginkit.signin._browser.LoginRun`, which passes
what it needs as one :class:`CallbackExchange` and keeps the run's state transitions to itself.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from loginkit.core._categories import AnyCategory, LoginFailureCategory, LoginFailurePhase
from loginkit.core._exceptions import ErrorKind, SignInStepError
from loginkit.core._log import log_event
from loginkit.core._phases import ExchangingToken, Failed, ProgressSink

if TYPE_CHECKING:
    import asyncio

    from loginkit.core._profiles import Profile
    from loginkit.loopback._callback import Decision, Finish
    from loginkit.oauth._provider import Provider
    from loginkit.signin._options import ServerOptions

logger = logging.getLogger("loginkit.server")


@dataclass(frozen=True, repr=False)
class CallbackExchange:
    """What completing one callback needs from its run (the verifier and state are secrets:
    ``repr`` hides everything)."""

    provider: Provider
    opts: ServerOptions
    profile: Profile
    port: int
    redirect_uri: str
    code_verifier: str
    state: str
    emit: ProgressSink
    #: Is the sign-in still wanted (not cancelled)? Asked before each request.
    wanted: Callable[[], bool]
    #: The right to write credentials, claimed once right before the write.
    claim_save: Callable[[], bool]
    #: The nonce the authorize URL carried (generic profiles), which the id_token must carry.
    nonce: str | None = None

    def __repr__(self) -> str:
        return "CallbackExchange(<redacted>)"


def complete_callback(code: str, run: CallbackExchange) -> Decision:
    """Exchange ``code`` and finish the sign-in. A ``Reply`` with a ``Location`` means saved (the
    caller marks the run so); a ``Finish`` carries the failure, its ``Failed`` already emitted."""
    from loginkit.loopback._callback import Reply, Response
    from loginkit.signin._finish import (
        Destination,
        compose_success_url,
        error_page_words,
        exchange_code,
        finish_sign_in,
        redirect_is_usable,
    )

    opts = run.opts
    secrets = [code, run.code_verifier, run.state]
    if run.nonce is not None:
        secrets.append(run.nonce)
    run.emit(ExchangingToken())
    try:
        tokens = exchange_code(
            run.provider,
            client_id=opts.client_id,
            code=code,
            code_verifier=run.code_verifier,
            redirect_uri=run.redirect_uri,
            secrets=secrets,
        )
        finished = finish_sign_in(
            tokens,
            run.provider,
            Destination(
                codex_home=opts.codex_home,
                store_mode=opts.cli_auth_credentials_store_mode,
                client_id=opts.client_id,
                workspace_id=opts.forced_chatgpt_workspace_id,
                fetch_api_key=run.profile.exchange_api_key,
                replace_other=opts.replace_other_record,
            ),
            emit=run.emit,
            secrets=secrets,
            wanted=run.wanted,
            claim_save=run.claim_save,
            nonce=run.nonce,
        )
        location = compose_success_url(
            run.port,
            opts.issuer,
            run.profile,
            finished.claims,
            tokens.id_token,
            tokens.access_token,
        )
    except SignInStepError as exc:
        page = error_page_words(exc)
        return _fail(run, exc.step.for_browser(), exc.category, exc.message, exc.kind, page)
    if not redirect_is_usable(location):
        message = f"Sign-in completed but redirecting back to {run.profile.app_name} failed."
        log_event(
            logger, logging.ERROR, "success redirect could not be built", length=len(location)
        )
        page = (message, "redirect_failed", None)
        return _fail(
            run,
            LoginFailurePhase.REDIRECT_BACK_TO_CODEX,
            LoginFailureCategory.REDIRECT_FAILED,
            message,
            ErrorKind.OTHER,
            page,
        )
    return Reply(Response(status=302, location=location))


def _fail(
    run: CallbackExchange,
    phase: LoginFailurePhase,
    category: AnyCategory,
    message: str,
    kind: ErrorKind,
    page: tuple[str, str, str | None],
) -> Finish:
    """The run's end after a failed finish: the ``Failed`` event (emitted here, not through
    ``decision.events``, so that it precedes nothing else of the run) and the error page."""
    from loginkit.loopback._callback import Finish, Outcome, RunResult, error_page_response

    failure = Failed(phase, category, message)
    run.emit(failure)
    return Finish(
        error_page_response(*page, run.profile),
        RunResult(Outcome.FAILURE, message, kind, failure),
    )


def discover_or_fail(provider: Provider, emit: ProgressSink) -> Profile:
    """The provider's profile with its discovered endpoints; a document that cannot be had (or
    names another issuer) emits ``provider_discovery_failed`` and raises :class:`LoginError`."""
    from loginkit.core._exceptions import DiscoveryError, LoginError

    try:
        return provider.discover(authorize=True)
    except DiscoveryError as exc:
        log_event(logger, logging.ERROR, "openid discovery failed", error=exc.reason)
        failure = Failed(
            LoginFailurePhase.DISCOVER_PROVIDER,
            LoginFailureCategory.PROVIDER_DISCOVERY_FAILED,
            exc.reason,
        )
        emit(failure)
        provider.close()
        raise LoginError(exc.reason, kind=ErrorKind.NOT_FOUND, failure=failure) from None


def issuer_check(provider: Provider, profile: Profile, issuer: str) -> tuple[str, bool]:
    """(the issuer a callback's ``iss`` must name, whether ``iss`` is required) for RFC 9207.

    The discovered ``issuer`` wins over the configured one. ``iss`` is required only when the
    discovery document (already fetched by a generic profile's run) announces
    ``authorization_response_iss_parameter_supported``; the openai profile never asks for the
    document here (its link and callback must not wait for the network)."""
    required = False
    if profile.discover:
        document = provider.metadata() or {}
        required = document.get("authorization_response_iss_parameter_supported") is True
    return profile.expected_issuer(issuer), required


def on_a_daemon_thread(work: Callable[[str], Decision], code: str) -> asyncio.Future[Decision]:
    """``work(code)`` on a daemon thread, as a future of the running loop: a cancelled run's
    process exits at once instead of waiting for an exchange it no longer wants (an executor
    thread is joined at exit). Call it on the loop thread."""
    import asyncio
    import threading

    loop = asyncio.get_running_loop()
    future: asyncio.Future[Decision] = loop.create_future()

    def settle(outcome: Decision | BaseException) -> None:
        if future.done():
            return
        if isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)

    def run() -> None:
        try:
            outcome: Decision | BaseException = work(code)
        except BaseException as exc:  # reported by the run's handler as an internal error
            outcome = exc
        try:
            loop.call_soon_threadsafe(settle, outcome)
        except RuntimeError:
            pass  # the loop is gone: the run ended without this exchange

    threading.Thread(target=run, name="loginkit-exchange", daemon=True).start()
    return future
