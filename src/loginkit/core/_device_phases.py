"""Progress vocabulary for device-code sign-in, rendered like the browser flow's.

Where a step means the same thing as in the browser flow, the device flow emits the browser's own
phase (``ExchangingToken``, ``PersistingCredentials``, ``Succeeded`` from :mod:`loginkit.core._phases`);
the classes here are the device steps. Failures reuse :class:`LoginFailureCategory` for the token
exchange, workspace and persistence buckets, and add four device-specific categories.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import ClassVar

from loginkit.core._phases import (
    CATEGORY_TEXT,
    CategoryWords,
    ExchangingToken,
    LoginFailureCategory,
    PersistingCredentials,
    Succeeded,
    failure_block,
)
from loginkit.core._profiles import OPENAI, Profile


class DeviceFailurePhase(enum.Enum):
    REQUEST_DEVICE_CODE = "request_device_code"
    WAIT_FOR_APPROVAL = "wait_for_approval"
    EXCHANGE_TOKEN = "exchange_token"
    VALIDATE = "validate"
    PERSIST_CREDENTIALS = "persist_credentials"

    def text(self, profile: Profile = OPENAI) -> str:
        return {
            DeviceFailurePhase.REQUEST_DEVICE_CODE: "requesting a device code",
            DeviceFailurePhase.WAIT_FOR_APPROVAL: "waiting for the code to be approved",
            DeviceFailurePhase.EXCHANGE_TOKEN: "exchanging authorization code for tokens",
            DeviceFailurePhase.VALIDATE: "validating the sign-in",
            DeviceFailurePhase.PERSIST_CREDENTIALS: "saving credentials locally",
        }[self]

    def __str__(self) -> str:
        return self.text()


class DeviceFailureCategory(CategoryWords, enum.Enum):
    """Failures only the device flow has. The value is the stable id."""

    DEVICE_CODE_UNAVAILABLE = "device_code_unavailable"
    DEVICE_CODE_REQUEST_FAILED = "device_code_request_failed"
    DEVICE_CODE_EXPIRED = "device_code_expired"
    DEVICE_AUTHORIZATION_FAILED = "device_authorization_failed"


CATEGORY_TEXT.update(
    {
        DeviceFailureCategory.DEVICE_CODE_UNAVAILABLE: (
            "Device code sign-in isn't available",
            "Enable device code authorization for {app} in ChatGPT Security Settings (or ask your"
            " workspace admin), then run `{device}` again; or sign in with `{login}` in a browser.",
        ),
        DeviceFailureCategory.DEVICE_CODE_REQUEST_FAILED: (
            "Couldn't start device code sign-in",
            "Check your network, proxy, or custom CA setup, then try again.",
        ),
        DeviceFailureCategory.DEVICE_CODE_EXPIRED: (
            "The device code expired",
            "Run `{device}` again and enter the new code within 15 minutes.",
        ),
        DeviceFailureCategory.DEVICE_AUTHORIZATION_FAILED: (
            "The device code wasn't approved",
            "Run `{device}` again, and approve the code on the sign-in page.",
        ),
    }
)

AnyCategory = LoginFailureCategory | DeviceFailureCategory


class DevicePhase:
    """A milestone of one device-code sign-in; ``id`` is a stable snake_case name."""

    id: ClassVar[str] = ""

    def is_user_visible(self) -> bool:
        return False

    def render(self, profile: Profile = OPENAI) -> str:
        raise NotImplementedError

    def fields(self) -> dict[str, object]:
        return {}

    def __str__(self) -> str:
        return self.render(OPENAI)


@dataclass(frozen=True)
class RequestingDeviceCode(DevicePhase):
    id: ClassVar[str] = "requesting_device_code"

    def render(self, profile: Profile = OPENAI) -> str:
        return "Requesting a device code..."


@dataclass(frozen=True)
class ShowingDeviceCode(DevicePhase):
    """The code to type and where; the CLI renders its own prompt block for this."""

    verification_url: str
    user_code: str
    expires_in: int
    id: ClassVar[str] = "showing_device_code"

    def render(self, profile: Profile = OPENAI) -> str:
        return f"Open {self.verification_url} and enter the code {self.user_code}"

    def fields(self) -> dict[str, object]:
        return {
            "verification_url": self.verification_url,
            "user_code": self.user_code,
            "expires_in": self.expires_in,
        }


@dataclass(frozen=True)
class PollingForApproval(DevicePhase):
    attempt: int
    id: ClassVar[str] = "polling_for_approval"

    def is_user_visible(self) -> bool:
        return self.attempt == 1

    def render(self, profile: Profile = OPENAI) -> str:
        return "Waiting for you to approve the code in your browser..."

    def fields(self) -> dict[str, object]:
        return {"attempt": self.attempt}


@dataclass(frozen=True)
class PollRetrying(DevicePhase):
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


@dataclass(frozen=True)
class DeviceFailed(DevicePhase):
    phase: DeviceFailurePhase
    category: AnyCategory
    message: str
    id: ClassVar[str] = "failed"

    def is_user_visible(self) -> bool:
        return True

    def render(self, profile: Profile = OPENAI) -> str:
        return failure_block(
            profile,
            title=self.category.title_for(profile),
            where=self.phase.text(profile),
            help=self.category.help_for(profile),
            category_id=self.category.value,
            message=self.message,
            how=" with a device code",
        )

    def fields(self) -> dict[str, object]:
        return {
            "failure_phase": self.phase.value,
            "category": self.category.value,
            "title": self.category.title,
            "message": self.message,
        }


#: What a device sign-in emits: its own steps, plus the browser phases it shares.
DeviceEvent = DevicePhase | ExchangingToken | PersistingCredentials | Succeeded
