"""The one finishing step of every sign-in (browser, pasted callback, device code).

After the provider has answered, both flows do the same things in the same order: exchange the
code (or take the tokens the device grant returned), verify the id_token once, check the
workspace against the *verified* claims, fetch the API key where the profile does, and save the
record under the lock. Every failure is one :class:`SignInStepError`, its message scrubbed of
the run's secrets once, here; each flow words it with its own failure phase.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from loginkit.core._categories import LoginFailureCategory, SignInStep
from loginkit.core._exceptions import (
    ErrorKind,
    IdTokenRejected,
    JwtFormatError,
    ResponseMalformedError,
    SignInStepError,
    TokenExchangeError,
)
from loginkit.core._log import log_event
from loginkit.core._phases import PersistingCredentials, ProgressSink
from loginkit.core._profiles import OPENAI_ISSUER, Profile
from loginkit.core._redact import sanitize_url_for_logging, scrub

if TYPE_CHECKING:
    from loginkit.oauth._provider import Provider
    from loginkit.oauth._token import ExchangedTokens
    from loginkit.store._authfile import AuthDotJson
    from loginkit.store._home import AuthCredentialsStoreMode
    from loginkit.store._provenance import Provenance

logger = logging.getLogger("loginkit.server")


@dataclass(frozen=True)
class Destination:
    """Where and how a finished sign-in is kept, and for whom it must be."""

    codex_home: Path
    store_mode: AuthCredentialsStoreMode
    client_id: str
    #: Accept only an account of this ChatGPT workspace (None: any).
    workspace_id: str | None = None
    #: Codex's id_token -> API key exchange (the browser flow of the openai profile).
    fetch_api_key: bool = False
    #: Replace a stored sign-in of another issuer or client id (never done silently).
    replace_other: bool = False
    #: May the tokens come without an id_token? Only the RFC 8628 device grant of a generic
    #: profile; every other flow must have one. An id_token that is present is always verified.
    id_token_optional: bool = False


@dataclass(frozen=True, repr=False)
class Finished:
    """A saved sign-in: the verified id_token claims, for whatever the run shows next."""

    claims: Mapping[str, Any]

    def __repr__(self) -> str:
        return "Finished(<claims redacted>)"


def _exchange_step_error(exc: TokenExchangeError, secrets: Sequence[str]) -> SignInStepError:
    """The exchange step's error for a failed request to the provider, logged and scrubbed once."""
    log_event(
        logger, logging.ERROR, "login callback token exchange failed", category=exc.category.value
    )
    return SignInStepError(SignInStep.EXCHANGE_TOKEN, exc.category, scrub(str(exc), list(secrets)))


def exchange_code(
    provider: Provider,
    *,
    client_id: str,
    code: str,
    code_verifier: str,
    redirect_uri: str,
    secrets: Sequence[str],
) -> ExchangedTokens:
    """The authorization-code grant; a failure is a :class:`SignInStepError` (exchange step)."""
    try:
        return provider.exchange_code(
            client_id=client_id, code=code, code_verifier=code_verifier, redirect_uri=redirect_uri
        )
    except TokenExchangeError as exc:
        raise _exchange_step_error(exc, secrets) from None


def _always() -> bool:
    return True


def finish_sign_in(
    tokens: ExchangedTokens,
    provider: Provider,
    destination: Destination,
    *,
    emit: ProgressSink,
    secrets: Sequence[str],
    wanted: Callable[[], bool] = _always,
    claim_save: Callable[[], bool] = _always,
    nonce: str | None = None,
) -> Finished:
    """Verify, check, fetch the API key (if asked), save. Raises :class:`SignInStepError`.

    Nothing is saved unless every check passed: a failure here leaves the previous credentials
    exactly as they were. A run that can be cancelled passes ``wanted`` (is the sign-in still
    wanted? asked before each request) and ``claim_save`` (the right to write, claimed once under
    the credentials lock right before the write): once the run was cancelled nothing more is
    requested and nothing is written (``login_cancelled``). A run that sent a ``nonce`` in its
    authorize URL passes it: the id_token must carry it (a browser run of a generic profile).
    """
    secret_list = [*secrets, tokens.id_token, tokens.access_token, tokens.refresh_token]
    if nonce is not None:
        secret_list.append(nonce)
    _still_wanted(wanted)
    who: dict[str, str] | None = None
    if not tokens.id_token and destination.id_token_optional:
        from loginkit.signin._rfc8628 import identity_without_id_token

        claims = identity_without_id_token(provider, tokens.access_token)
        who = _userinfo_identity(claims)
    else:
        claims = _verified_claims(tokens, provider, destination.client_id, secret_list, nonce)
    violation = workspace_violation(destination.workspace_id, claims)
    if violation is not None:
        log_event(logger, logging.WARNING, "workspace restriction blocked login", message=violation)
        raise SignInStepError(
            SignInStep.VALIDATE,
            LoginFailureCategory.WORKSPACE_RESTRICTION,
            violation,
            ErrorKind.PERMISSION_DENIED,
        )
    api_key = None
    if destination.fetch_api_key:
        _still_wanted(wanted)
        api_key = _api_key(provider, destination.client_id, tokens.id_token)
    emit(PersistingCredentials())
    log_event(logger, logging.INFO, "persisting login credentials")
    try:
        persist_tokens(
            destination.codex_home,
            destination.store_mode,
            tokens,
            api_key=api_key,
            account_id=_auth_claims(claims).get("chatgpt_account_id"),
            claim=lambda: _still_wanted(claim_save),
            provenance=provenance_of(tokens, provider, destination.client_id),
            replace_other=destination.replace_other,
            # Codex's own records keep Codex's exact layout (its id_token says whose they are).
            keep_provenance=provider.profile.name != "openai",
            identity=who,
        )
    except SignInStepError:
        raise
    except Exception as exc:
        message = scrub(str(exc), secret_list)
        log_event(logger, logging.ERROR, "failed to persist login credentials", err=message)
        raise SignInStepError(
            SignInStep.PERSIST_CREDENTIALS, LoginFailureCategory.PERSIST_FAILED, message
        ) from None
    log_event(logger, logging.INFO, "login credentials persisted")
    return Finished(claims)


def _userinfo_identity(claims: Mapping[str, Any]) -> dict[str, str]:
    """Who signed in, as far as userinfo said (``sub``/``email``; nothing when it could not
    tell), for a record without an id_token. Not verified claims: shown, never trusted."""
    return {k: claims[k] for k in ("sub", "email") if isinstance(claims.get(k), str)}


def _still_wanted(ask: Callable[[], bool]) -> bool:
    """True, or the cancelled step error when the run no longer wants this sign-in."""
    if not ask():
        log_event(logger, logging.INFO, "sign-in abandoned: the run was cancelled")
        raise SignInStepError(
            SignInStep.PERSIST_CREDENTIALS,
            LoginFailureCategory.LOGIN_CANCELLED,
            "the sign-in was cancelled before its credentials were saved",
            ErrorKind.INTERRUPTED,
        )
    return True


def _verified_claims(
    tokens: ExchangedTokens,
    provider: Provider,
    client_id: str,
    secrets: list[str],
    nonce: str | None = None,
) -> dict[str, Any]:
    from loginkit.oauth._idtoken import decode_jwt_payload
    from loginkit.oauth._idverify import verify_id_token

    try:
        try:
            decode_jwt_payload(tokens.id_token)
        except JwtFormatError as exc:
            raise ResponseMalformedError(
                endpoint=sanitize_url_for_logging(provider.token_endpoint()),
                reason=f"id_token is not a valid JWT ({exc})",
            ) from None
        keys = provider.signing_keys()
        return verify_id_token(
            tokens.id_token,
            jwks=keys,
            issuer=provider.expected_issuer(),
            client_id=client_id,
            nonce=nonce,
        )
    except IdTokenRejected as exc:
        log_event(logger, logging.ERROR, "id_token verification failed", reason=exc.reason)
        raise SignInStepError(
            SignInStep.VALIDATE,
            LoginFailureCategory.ID_TOKEN_INVALID,
            scrub(str(exc), secrets),
            ErrorKind.INVALID_DATA,
        ) from None
    except TokenExchangeError as exc:
        raise _exchange_step_error(exc, secrets) from None


def _api_key(provider: Provider, client_id: str, id_token: str) -> str | None:
    try:
        return provider.api_key(client_id=client_id, id_token=id_token)
    except TokenExchangeError as exc:
        log_event(
            logger,
            logging.WARNING,
            "api key exchange failed; continuing without an API key",
            category=exc.category.value,
        )
        return None


def _auth_claims(claims: Mapping[str, Any]) -> Mapping[str, Any]:
    from loginkit.oauth._idtoken import AUTH_CLAIM

    auth = claims.get(AUTH_CLAIM)
    return auth if isinstance(auth, dict) else {}


def workspace_violation(expected: str | None, claims: Mapping[str, Any]) -> str | None:
    """The restriction message when the verified ``claims`` are not for workspace ``expected``,
    else None."""
    if expected is None:
        return None
    account = _auth_claims(claims).get("chatgpt_account_id")
    if not isinstance(account, str):
        return (
            "Login is restricted to a specific workspace, but the token did not include an"
            " chatgpt_account_id claim."
        )
    if account != expected:
        return f"Login is restricted to workspace id {expected}."
    return None


def persist_tokens(
    codex_home: Path,
    mode: AuthCredentialsStoreMode,
    tokens: ExchangedTokens,
    *,
    api_key: str | None,
    account_id: object,
    claim: Callable[[], bool] = _always,
    provenance: Provenance | None = None,
    replace_other: bool = False,
    keep_provenance: bool = True,
    identity: Mapping[str, str] | None = None,
) -> None:
    """Save a completed sign-in. The whole record is replaced, never merged.

    ``claim`` is called under the credentials lock right before the write; it raises (or returns
    False) when the sign-in may no longer be saved, and then nothing is written. A stored sign-in
    of another issuer or client id is never replaced silently: unless ``replace_other``, that
    raises ``another_providers_record`` and the old record stays as it was. ``identity``: who
    signed in as far as userinfo said, for a record without an id_token (kept with the
    provenance, shown, never trusted for a decision)."""
    from loginkit.store._authfile import PROVENANCE_KEY, AuthDotJson, TokenData, utc_now_rfc3339
    from loginkit.store._locks import auth_lock
    from loginkit.store._select import store_for

    auth = AuthDotJson(
        # Codex's word for its own sign-ins; any other provider's record says what it is.
        auth_mode="oidc" if provenance and keep_provenance else "chatgpt",
        openai_api_key=api_key,
        tokens=TokenData(
            id_token=tokens.id_token,
            access_token=tokens.access_token,
            refresh_token=tokens.refresh_token,
            account_id=account_id if isinstance(account_id, str) else None,
        ),
        last_refresh=utc_now_rfc3339(),
        extra=(
            {
                PROVENANCE_KEY: {
                    **provenance.to_dict(),
                    **({"identity": dict(identity)} if identity else {}),
                }
            }
            if provenance and keep_provenance
            else {}
        ),
    )
    with auth_lock(codex_home):
        store = store_for(mode, codex_home)
        if provenance is not None and not replace_other:
            _refuse_another_providers_record(store.load(), provenance)
        if claim():
            store.save(auth)


def provenance_of(tokens: ExchangedTokens, provider: Provider, client_id: str) -> Provenance:
    """What the record keeps about its provider: issuer, client id, scope, the access token's
    true expiry (``expires_in`` from now) and lifetime."""
    import time

    from loginkit.store._provenance import Provenance, token_fingerprint

    expires_in = tokens.expires_in
    return Provenance(
        issuer=provider.expected_issuer(),
        client_id=client_id,
        scope=tokens.scope or provider.profile.scope,
        expires_at=None if expires_in is None else int(time.time()) + expires_in,
        lifetime=expires_in,
        fingerprint=None if expires_in is None else token_fingerprint(tokens.access_token),
    )


def _refuse_another_providers_record(stored: AuthDotJson | None, new: Provenance) -> None:
    from loginkit.core._sanitize import sanitize
    from loginkit.store._authfile import record_identity

    identity = record_identity(stored)
    if identity is None or new.issuer is None or new.client_id is None:
        return
    if identity == (new.issuer.rstrip("/"), new.client_id):
        return
    issuer, client = identity
    message = (
        f"this home holds the sign-in of {sanitize(issuer)} (client {sanitize(client)}), not of"
        f" {sanitize(new.issuer)} (client {sanitize(new.client_id)}); it was left as it was"
    )
    log_event(logger, logging.WARNING, "refused to replace another provider's sign-in")
    raise SignInStepError(
        SignInStep.PERSIST_CREDENTIALS,
        LoginFailureCategory.ANOTHER_PROVIDERS_RECORD,
        message,
        ErrorKind.PERMISSION_DENIED,
    )


#: A Location header longer than this is refused by common proxies and some browsers.
MAX_REDIRECT_LENGTH = 16 * 1024


def redirect_is_usable(location: str) -> bool:
    """Whether a success URL can be sent as a ``Location`` (short, no header-breaking bytes)."""
    return len(location) <= MAX_REDIRECT_LENGTH and not any(c in location for c in "\r\n\0 ")


def compose_success_url(
    port: int,
    issuer: str,
    profile: Profile,
    claims: Mapping[str, Any],
    id_token: str,
    access_token: str,
) -> str:
    """Where the browser goes after credentials are saved (spec 3.12), from the verified claims.

    The id_token is only included when the page needs it (the "finish setting up" redirect), so
    in the common case no token lands in the browser's history.
    """
    base = f"http://{profile.redirect_host}:{port}/success"
    if not profile.platform_url:
        return base
    from loginkit.oauth._idtoken import jwt_auth_claims

    auth = _auth_claims(claims)
    needs_setup = (
        auth.get("completed_platform_onboarding") is not True and auth.get("is_org_owner") is True
    )
    org_id = auth.get("organization_id")
    project_id = auth.get("project_id")
    # The access token may be opaque and is not ours to verify; the plan is only a page hint.
    plan = jwt_auth_claims(access_token).get("chatgpt_plan_type")
    platform_url = (
        profile.platform_url if issuer == OPENAI_ISSUER else "https://platform.api.openai.org"
    )
    params = [
        ("id_token", id_token if needs_setup else ""),
        ("needs_setup", "true" if needs_setup else "false"),
        ("org_id", org_id if isinstance(org_id, str) else ""),
        ("project_id", project_id if isinstance(project_id, str) else ""),
        ("plan_type", plan if isinstance(plan, str) else ""),
        ("platform_url", platform_url),
    ]
    return base + "?" + "&".join(f"{k}={quote(v, safe='')}" for k, v in params)


def error_page_words(exc: SignInStepError) -> tuple[str, str, str | None]:
    """(message, error code, description) of the browser's error page for a failed finish."""
    category = exc.category
    if category is LoginFailureCategory.ID_TOKEN_INVALID:
        return exc.message, "id_token_invalid", None
    if category is LoginFailureCategory.WORKSPACE_RESTRICTION:
        return exc.message, "workspace_restriction", None
    if category is LoginFailureCategory.PERSIST_FAILED:
        return (
            "Sign-in completed but credentials could not be saved locally.",
            "persist_failed",
            exc.message,
        )
    return f"Token exchange failed: {exc.message}", "token_exchange_failed", None
