"""Binding the callback port, taking it over from a stale login server when it is busy.

A busy port is usually an older sign-in (ours or the Codex CLI's) that nobody finished: it is
asked once to stand down (``GET /cancel``), then the port is polled (a quiet bind every
:data:`BIND_POLL_INTERVAL`) so the new server has it the moment the old one lets go, instead of
after a fixed sleep; each of the :data:`BIND_ATTEMPTS` attempts waits at most
:data:`BIND_RETRY_DELAY` for that. The IPv6 loopback on the
same port is added when the host has one, so browsers that resolve ``localhost`` to ``::1``
reach the server too.
"""

from __future__ import annotations

import _socket
import errno
import logging
import socket
import time

from loginkit.core._categories import LoginFailureCategory, LoginFailurePhase
from loginkit.core._exceptions import ErrorKind, LoginError
from loginkit.core._log import log_event
from loginkit.core._phases import (
    BindingLocalServer,
    Failed,
    PreviousLoginServerDetected,
    ProgressSink,
)
from loginkit.loopback._listen import listen, send_cancel_request

logger = logging.getLogger("loginkit.server")

BIND_ATTEMPTS = 10
#: The longest one attempt waits for the port (10 attempts: about 2 s before giving up).
BIND_RETRY_DELAY = 0.2
#: How often the port is tried while waiting: a takeover costs the old server's shutdown plus
#: at most this (it was a fixed 200 ms sleep).
BIND_POLL_INTERVAL = 0.005


def _failure(
    emit: ProgressSink,
    message: str,
    kind: ErrorKind,
    category: LoginFailureCategory = LoginFailureCategory.LOCAL_SERVER_UNAVAILABLE,
) -> LoginError:
    failure = Failed(LoginFailurePhase.BIND_LOCAL_SERVER, category, message)
    emit(failure)
    return LoginError(message, kind=kind, failure=failure)


def _poll_port(address: str, port: int, wait: float) -> socket.socket | None:
    """The listening socket as soon as ``address:port`` can be bound within ``wait`` seconds,
    else None (still busy, or another error the caller's next attempt reports)."""
    deadline = time.monotonic() + wait
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        time.sleep(min(BIND_POLL_INTERVAL, left))
        try:
            return listen(socket.AF_INET, address, port)
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                return None


def _announce(emit: ProgressSink, attempt: int, port: int) -> None:
    log_event(logger, logging.INFO, "binding local callback server", attempt=attempt, port=port)
    emit(BindingLocalServer(attempt=attempt))


def bind_callback_port(address: str, port: int, emit: ProgressSink) -> list[socket.socket]:
    """Listening sockets for ``address:port`` (the IPv4 one first, then ``[::1]`` when it could
    be had), reporting each attempt through ``emit``.

    Raises :class:`LoginError` (after emitting its ``Failed``) when the port stays busy, is
    forbidden by the operating system, or cannot be bound at all. Port 0 picks a free port and
    never takes anything over.
    """
    started = time.monotonic()
    attempts = 0
    cancel_attempted = False
    while True:
        _announce(emit, attempts + 1, port)
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
                    emit(PreviousLoginServerDetected(attempt=attempts))
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
                polled = _poll_port(address, port, BIND_RETRY_DELAY)
                if polled is not None:
                    # The port came free while polling: that bind is the next attempt.
                    _announce(emit, attempts + 1, port)
                    v4 = polled
                    break
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
                    raise _failure(
                        emit,
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
            raise _failure(emit, message, ErrorKind.OTHER, category) from None
    sockets = [v4]
    actual = v4.getsockname()[1]
    try:
        # Browsers that resolve "localhost" to ::1 must reach us too.
        sockets.append(listen(socket.AF_INET6, "::1", actual))
    except OSError as exc:
        log_event(logger, logging.INFO, "ipv6 loopback not used", reason=exc.strerror or str(exc))
    return sockets


def adopt_bound(
    raw_sockets: list[_socket.socket], port: int, *, took_over: bool, emit: ProgressSink
) -> list[socket.socket]:
    """The link-first start's listening sockets, for the full run (asyncio's ``socket.socket``),
    with the milestones the full path would have logged. A takeover's two lines are on screen
    already: only the log hears of it then, and no attempt is emitted again."""
    from loginkit.loopback._listen import adopt_socket

    if took_over:
        log_event(
            logger,
            logging.WARNING,
            "previous login server detected on callback port; cancelling stale session",
            attempt=1,
            port=port,
        )
    else:
        emit(BindingLocalServer(attempt=1))
    attempt = 2 if took_over else 1
    log_event(logger, logging.INFO, "binding local callback server", attempt=attempt, port=port)
    return [adopt_socket(raw) for raw in raw_sockets]
