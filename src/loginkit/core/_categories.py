"""Where a sign-in failed and what kind of failure it was: closed sets with stable ids, each
category with a title and one recovery hint in a profile's words.

Categories are coarser than root causes on purpose; a caller must not assume one category means
exactly one cause (the message and the login log carry the detail).
"""

from __future__ import annotations

import enum

from loginkit.core._profiles import OPENAI, Profile


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
    #: Not in the seed: a generic provider's discovery document, read before the link is shown.
    DISCOVER_PROVIDER = "discover_provider"

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
    LoginFailurePhase.DISCOVER_PROVIDER: "looking up the sign-in service",
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
    #: Not in the seed: ``--timeout`` ran out. The seed said "cancelled", as for Ctrl-C, which
    #: told a person who waited that they had stopped it.
    LOGIN_TIMED_OUT = "login_timed_out"
    #: Not in the seed: the issuer's discovery document could not be had or does not describe
    #: this issuer (404, not JSON, unreachable, another ``issuer``). Reported before any link is
    #: printed, instead of a link to guessed paths that cannot work.
    PROVIDER_DISCOVERY_FAILED = "provider_discovery_failed"
    #: Not in the seed: the home already holds the sign-in of another issuer or client id, which
    #: a sign-in never replaces silently (a generic sign-in used to overwrite Codex's).
    ANOTHER_PROVIDERS_RECORD = "another_providers_record"
    #: Not in the seed (RFC 9207): a callback whose ``iss`` is not this run's issuer, or that
    #: lacks ``iss`` when discovery announced it. The code is never exchanged (a mix-up attack
    #: sends the person's code to the wrong token endpoint); the run keeps waiting, as for a
    #: state mismatch.
    CALLBACK_ISSUER_MISMATCH = "callback_issuer_mismatch"


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
        LoginFailureCategory.LOGIN_TIMED_OUT: (
            "Sign-in timed out",
            "Run `{login}` again and complete the sign-in in your browser before the time limit"
            " (`--timeout` sets it).",
        ),
        LoginFailureCategory.ANOTHER_PROVIDERS_RECORD: (
            "Another sign-in is stored here",
            "Sign in with its own --home directory, or add --replace to replace the stored"
            " sign-in.",
        ),
        LoginFailureCategory.PROVIDER_DISCOVERY_FAILED: (
            "Couldn't find the sign-in service",
            "Check --issuer: it must be the provider's issuer URL, the one its"
            " /.well-known/openid-configuration names.",
        ),
        LoginFailureCategory.CALLBACK_ISSUER_MISMATCH: (
            "The sign-in came back from another sign-in service",
            "Open only the link `{login}` prints; if this repeats, check --issuer.",
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


class DeviceFailurePhase(enum.Enum):
    REQUEST_DEVICE_CODE = "request_device_code"
    WAIT_FOR_APPROVAL = "wait_for_approval"
    EXCHANGE_TOKEN = "exchange_token"
    VALIDATE = "validate"
    PERSIST_CREDENTIALS = "persist_credentials"

    def text(self, profile: Profile = OPENAI) -> str:
        """The clause that completes "... couldn't finish signing in with a device code while
        {text}". Codex's device flow really exchanges an authorization code (the seed's words);
        the RFC 8628 flow of any other profile exchanges the device code itself."""
        if self is DeviceFailurePhase.EXCHANGE_TOKEN and profile.name != OPENAI.name:
            return "exchanging the device code for tokens"
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

    def help_for(self, profile: Profile) -> str:
        """The hint in ``profile``'s words. The Codex texts are the seed's; a standard (RFC 8628)
        provider has no ChatGPT settings and its own code lifetime, so it gets its own words."""
        standard = _STANDARD_DEVICE_HELP.get(self)
        if standard is not None and profile.name != OPENAI.name:
            return _words(standard, profile)
        return super().help_for(profile)


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


#: The hints of a standard (RFC 8628) provider where Codex's would be wrong for it.
_STANDARD_DEVICE_HELP: dict[DeviceFailureCategory, str] = {
    DeviceFailureCategory.DEVICE_CODE_UNAVAILABLE: (
        "This provider offers no device code sign-in for this client id (ask its administrator"
        " to allow the device grant); or sign in with `{login}` in a browser."
    ),
    DeviceFailureCategory.DEVICE_CODE_EXPIRED: (
        "Run `{device}` again and enter the new code before it expires (the time is shown next"
        " to the code)."
    ),
}


class SignInStep(enum.Enum):
    """The steps both flows share once the provider has answered; each flow words a failure in
    one of them with its own failure phase (:meth:`for_browser`, :meth:`for_device`)."""

    EXCHANGE_TOKEN = "exchange_token"
    VALIDATE = "validate"
    PERSIST_CREDENTIALS = "persist_credentials"

    def for_browser(self) -> LoginFailurePhase:
        return {
            SignInStep.EXCHANGE_TOKEN: LoginFailurePhase.EXCHANGE_TOKEN,
            SignInStep.VALIDATE: LoginFailurePhase.VALIDATE_CALLBACK,
            SignInStep.PERSIST_CREDENTIALS: LoginFailurePhase.PERSIST_CREDENTIALS,
        }[self]

    def for_device(self) -> DeviceFailurePhase:
        return {
            SignInStep.EXCHANGE_TOKEN: DeviceFailurePhase.EXCHANGE_TOKEN,
            SignInStep.VALIDATE: DeviceFailurePhase.VALIDATE,
            SignInStep.PERSIST_CREDENTIALS: DeviceFailurePhase.PERSIST_CREDENTIALS,
        }[self]


#: Where a failure happened: in the browser flow or in the device flow.
FailurePhase = LoginFailurePhase | DeviceFailurePhase
#: Every failure category, of either flow.
AnyCategory = LoginFailureCategory | DeviceFailureCategory
