"""Provider profiles: endpoints, client ids, scopes and the words a profile puts in front of people.

A profile is the one place where an app's name, its login commands and its help URL live. The
progress renderer, the browser pages and the CLI all take their words from here, so the ``openai``
profile can reproduce the Codex CLI's texts byte for byte while any other provider gets its own.
This module must stay import-light: the CLI reads it before the sign-in link is printed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from loginkit.core._codex import (
    AUTHORIZE_PATH,
    DEFAULT_ORIGINATOR,
    DEFAULT_PORT,
    DEVICE_LOGIN_COMMAND,
    EXTRA_AUTHORIZE_PARAMS,
    OPENAI_CLIENT_ID,
    OPENAI_ISSUER,
    REDIRECT_HOST,
    SCOPE,
)
from loginkit.core._generic import DEVICE_LOGIN_COMMAND as LOGINKIT_DEVICE_LOGIN_COMMAND
from loginkit.core._generic import GENERIC_REDIRECT_HOST, GENERIC_SCOPE, REDIRECT_PATH

__all__ = [
    "DEFAULT_ORIGINATOR",
    "DEFAULT_PORT",
    "OPENAI",
    "OPENAI_CLIENT_ID",
    "OPENAI_ISSUER",
    "Profile",
    "generic_profile",
    "profile_for",
]


@dataclass(frozen=True)
class Profile:
    """Everything that differs between identity providers and apps.

    Frozen on purpose: a profile is shared by every run in a process. Use :meth:`with_issuer` or
    :func:`dataclasses.replace` to derive a variant instead of mutating one.
    """

    name: str
    issuer: str
    client_id: str
    scope: str
    authorize_path: str = AUTHORIZE_PATH
    token_path: str = "/oauth/token"
    #: Where the provider publishes the keys that sign its id_tokens (auth.openai.com's path).
    jwks_path: str = "/.well-known/jwks.json"
    #: Extra authorize parameters, in order, inserted between ``code_challenge_method`` and
    #: ``state`` (that is where Codex puts its own).
    extra_authorize_params: tuple[tuple[str, str], ...] = ()
    #: When set, sent last as ``originator``.
    originator: str | None = None
    #: Whether to run the legacy id_token -> API key token exchange after sign-in (Codex only).
    exchange_api_key: bool = False
    #: Platform URLs for the success page's "finish setting up" redirect (Codex only).
    platform_url: str = ""
    #: Words shown to people.
    app_name: str = "loginkit"
    login_command: str = "loginkit login"
    device_login_command: str = LOGINKIT_DEVICE_LOGIN_COMMAND
    help_url: str = "https://github.com/loginkit/loginkit#troubleshooting"
    #: The loopback host of the redirect URI: ``localhost`` (the seed's), ``127.0.0.1`` or
    #: ``[::1]``. RFC 8252 section 8.3: providers may vary the port only for IP literals, so a
    #: generic profile uses ``127.0.0.1``.
    redirect_host: str = REDIRECT_HOST
    #: The path of the redirect URI, exactly as registered with the provider.
    redirect_path: str = REDIRECT_PATH
    #: Look the endpoints up in ``{issuer}/.well-known/openid-configuration`` before signing in.
    discover: bool = False
    #: Endpoints found by discovery (or configured); they win over ``issuer + path``.
    authorization_endpoint_url: str | None = None
    token_endpoint_url: str | None = None
    jwks_uri_url: str | None = None
    #: The ``issuer`` that discovery announced; id_tokens must carry it as ``iss``.
    issuer_identifier: str | None = None

    def _url(self, known: str | None, issuer: str | None, path: str = "") -> str:
        """``known`` (configured or discovered) wins; else ``issuer`` (default: the profile's)
        plus ``path``, used verbatim, no trimming."""
        if known:
            return known
        return f"{issuer if issuer is not None else self.issuer}{path}"

    def authorize_endpoint(self, issuer: str | None = None) -> str:
        """The authorize URL for ``issuer`` (default: the profile's)."""
        return self._url(self.authorization_endpoint_url, issuer, self.authorize_path)

    def token_endpoint(self, issuer: str | None = None) -> str:
        """The token URL for ``issuer``; the code exchange, API-key exchange and refresh all use it."""
        return self._url(self.token_endpoint_url, issuer, self.token_path)

    def jwks_endpoint(self, issuer: str | None = None) -> str:
        """The JSON Web Key Set that verifies this provider's id_tokens."""
        return self._url(self.jwks_uri_url, issuer, self.jwks_path)

    def expected_issuer(self, issuer: str | None = None) -> str:
        """The ``iss`` an id_token from ``issuer`` must carry."""
        return self._url(self.issuer_identifier, issuer)

    def with_issuer(self, issuer: str) -> Profile:
        return replace(self, issuer=issuer)


OPENAI = Profile(
    name="openai",
    issuer=OPENAI_ISSUER,
    client_id=OPENAI_CLIENT_ID,
    scope=SCOPE,
    extra_authorize_params=EXTRA_AUTHORIZE_PARAMS,
    originator=DEFAULT_ORIGINATOR,
    exchange_api_key=True,
    platform_url="https://platform.openai.com",
    app_name="Codex",
    login_command="codex login",
    device_login_command=DEVICE_LOGIN_COMMAND,
    help_url="https://developers.openai.com/codex/auth",
)


#: The redirect hosts a loopback redirect URI may name (RFC 8252 section 7.3).
REDIRECT_HOSTS = ("127.0.0.1", "localhost", "[::1]")


def redirect_problem(host: str, path: str) -> str | None:
    """Why ``host``/``path`` cannot make a loopback redirect URI, or None when they can."""
    if host not in REDIRECT_HOSTS:
        return f"the redirect host must be one of {', '.join(REDIRECT_HOSTS)}, not {host!r}"
    usable = (
        path.startswith("/")
        and all(ch.isalnum() or ch in "/-._~" for ch in path)
        and "//" not in path
        and "/../" not in path + "/"
    )
    if not usable:
        return (
            f"the redirect path must be a plain absolute path such as /auth/callback, not {path!r}"
        )
    return None


def generic_profile(issuer: str, client_id: str) -> Profile:
    """A plain OpenID Connect profile: standard scopes, no Codex-specific parameters or words."""
    return Profile(
        name="generic",
        issuer=issuer,
        client_id=client_id,
        scope=GENERIC_SCOPE,
        discover=True,
        redirect_host=GENERIC_REDIRECT_HOST,
    )


def profile_for(issuer: str | None, client_id: str | None) -> Profile:
    """Pick the profile a sign-in should use.

    Codex's own client id keeps the ``openai`` profile (and its texts) even against another issuer,
    so a test provider configured like auth.openai.com behaves exactly like the real thing. Any
    other client id is a generic OpenID Connect client.
    """
    if client_id is None or client_id == OPENAI_CLIENT_ID:
        return OPENAI if issuer is None else OPENAI.with_issuer(issuer)
    return generic_profile(issuer or OPENAI_ISSUER, client_id)
