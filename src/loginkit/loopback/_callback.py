"""Sans-IO callback decisions: one request in, one decision out. No sockets, no clocks.

:func:`decide` is a pure function of the request (method, target, Host) and the run's state
(expected state value, port, whether credentials were already saved). The server driver moves bytes
and applies the decision; the flow runs the token exchange when asked to. Keeping this pure is what
lets tests and fuzzers hit every branch without a server.

Processing order for ``/auth/callback`` follows the Codex CLI (spec 3.6): state first, then the
provider's ``error``, then the code. What differs on purpose: the Host header is checked (DNS
rebinding), only GET is served, state is compared in constant time, ``/success`` only ends the run
after this run saved credentials, ``/start/<token>`` sends the browser to the authorize URL
once (so neither the state nor the challenge is in a launcher's argv), a callback after success is answered with the success redirect
again (given the state) instead of re-exchanging a used code, and ``/cancel`` is refused to web
pages (by ``Sec-Fetch-Site``, ``Origin`` or ``Referer``).
"""

from __future__ import annotations

import enum
import hmac
import logging
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

from loginkit.core._categories import LoginFailureCategory, LoginFailurePhase
from loginkit.core._exceptions import ErrorKind
from loginkit.core._log import log_event
from loginkit.core._pages import error_page, success_page
from loginkit.core._phases import CallbackReceived, Failed, LoginPhase
from loginkit.core._profiles import OPENAI, Profile
from loginkit.core._redact import strip_urls
from loginkit.core._sanitize import sanitize

logger = logging.getLogger("loginkit.server")

HTML = "text/html; charset=utf-8"
TEXT = "text/plain; charset=utf-8"
ENTITLEMENT_MESSAGE = (
    "{app} is not enabled for your workspace. Contact your workspace administrator to request"
    " access to {app}."
)


@dataclass(frozen=True)
class Request:
    """What the driver parsed from the wire. ``target`` is the raw request-target."""

    method: str
    target: str
    host: str | None
    #: The ``Sec-Fetch-Site`` header: browsers say where a request came from; other clients
    #: (a newer ``codex login`` asking us to stand down) send none.
    fetch_site: str | None = None
    #: The ``Origin`` and ``Referer`` headers: browsers without Fetch Metadata still send one of
    #: them from a page; the Codex CLI's takeover request sends neither.
    origin: str | None = None
    referer: str | None = None


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes = b""
    content_type: str | None = None
    location: str | None = None
    #: The ``Allow`` header of a 405.
    allow: str | None = None
    #: Terminal responses close the connection so a keep-alive socket cannot hang the next run.
    close: bool = False


class Outcome(enum.Enum):
    SUCCESS = "success"
    FAILURE = "failure"


@dataclass(frozen=True)
class RunResult:
    """How a run ended: success, or a failure with the seed's error kind and message."""

    outcome: Outcome
    message: str = ""
    kind: ErrorKind = ErrorKind.OTHER
    failure: Failed | None = None
    #: A cancellation (``/cancel``, ``cancel()``, Ctrl-C, the timeout): the run ignores it once
    #: its credentials are being saved or saved, and ends as the success it is.
    cancels: bool = False


@dataclass(frozen=True)
class Reply:
    """Answer and keep serving."""

    response: Response
    events: tuple[LoginPhase, ...] = ()


@dataclass(frozen=True)
class Finish:
    """Answer, then end the run with ``result``."""

    response: Response
    result: RunResult
    events: tuple[LoginPhase, ...] = ()


@dataclass(frozen=True)
class Exchange:
    """A valid callback: the flow must exchange ``code`` (and then persist and redirect).

    ``repr`` hides the code.
    """

    code: str = field(repr=False)
    events: tuple[LoginPhase, ...] = ()


Decision = Reply | Finish | Exchange


class RejectionLog:
    """Reports the first few refused requests of each kind, then only counts them.

    A flood of junk (a hostile page, a port scanner) must not grow the login log, or fill the
    person's terminal with "Couldn't verify this sign-in attempt", without bound: the first few
    say what is going on.
    """

    PER_KIND = 5

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def allow(self, kind: str) -> bool:
        """Count one refusal of ``kind``; True while it should still be reported."""
        seen = self.counts.get(kind, 0) + 1
        self.counts[kind] = seen
        if seen == self.PER_KIND + 1:
            log_event(
                logger,
                logging.WARNING,
                "further refused requests of this kind are not reported",
                kind=kind,
            )
        return seen <= self.PER_KIND

    def warn(self, message: str, kind: str) -> None:
        if self.allow(kind):
            log_event(logger, logging.WARNING, message)


START_PREFIX = "/start/"


class OneShotStart:
    """The one-time address the browser is launched with: ``/start/<token>`` answers a 302 to
    the authorize URL once, then 404. The authorize URL carries the state and the PKCE
    challenge; a launcher's argv is readable by every user (``ps``), this token is worthless
    once used. Shared by every copy of the context, like :class:`RejectionLog`."""

    def __init__(self, token: str, location: str) -> None:
        self._token = token
        self._location = location
        self.used = False

    def path(self) -> str:
        """The request path to launch the browser with (it holds the token)."""
        return START_PREFIX + self._token

    def take(self, token: str) -> str | None:
        """The authorize URL for the right token, the first time only; else None."""
        matches = hmac.compare_digest(
            token.encode("utf-8", "surrogatepass"), self._token.encode("utf-8")
        )
        if not matches or self.used:
            return None
        self.used = True
        return self._location


@dataclass(frozen=True)
class CallbackContext:
    """The run's state that decisions depend on. ``expected_state`` is secret: never logged."""

    expected_state: str = field(repr=False)
    port: int
    profile: Profile = OPENAI
    #: Set once this run has saved credentials: the URL the browser is sent to on success.
    success_location: str | None = field(default=None, repr=False)
    #: Shared by every copy of the context (``dataclasses.replace`` keeps the same object).
    rejections: RejectionLog = field(default_factory=RejectionLog, repr=False, compare=False)
    #: The one-shot launch address, when the browser is launched through it.
    start: OneShotStart | None = field(default=None, repr=False, compare=False)
    #: RFC 9207: the issuer a callback's ``iss`` must name (the discovered ``issuer``, else the
    #: configured one). None: no check (a caller that forgets it gets the seed's behaviour).
    expected_issuer: str | None = None
    #: Discovery announced ``authorization_response_iss_parameter_supported``: a callback
    #: without ``iss`` is refused too. Otherwise ``iss`` is checked only when present.
    issuer_required: bool = False

    def issuer_problem(self, iss: str | None) -> str | None:
        """Why a callback's ``iss`` is not acceptable, or None. The message names the expected
        issuer, never the received value (untrusted text, possibly an attacker's)."""
        expected = self.expected_issuer
        if expected is None:
            return None
        shown = sanitize(expected)
        if iss is None:
            if not self.issuer_required:
                return None
            return (
                f"The sign-in response did not name its issuer (iss), which {shown} announces"
                " it always does; its code was not used"
            )
        # One trailing slash is forgiven, as for the id_token's iss; anything else is another
        # issuer (RFC 9207 section 2.4: simple string comparison).
        if iss.rstrip("/") != expected.rstrip("/"):
            return (
                f"The sign-in response names another issuer (iss) than {shown}; its code was"
                " not used"
            )
        return None

    @property
    def allowed_hosts(self) -> frozenset[str]:
        return frozenset({f"127.0.0.1:{self.port}", f"localhost:{self.port}", f"[::1]:{self.port}"})

    def is_own_origin(self, url: str) -> bool:
        """True when ``url`` (an ``Origin`` or ``Referer`` value) names this loopback server."""
        try:
            parts = urlsplit(url.strip())
        except ValueError:
            return False
        return parts.scheme.lower() == "http" and parts.netloc.lower() in self.allowed_hosts


def sent_by_a_web_page(request: Request, ctx: CallbackContext) -> bool:
    """True when a browser sent ``request`` from a page other than this server's own.

    ``Sec-Fetch-Site`` other than ``none`` says so in current browsers; an ``Origin`` or
    ``Referer`` naming anything but this loopback server (``null`` included) says so in browsers
    without Fetch Metadata. A client that sends none of the three (a newer ``codex login``) is
    not a page.
    """
    if request.fetch_site not in (None, "none"):
        return True
    return any(
        value is not None and not ctx.is_own_origin(value)
        for value in (request.origin, request.referer)
    )


def plain(status: int, text: str, *, close: bool = False) -> Response:
    return Response(status=status, body=text.encode("utf-8"), content_type=TEXT, close=close)


def error_page_response(
    message: str, code: str | None, description: str | None, profile: Profile
) -> Response:
    # Error pages are 200 like the Codex CLI's: browsers show them the same, and tooling that
    # treats 4xx specially (prefetchers, extensions) does not retry them.
    page = error_page(message, code, description, profile)
    return Response(status=200, body=page.encode("utf-8"), content_type=HTML, close=True)


def callback_error_message(error_code: str, description: str | None, profile: Profile) -> str:
    if error_code == "access_denied" and "missing_codex_entitlement" in (description or "").lower():
        return ENTITLEMENT_MESSAGE.replace("{app}", profile.app_name)
    if description is not None and description.strip():
        return f"Sign-in failed: {description}"
    return f"Sign-in failed: {error_code}"


def _failed(phase: LoginFailurePhase, category: LoginFailureCategory, message: str) -> Failed:
    return Failed(phase=phase, category=category, message=message)


def method_not_allowed() -> Response:
    return Response(
        status=405, body=b"Method Not Allowed", content_type=TEXT, allow="GET", close=True
    )


def decide(request: Request, ctx: CallbackContext) -> Decision:
    """Route one request. Pure apart from log lines, which carry no secret."""
    if request.host is None or request.host.lower() not in ctx.allowed_hosts:
        # DNS rebinding: a page on evil.example that resolves to 127.0.0.1 sends its own name.
        ctx.rejections.warn("rejected request with unexpected host header", "host")
        return Reply(plain(400, "Bad Request: unexpected Host header", close=True))
    if not request.target.startswith("/"):
        ctx.rejections.warn("failed to parse local callback url", "target")
        return Reply(plain(400, "Bad Request"))
    try:
        parts = urlsplit(f"http://localhost{request.target}")
        path = parts.path
    except ValueError:
        ctx.rejections.warn("failed to parse local callback url", "target")
        return Reply(plain(400, "Bad Request"))

    if path == ctx.profile.redirect_path:
        if request.method != "GET":
            return Reply(method_not_allowed())
        return _callback(parts.query, path, ctx)
    if path == "/success":
        if request.method != "GET":
            return Reply(method_not_allowed())
        if ctx.success_location is None:
            # Not this run's success: a page or process cannot make the CLI say "Signed in".
            return Reply(plain(404, "Not Found"))
        page = success_page(ctx.profile).encode("utf-8")
        return Finish(
            Response(status=200, body=page, content_type=HTML, close=True),
            RunResult(Outcome.SUCCESS),
        )
    if path.startswith(START_PREFIX):
        if request.method != "GET":
            return Reply(method_not_allowed())
        location = ctx.start.take(path[len(START_PREFIX) :]) if ctx.start else None
        if location is None:
            ctx.rejections.warn("refused a used or unknown start address", "start")
            return Reply(plain(404, "Not Found"))
        log_event(logger, logging.INFO, "browser sent on to the authorize url")
        return Reply(Response(status=302, location=location, close=True))
    if path == "/cancel":
        if request.method != "GET":
            return Reply(method_not_allowed())
        if sent_by_a_web_page(request, ctx):
            # Takeover comes from another login process, never from a web page: an <img> on any
            # site must not be able to end the sign-in in progress.
            ctx.rejections.warn("refused a cancel request sent by a web page", "web_cancel")
            return Reply(plain(403, "Forbidden", close=True))
        log_event(logger, logging.INFO, "login cancelled by a newer login server")
        return Finish(
            Response(status=200, body=b"Login cancelled", close=True),
            RunResult(Outcome.FAILURE, "Login cancelled", ErrorKind.INTERRUPTED, cancels=True),
        )
    return Reply(plain(404, "Not Found"))


def _redact(value: str, secret: str) -> str:
    return value.replace(secret, "<redacted>") if secret else value


def _callback(query: str, path: str, ctx: CallbackContext) -> Decision:
    params: dict[str, str] = {}
    for key, value in parse_qsl(query, keep_blank_values=True, errors="replace"):
        params[key] = value  # the last value of a repeated key wins
    code = params.get("code")
    state = params.get("state")
    error = params.get("error")
    has_code = bool(code)
    has_state = bool(state)
    has_error = bool(error)
    # Constant time: the comparison must not tell a local attacker how much of a guess was right.
    state_valid = state is not None and hmac.compare_digest(
        state.encode("utf-8", "surrogatepass"), ctx.expected_state.encode("utf-8")
    )
    if ctx.success_location is not None:
        if not state_valid:
            # The run is over: no Failed event after "Signed in", and no success URL (it may hold
            # the id_token) for a request that does not know this run's state.
            ctx.rejections.warn("login callback after success with a wrong state", "late_state")
            return Reply(plain(400, "State mismatch"))
        # One-shot: a reload or prefetch after success must not re-exchange a used code.
        return Reply(Response(status=302, location=ctx.success_location))
    if not state_valid and not ctx.rejections.allow("state_mismatch"):
        return Reply(plain(400, "State mismatch"))
    received = CallbackReceived(
        has_code=has_code, has_state=has_state, has_error=has_error, state_valid=state_valid
    )
    log_event(
        logger,
        logging.INFO,
        "received login callback",
        path=path,
        has_code=has_code,
        has_state=has_state,
        has_error=has_error,
        state_valid=state_valid,
    )
    if not state_valid:
        log_event(
            logger,
            logging.WARNING,
            "login callback state mismatch",
            has_code=has_code,
            has_state=has_state,
            has_error=has_error,
        )
        failure = _failed(
            LoginFailurePhase.VALIDATE_CALLBACK,
            LoginFailureCategory.CALLBACK_STATE_MISMATCH,
            "State mismatch",
        )
        return Reply(plain(400, "State mismatch"), (received, failure))

    # RFC 9207 (mix-up attacks): checked before the error and the code, since an error response
    # carries ``iss`` too. The code is never exchanged; the run keeps waiting.
    problem = ctx.issuer_problem(params.get("iss"))
    if problem is not None:
        if not ctx.rejections.allow("issuer_mismatch"):
            return Reply(plain(400, "Issuer mismatch"))
        # The value is untrusted text: only whether it was there is logged.
        log_event(
            logger,
            logging.WARNING,
            "login callback issuer mismatch",
            has_iss="iss" in params,
            has_code=has_code,
            has_error=has_error,
        )
        failure = _failed(
            LoginFailurePhase.VALIDATE_CALLBACK,
            LoginFailureCategory.CALLBACK_ISSUER_MISMATCH,
            problem,
        )
        return Reply(plain(400, "Issuer mismatch"), (received, failure))

    if error is not None:
        # A provider that echoes the request must not put this run's state on screen, in the
        # browser's error page or in the log.
        error = _redact(error, ctx.expected_state)
        description = params.get("error_description")
        if description is not None:
            description = _redact(description, ctx.expected_state)
        # Provider text on the terminal: escaped (ESC, \r, bidi) and cut before it is a message.
        shown = None if description is None else sanitize(description)
        message = callback_error_message(sanitize(error), shown, ctx.profile)
        log_event(
            logger,
            logging.WARNING,
            "oauth callback returned error",
            error_code=error,
            error_description=strip_urls(description or "")[:500],
            has_error_description=bool(description and description.strip()),
        )
        failure = _failed(
            LoginFailurePhase.VALIDATE_CALLBACK,
            LoginFailureCategory.PROVIDER_CALLBACK_ERROR,
            message,
        )
        return Finish(
            error_page_response(message, error, description, ctx.profile),
            RunResult(Outcome.FAILURE, message, ErrorKind.PERMISSION_DENIED, failure),
            (received, failure),
        )

    if not code:
        message = "Missing authorization code. Sign-in could not be completed."
        log_event(
            logger,
            logging.WARNING,
            "login callback missing authorization code",
            has_state=has_state,
            has_error=has_error,
        )
        failure = _failed(
            LoginFailurePhase.VALIDATE_CALLBACK,
            LoginFailureCategory.MISSING_AUTHORIZATION_CODE,
            message,
        )
        return Finish(
            error_page_response(message, "missing_authorization_code", None, ctx.profile),
            RunResult(Outcome.FAILURE, message, ErrorKind.INVALID_DATA, failure),
            (received, failure),
        )
    return Exchange(code=code, events=(received,))
