"""Opening the system browser without ever blocking a sign-in.

Python's ``webbrowser`` waits for a ``$BROWSER`` command to exit, and a launcher can hang or
fail: it runs on a helper thread, and a failure is a (non-fatal) ``browser_launch_failed`` event,
the link on screen being the way on.
"""

from __future__ import annotations

import logging
import threading

from loginkit.core._categories import LoginFailureCategory, LoginFailurePhase
from loginkit.core._log import log_event
from loginkit.core._phases import Failed, OpeningBrowser, ProgressSink
from loginkit.core._redact import scrub

logger = logging.getLogger("loginkit.server")


def open_system_browser(url: str, emit: ProgressSink) -> None:
    """Emit ``OpeningBrowser`` and open ``url`` on a helper thread; returns at once."""
    emit(OpeningBrowser())
    log_event(logger, logging.INFO, "opening browser for oauth authorization")

    def _open() -> None:
        try:
            import webbrowser

            if webbrowser.open(url):
                return
            message = "No browser found"
        except Exception as exc:
            message = scrub(str(exc), [url]) or type(exc).__name__
        log_event(
            logger, logging.WARNING, "failed to open browser for oauth authorization", err=message
        )
        emit(
            Failed(
                LoginFailurePhase.OPEN_BROWSER, LoginFailureCategory.BROWSER_LAUNCH_FAILED, message
            )
        )

    threading.Thread(target=_open, name="loginkit-browser", daemon=True).start()
