"""Progress vocabulary for every sign-in (browser and device code), and its default text.

This module describes what happened in a sign-in in a UI-neutral form: phases a run goes through,
one ``Failed`` for every failure of either flow (its categories live in
:mod:`loginkit.core._categories`), and the one emitter that delivers them. The server emits these values; the CLI, a TUI,
an IDE or a ``--json`` consumer decides how to show them. Callback events only say whether sensitive
fields were present or valid, never their values.

``str(phase)`` gives the Codex CLI's text (the ``openai`` profile). ``phase.render(profile)`` gives
the same sentence with another profile's app name, commands and help URL.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from loginkit.core._categories import (
    AnyCategory,
    DeviceFailurePhase,
    FailurePhase,
    LoginFailureCategory,
    LoginFailurePhase,
    failure_block,
)
from loginkit.core._log import log_event
from loginkit.core._profiles import OPENAI, Profile
from loginkit.core._texts import CLEANUP_TEXT, retry_text

__all__ = [
    "ALL_PHASES",
    "Emitter",
    "Failed",
    "LoginFailureCategory",
    "LoginFailurePhase",
    "LoginPhase",
    "ProgressSink",
]


class LoginPhase:
    """A milestone of one sign-in: the ten browser phases below (``Failed`` among them, shared by
    both flows); the device-code steps are subclasses too (:mod:`loginkit.core._device_phases`).

    This is a flow contract, not a UI contract: callers decide which phases to show
    (:meth:`is_user_visible` is the CLI's choice). Match on the subclasses, e.g.
    ``isinstance(phase, LoginPhase.Failed)``; the ``id`` class attribute is a stable snake_case name
    for JSON consumers.
    """

    id: ClassVar[str] = ""

    def is_user_visible(self) -> bool:
        """Whether the default CLI printer shows this phase; noisy phases exist for logs and tests."""
        return False

    def render(self, profile: Profile = OPENAI) -> str:
        """The default one-line (or, for failures, four-line) text, in ``profile``'s words."""
        raise NotImplementedError

    def fields(self) -> dict[str, object]:
        """The phase's data as plain JSON-able values (no secrets: phases never carry any)."""
        return {}

    def __str__(self) -> str:
        return self.render(OPENAI)

    # Subclasses, attached below so they read like the seed's enum: LoginPhase.Failed(...).
    BindingLocalServer: ClassVar[type[BindingLocalServer]]
    PreviousLoginServerDetected: ClassVar[type[PreviousLoginServerDetected]]
    LocalServerBound: ClassVar[type[LocalServerBound]]
    OpeningBrowser: ClassVar[type[OpeningBrowser]]
    WaitingForCallback: ClassVar[type[WaitingForCallback]]
    CallbackReceived: ClassVar[type[CallbackReceived]]
    ExchangingToken: ClassVar[type[ExchangingToken]]
    PersistingCredentials: ClassVar[type[PersistingCredentials]]
    Succeeded: ClassVar[type[Succeeded]]
    Failed: ClassVar[type[Failed]]


@dataclass(frozen=True)
class BindingLocalServer(LoginPhase):
    """The callback server is trying to bind its port; ``attempt`` counts from 1."""

    attempt: int
    id: ClassVar[str] = "binding_local_server"

    def is_user_visible(self) -> bool:
        return self.attempt > 1

    def render(self, profile: Profile = OPENAI) -> str:
        if self.attempt > 1:
            return retry_text(self.attempt)
        return "Starting local sign-in listener..."

    def fields(self) -> dict[str, object]:
        return {"attempt": self.attempt}


@dataclass(frozen=True)
class PreviousLoginServerDetected(LoginPhase):
    """An older login server holds the port; this run is asking it to stand down (``/cancel``)."""

    attempt: int
    id: ClassVar[str] = "previous_login_server_detected"

    def is_user_visible(self) -> bool:
        return True

    def render(self, profile: Profile = OPENAI) -> str:
        return CLEANUP_TEXT

    def fields(self) -> dict[str, object]:
        return {"attempt": self.attempt}


@dataclass(frozen=True)
class LocalServerBound(LoginPhase):
    """The listener is bound; ``port`` is the real port (it differs from the option when it was 0)."""

    port: int
    id: ClassVar[str] = "local_server_bound"

    def render(self, profile: Profile = OPENAI) -> str:
        return f"Local callback server ready on http://localhost:{self.port}"

    def fields(self) -> dict[str, object]:
        return {"port": self.port}


@dataclass(frozen=True)
class OpeningBrowser(LoginPhase):
    """The handler is ready and the system browser is being launched."""

    id: ClassVar[str] = "opening_browser"

    def is_user_visible(self) -> bool:
        return True

    def render(self, profile: Profile = OPENAI) -> str:
        return "Opening your browser to sign in..."


@dataclass(frozen=True)
class WaitingForCallback(LoginPhase):
    """The server is waiting for the browser to come back to the loopback callback."""

    id: ClassVar[str] = "waiting_for_callback"

    def render(self, profile: Profile = OPENAI) -> str:
        return "Waiting for browser sign-in..."


@dataclass(frozen=True)
class CallbackReceived(LoginPhase):
    """A callback request arrived. Only presence and validity are reported, never the values."""

    has_code: bool
    has_state: bool
    has_error: bool
    state_valid: bool
    id: ClassVar[str] = "callback_received"

    def is_user_visible(self) -> bool:
        return not self.has_error and self.state_valid

    def render(self, profile: Profile = OPENAI) -> str:
        if not self.has_error and self.state_valid:
            return "Browser sign-in received. Finishing up..."
        return "Browser sign-in callback received"

    def fields(self) -> dict[str, object]:
        return {
            "has_code": self.has_code,
            "has_state": self.has_state,
            "has_error": self.has_error,
            "state_valid": self.state_valid,
        }


@dataclass(frozen=True)
class ExchangingToken(LoginPhase):
    """The authorization code is being exchanged for tokens."""

    id: ClassVar[str] = "exchanging_token"

    def render(self, profile: Profile = OPENAI) -> str:
        return "Exchanging authorization code for tokens..."


@dataclass(frozen=True)
class PersistingCredentials(LoginPhase):
    """The tokens are being written to the credential store."""

    id: ClassVar[str] = "persisting_credentials"

    def is_user_visible(self) -> bool:
        return True

    def render(self, profile: Profile = OPENAI) -> str:
        return f"Saving your {profile.app_name} credentials..."


@dataclass(frozen=True)
class Succeeded(LoginPhase):
    """Credentials are saved and the browser is being sent to the success page."""

    id: ClassVar[str] = "succeeded"

    def render(self, profile: Profile = OPENAI) -> str:
        return "Signed in. You're good to go."


@dataclass(frozen=True)
class Failed(LoginPhase):
    """A failure: where it happened, its stable category, and a message with no secret in it.

    The one failure event of both flows: a :class:`DeviceFailurePhase` marks a device-code
    sign-in, and the block then says so. Not every ``Failed`` ends the run: a state mismatch or a
    browser that would not open leave the server waiting. The run's final error says whether its
    own failure was already emitted.
    """

    phase: FailurePhase
    category: AnyCategory
    message: str
    id: ClassVar[str] = "failed"

    def is_user_visible(self) -> bool:
        return True

    @property
    def device(self) -> bool:
        """Whether this failure ended (or interrupted) a device-code sign-in."""
        return isinstance(self.phase, DeviceFailurePhase)

    def render(self, profile: Profile = OPENAI) -> str:
        return failure_block(
            profile,
            title=self.category.title_for(profile),
            where=self.phase.text(profile),
            help=self.category.help_for(profile),
            category_id=self.category.id,
            message=self.message,
            how=" with a device code" if self.device else "",
        )

    def fields(self) -> dict[str, object]:
        return {
            "failure_phase": self.phase.value,
            "category": self.category.value,
            "title": self.category.title,
            "message": self.message,
        }


LoginPhase.BindingLocalServer = BindingLocalServer
LoginPhase.PreviousLoginServerDetected = PreviousLoginServerDetected
LoginPhase.LocalServerBound = LocalServerBound
LoginPhase.OpeningBrowser = OpeningBrowser
LoginPhase.WaitingForCallback = WaitingForCallback
LoginPhase.CallbackReceived = CallbackReceived
LoginPhase.ExchangingToken = ExchangingToken
LoginPhase.PersistingCredentials = PersistingCredentials
LoginPhase.Succeeded = Succeeded
LoginPhase.Failed = Failed

#: Every phase type, in the order a successful run emits them (``Failed`` last).
ALL_PHASES: tuple[type[LoginPhase], ...] = (
    BindingLocalServer,
    PreviousLoginServerDetected,
    LocalServerBound,
    OpeningBrowser,
    WaitingForCallback,
    CallbackReceived,
    ExchangingToken,
    PersistingCredentials,
    Succeeded,
    Failed,
)


#: A progress observer: any callable taking one :class:`LoginPhase`. Observers are best-effort: one
#: that raises is dropped for the rest of the run and can never fail a sign-in.
ProgressSink = Callable[[LoginPhase], object]


class Emitter:
    """Delivers phases to one run's sink, in order, one at a time, from any thread.

    A sink that raises is dropped for the rest of the run (logged once) and can never fail a
    sign-in. Every flow emits through one of these; emitting ``None`` sinks is a no-op. After
    :meth:`close` (the run has ended) nothing more is delivered.
    """

    def __init__(self, sink: ProgressSink | None) -> None:
        self._sink = sink
        self._lock = threading.Lock()

    def __call__(self, phase: LoginPhase) -> None:
        with self._lock:
            sink = self._sink
            if sink is None:
                return
            try:
                sink(phase)
            except Exception as exc:
                self._sink = None
                log_event(
                    _logger,
                    logging.WARNING,
                    "progress sink failed; dropping it",
                    error=type(exc).__name__,
                )

    def close(self) -> None:
        """Deliver nothing more: the run's end was the last event."""
        with self._lock:
            self._sink = None


_logger = logging.getLogger("loginkit.progress")
