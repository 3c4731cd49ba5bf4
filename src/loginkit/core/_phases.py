"""Progress and failure vocabulary for a sign-in, and its default text.

This module describes what happened in a sign-in in a UI-neutral form: phases a run goes through and
a closed set of failure categories with stable ids. The server emits these values; the CLI, a TUI,
an IDE or a ``--json`` consumer decides how to show them. Callback events only say whether sensitive
fields were present or valid, never their values.

``str(phase)`` gives the Codex CLI's text (the ``openai`` profile). ``phase.render(profile)`` gives
the same sentence with another profile's app name, commands and help URL.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from loginkit.core._profiles import OPENAI, Profile

__all__ = [
    "LoginFailureCategory",
    "LoginFailurePhase",
    "LoginPhase",
    "ProgressSink",
]


def _words(text: str, profile: Profile) -> str:
    return (
        text.replace("{app}", profile.app_name)
        .replace("{login}", profile.login_command)
        .replace("{device}", profile.device_login_command)
    )


class LoginFailurePhase(enum.Enum):
    """Where in the flow a failure happened, independent of what kind of failure it was.

    A token exchange can fail because the server said no or because the network was down; both are
    ``EXCHANGE_TOKEN`` but carry different categories. The value is a stable snake_case id.
    """

    BIND_LOCAL_SERVER = "bind_local_server"
    OPEN_BROWSER = "open_browser"
    WAIT_FOR_CALLBACK = "wait_for_callback"
    VALIDATE_CALLBACK = "validate_callback"
    EXCHANGE_TOKEN = "exchange_token"
    PERSIST_CREDENTIALS = "persist_credentials"
    REDIRECT_BACK_TO_CODEX = "redirect_back_to_codex"

    def text(self, profile: Profile = OPENAI) -> str:
        """The clause that completes "... couldn't finish signing in while {text}"."""
        return _words(_FAILURE_PHASE_TEXT[self], profile)

    def __str__(self) -> str:
        return self.text()


_FAILURE_PHASE_TEXT = {
    LoginFailurePhase.BIND_LOCAL_SERVER: "binding local callback server",
    LoginFailurePhase.OPEN_BROWSER: "opening browser",
    LoginFailurePhase.WAIT_FOR_CALLBACK: "waiting for OAuth callback",
    LoginFailurePhase.VALIDATE_CALLBACK: "validating OAuth callback",
    LoginFailurePhase.EXCHANGE_TOKEN: "exchanging authorization code for tokens",
    LoginFailurePhase.PERSIST_CREDENTIALS: "saving credentials locally",
    LoginFailurePhase.REDIRECT_BACK_TO_CODEX: "redirecting back to {app}",
}


#: (title, help) of every failure category, of every flow; the device flow adds its own.
CATEGORY_TEXT: dict[enum.Enum, tuple[str, str]] = {}


class CategoryWords:
    """What every failure-category enum offers: the stable id, and its title and one-line hint in
    a profile's words. Mixed into ``enum.Enum``s whose value is the id; texts live in
    :data:`CATEGORY_TEXT`."""

    value: str

    @property
    def id(self) -> str:
        return self.value

    @property
    def title(self) -> str:
        """Short headline, with the ``openai`` profile's words."""
        return self.title_for(OPENAI)

    @property
    def help(self) -> str:
        """One concrete recovery hint, with the ``openai`` profile's words."""
        return self.help_for(OPENAI)

    def title_for(self, profile: Profile) -> str:
        return _words(CATEGORY_TEXT[self][0], profile)  # type: ignore[index]

    def help_for(self, profile: Profile) -> str:
        return _words(CATEGORY_TEXT[self][1], profile)  # type: ignore[index]

    def __str__(self) -> str:
        return self.value


class LoginFailureCategory(CategoryWords, enum.Enum):
    """Stable failure buckets for people and support: the value is the id shown after "Details:".

    Categories are coarser than root causes on purpose; a caller must not assume one category means
    exactly one cause (the message and the login log carry the detail).
    """

    LOCAL_SERVER_UNAVAILABLE = "local_server_unavailable"
    BROWSER_LAUNCH_FAILED = "browser_launch_failed"
    LOGIN_CANCELLED = "login_cancelled"
    CALLBACK_STATE_MISMATCH = "callback_state_mismatch"
    PROVIDER_CALLBACK_ERROR = "provider_callback_error"
    MISSING_AUTHORIZATION_CODE = "missing_authorization_code"
    TOKEN_EXCHANGE_TIMEOUT = "token_exchange_timeout"
    TOKEN_EXCHANGE_CONNECT = "token_exchange_connect"
    TOKEN_EXCHANGE_REQUEST = "token_exchange_request"
    TOKEN_ENDPOINT_REJECTED = "token_endpoint_rejected"
    TOKEN_RESPONSE_MALFORMED = "token_response_malformed"
    WORKSPACE_RESTRICTION = "workspace_restriction"
    PERSIST_FAILED = "persist_failed"
    REDIRECT_FAILED = "redirect_failed"
    #: Not in the seed: the OS refuses the port itself (EACCES, e.g. Windows' excluded port ranges
    #: or a privileged port). The seed reported it as ``local_server_unavailable``, whose hint blames
    #: "another process", which sends people looking for a process that does not exist.
    LOCAL_PORT_FORBIDDEN = "local_port_forbidden"
    #: Not in the seed (spec 16.18): the id_token failed verification (signature against the
    #: provider's published keys, ``iss``, ``aud``, ``exp``, ``iat``). The seed trusted its claims
    #: unchecked.
    ID_TOKEN_INVALID = "id_token_invalid"


_NETWORK_HELP = "Check your network, proxy, or custom CA setup, then try again."
CATEGORY_TEXT.update(
    {
        LoginFailureCategory.LOCAL_SERVER_UNAVAILABLE: (
            "Couldn't start local sign-in",
            "Retry in a moment. If it keeps happening, another process may be holding the local"
            " callback port.",
        ),
        LoginFailureCategory.BROWSER_LAUNCH_FAILED: (
            "Couldn't open your browser",
            "Use the sign-in link printed above, or run `{device}` on a remote machine.",
        ),
        LoginFailureCategory.LOGIN_CANCELLED: (
            "Sign-in was cancelled",
            "Run `{login}` to try again.",
        ),
        LoginFailureCategory.CALLBACK_STATE_MISMATCH: (
            "Couldn't verify this sign-in attempt",
            "Retry sign-in from the same terminal, and avoid reusing an old browser tab.",
        ),
        LoginFailureCategory.PROVIDER_CALLBACK_ERROR: (
            "The sign-in page reported a problem",
            "Try again, switch accounts, or contact your workspace admin if access is restricted.",
        ),
        LoginFailureCategory.MISSING_AUTHORIZATION_CODE: (
            "Didn't get a sign-in code back",
            "Try again. If it keeps happening, restart the login flow from {app}.",
        ),
        LoginFailureCategory.TOKEN_EXCHANGE_TIMEOUT: (
            "The auth server took too long to respond",
            "Check your network connection or proxy, then try again.",
        ),
        LoginFailureCategory.TOKEN_EXCHANGE_CONNECT: (
            "Couldn't reach the auth server",
            _NETWORK_HELP,
        ),
        LoginFailureCategory.TOKEN_EXCHANGE_REQUEST: (
            "Couldn't reach the auth server",
            _NETWORK_HELP,
        ),
        LoginFailureCategory.TOKEN_ENDPOINT_REJECTED: (
            "The auth server rejected the sign-in",
            "Try again. If this repeats, your account or workspace may not be allowed to use {app}.",
        ),
        LoginFailureCategory.TOKEN_RESPONSE_MALFORMED: (
            "The auth server sent an unexpected response",
            "Try again. If this repeats, contact support with the details below.",
        ),
        LoginFailureCategory.WORKSPACE_RESTRICTION: (
            "This account can't be used here",
            "Switch to an allowed account or contact your workspace admin.",
        ),
        LoginFailureCategory.PERSIST_FAILED: (
            "Couldn't save your {app} credentials",
            "Check permissions for your {app} home directory, then try again.",
        ),
        LoginFailureCategory.REDIRECT_FAILED: (
            "Couldn't return to {app} after sign-in",
            "Return to {app} and retry sign-in.",
        ),
        LoginFailureCategory.LOCAL_PORT_FORBIDDEN: (
            "Couldn't start local sign-in",
            "The operating system does not allow listening on this port. Sign in with another port"
            " (`--port`), or remove it from the reserved port range.",
        ),
        LoginFailureCategory.ID_TOKEN_INVALID: (
            "Couldn't verify your sign-in",
            "Check that this computer's clock is set correctly, then run `{login}` again.",
        ),
    }
)


def failure_block(
    profile: Profile,
    *,
    title: str,
    where: str,
    help: str,
    category_id: str,
    message: str,
    how: str = "",
) -> str:
    """The four-line failure block every flow prints: title, what/where/fix, help URL, details.

    ``how`` names the sign-in method when it is not the browser (" with a device code").
    """
    return (
        f"{title}\n"
        f"{profile.app_name} couldn't finish signing in{how} while {where}. {help}\n"
        f"Help: {profile.help_url}\n"
        f"Details: {category_id} - {message}"
    )


class LoginPhase:
    """A milestone of one browser sign-in; the subclasses below are the ten phases.

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
            return f"Retrying the local sign-in listener... (attempt {self.attempt})"
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
        return "Cleaning up an old login session first..."

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

    Not every ``Failed`` ends the run: a state mismatch or a browser that would not open leave the
    server waiting. The run's final error says whether its own failure was already emitted.
    """

    phase: LoginFailurePhase
    category: LoginFailureCategory
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
            category_id=self.category.id,
            message=self.message,
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
