"""The device-code sign-in's own steps: :class:`~loginkit.core._phases.LoginPhase` subclasses
like every other phase. They live apart only so that a browser sign-in does not pay for
defining them before its link is printed; the device flow shares ``ExchangingToken``,
``PersistingCredentials``, ``Succeeded`` and the one ``Failed`` with the browser flow.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from loginkit.core._phases import LoginPhase
from loginkit.core._profiles import OPENAI, Profile


def expiry_words(seconds: float) -> str:
    """How long a device code lives, in words: ``"15 minutes"``, ``"1 minute"``, ``"90 seconds"``.

    Whole minutes from two minutes on (rounded down: the code must not be promised longer than
    it lives), seconds below that. A caller must pass the provider's own lifetime (RFC 8628
    ``expires_in``), never an assumed 15 minutes.
    """
    whole = max(int(seconds), 0)
    if whole >= 120 or (whole >= 60 and whole % 60 == 0):
        minutes = whole // 60
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    return f"{whole} second{'s' if whole != 1 else ''}"


@dataclass(frozen=True)
class RequestingDeviceCode(LoginPhase):
    id: ClassVar[str] = "requesting_device_code"

    def render(self, profile: Profile = OPENAI) -> str:
        return "Requesting a device code..."


@dataclass(frozen=True)
class ShowingDeviceCode(LoginPhase):
    """The code to type and where; the CLI renders its own prompt block for this."""

    verification_url: str
    user_code: str
    expires_in: int
    #: RFC 8628 ``verification_uri_complete`` (the URL with the code in it), when the provider
    #: sent one; the person may open it instead of typing the code.
    verification_url_complete: str | None = None
    id: ClassVar[str] = "showing_device_code"

    def render(self, profile: Profile = OPENAI) -> str:
        return f"Open {self.verification_url} and enter the code {self.user_code}"

    def fields(self) -> dict[str, object]:
        fields: dict[str, object] = {
            "verification_url": self.verification_url,
            "user_code": self.user_code,
            "expires_in": self.expires_in,
        }
        if self.verification_url_complete is not None:
            fields["verification_url_complete"] = self.verification_url_complete
        return fields


@dataclass(frozen=True)
class PollingForApproval(LoginPhase):
    attempt: int
    id: ClassVar[str] = "polling_for_approval"

    def is_user_visible(self) -> bool:
        return self.attempt == 1

    def render(self, profile: Profile = OPENAI) -> str:
        return "Waiting for you to approve the code in your browser..."

    def fields(self) -> dict[str, object]:
        return {"attempt": self.attempt}


@dataclass(frozen=True)
class PollRetrying(LoginPhase):
    """A transient network error while polling; the flow retries after ``delay`` seconds."""

    delay: float
    error: str
    id: ClassVar[str] = "poll_retrying"

    def is_user_visible(self) -> bool:
        return True

    def render(self, profile: Profile = OPENAI) -> str:
        return f"Network hiccup while waiting ({self.error}); retrying in {self.delay:g} s..."

    def fields(self) -> dict[str, object]:
        return {"delay": self.delay, "error": self.error}


#: The device-code steps, in the order a successful device sign-in emits them (it shares
#: ``ExchangingToken``, ``PersistingCredentials``, ``Succeeded`` and ``Failed`` with the browser).
DEVICE_PHASES: tuple[type[LoginPhase], ...] = (
    RequestingDeviceCode,
    ShowingDeviceCode,
    PollingForApproval,
    PollRetrying,
)
