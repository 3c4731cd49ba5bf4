"""The credentials lifecycle for programs: load, status, API-key login, logout, valid tokens.

Every function takes an optional ``codex_home`` (default: ``$CODEX_HOME`` or ``~/.codex``) and an
optional ``store`` (default: ``cli_auth_credentials_store`` in ``config.toml``, else ``file``).
Writes and refreshes happen under the lock next to ``auth.json``, so any number of processes can
call :func:`get_access_token` at once and the server sees one refresh.
"""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from loginkit.core._exceptions import CredentialStoreError, NotLoggedInError, RefreshError
from loginkit.core._limits import Timeouts
from loginkit.core._log import log_event
from loginkit.core._profiles import OPENAI_CLIENT_ID
from loginkit.store._authfile import (
    PROVENANCE_KEY,
    AuthDotJson,
    EphemeralStore,
    FileStore,
    TokenData,
    record_identity,
    utc_now_rfc3339,
)
from loginkit.store._critical import deferred_interrupts
from loginkit.store._home import AuthCredentialsStoreMode, check_home, find_codex_home
from loginkit.store._locks import auth_lock
from loginkit.store._provenance import token_fingerprint
from loginkit.store._refresh import (
    DEFAULT_MIN_VALIDITY,
    forget_failure,
    needs_refresh,
    remember_failure,
    remembered_failure,
    request_refresh,
    token_expiry,
)
from loginkit.store._select import CredentialStore, store_for

logger = logging.getLogger("loginkit.credentials")

StoreArg = AuthCredentialsStoreMode | str | None


def resolve(
    codex_home: Path | str | None = None, store: StoreArg = None
) -> tuple[Path, CredentialStore]:
    """The home directory and the store a call should use (config.toml decides by default)."""
    home = Path(codex_home) if codex_home is not None else find_codex_home()
    check_home(home)
    if store is None:
        from loginkit.store._config import load_config

        mode = load_config(home).store_mode
    else:
        mode = AuthCredentialsStoreMode(store) if isinstance(store, str) else store
    return home, store_for(mode, home)


def mask_api_key(key: str) -> str:
    """Codex's masking: ``sk-proj-1234567890ABCDE`` -> ``sk-proj-***ABCDE``; short keys: ``***``."""
    if len(key) <= 13:
        return "***"
    return f"{key[:8]}***{key[-5:]}"


def load_auth(codex_home: Path | str | None = None, store: StoreArg = None) -> AuthDotJson | None:
    """The stored credentials, or ``None``. Raises :class:`CredentialStoreError` if unreadable."""
    _, credential_store = resolve(codex_home, store)
    return credential_store.load()


def login_with_api_key(
    api_key: str, codex_home: Path | str | None = None, store: StoreArg = None
) -> None:
    """Store an API key (not validated, like Codex). Replaces any earlier credentials."""
    key = api_key.strip()
    if not key:
        raise CredentialStoreError("No API key provided via stdin.")
    home, credential_store = resolve(codex_home, store)
    with auth_lock(home):
        credential_store.save(AuthDotJson(auth_mode="apikey", openai_api_key=key))
        forget_failure(home)
    log_event(logger, logging.INFO, "api key saved", store=credential_store.mode.value)


@dataclass
class LogoutResult:
    """``removed``: whether credentials existed anywhere. ``warnings``: stores that could not be
    checked (for example an unreachable keyring), which the CLI shows without failing."""

    removed: bool
    warnings: list[str] = field(default_factory=list)
    #: Revocations that failed at the provider (RFC 7009), one sentence each, no secret: the
    #: tokens were deleted here but may stay valid there. The CLI exits 2 when there are any.
    revocation_failures: list[str] = field(default_factory=list)


def logout(
    codex_home: Path | str | None = None,
    store: StoreArg = None,
    *,
    revoke: bool = True,
    timeouts: Timeouts | None = None,
) -> LogoutResult:
    """Remove credentials from *every* store: file, keyring and this process's memory.

    An unavailable keyring never leaves ``auth.json`` behind (the Codex CLI's logout aborted
    there); it becomes a warning. Every store is cleared; ``store`` only says which one to read
    the tokens to revoke from (default: config.toml's, plus the file and this process's memory).

    Before deleting, a generic provider's tokens are revoked (RFC 7009: the refresh token, then
    the access token) at the ``revocation_endpoint`` its discovery document announces, within
    ``timeouts``; a failure is in :attr:`LogoutResult.revocation_failures` and the local delete
    happens anyway. The openai profile's records are never sent anywhere. ``revoke=False``
    skips the network (a caller's likely mistake: using it to make logout "faster" leaves the
    refresh token valid at the provider).
    """
    home = Path(codex_home) if codex_home is not None else find_codex_home()
    check_home(home)
    result = LogoutResult(removed=False)
    # A home that does not exist holds no file and gets no lock file; the keyring and this
    # process's memory are still cleared.
    with auth_lock(home) if home.is_dir() else contextlib.nullcontext():
        if revoke:
            # Under the lock: what is revoked is exactly what is deleted (no refresh between).
            from loginkit.store._revoke import revoke_record, stored_records

            for record in stored_records(home, store):
                result.revocation_failures += revoke_record(record, timeouts)
        result.removed |= EphemeralStore(home).delete()
        try:
            result.removed |= FileStore(home).delete()
        except CredentialStoreError as exc:
            result.warnings.append(str(exc))
        try:
            from loginkit.core._exceptions import KeyringUnavailableError
            from loginkit.store._keyring import KeyringStore

            result.removed |= KeyringStore(home).delete_keyring_entry()
        except KeyringUnavailableError:
            pass  # nothing can have been stored in a keyring that does not exist
        except CredentialStoreError as exc:
            result.warnings.append(str(exc))
        forget_failure(home)
    log_event(
        logger,
        logging.INFO,
        "logged out",
        removed=result.removed,
        warnings=len(result.warnings),
        revocation_failures=len(result.revocation_failures),
    )
    if not result.removed and result.warnings:
        raise CredentialStoreError("; ".join(result.warnings))
    return result


@dataclass(frozen=True)
class LoginStatus:
    """What ``loginkit login status`` shows. No field holds a secret."""

    mode: str | None  # "apikey" | "chatgpt" | "oidc" | None (not logged in)
    store: str
    masked_api_key: str | None = None
    email: str | None = None
    account_id: str | None = None
    plan: str | None = None
    access_token_expires_at: int | None = None
    last_refresh: str | None = None
    #: The provider of a sign-in that is not Codex's (None for Codex's own sign-ins).
    issuer: str | None = None
    #: The id_token's ``sub``, for a provider whose id_token names no email.
    subject: str | None = None
    #: The provider rejected the refresh token for good: a new sign-in is needed.
    signed_out: bool = False

    @property
    def logged_in(self) -> bool:
        return self.mode is not None and not self.signed_out


def login_status(codex_home: Path | str | None = None, store: StoreArg = None) -> LoginStatus:
    """Who is signed in, with which provider, where, and until when (no secret). ``mode`` is
    ``apikey``, ``chatgpt`` (Codex's sign-in) or ``oidc`` (any other provider's); ``signed_out``
    says the provider rejected the refresh token for good (``logged_in`` is then False)."""
    home, credential_store = resolve(codex_home, store)
    auth = credential_store.load()
    where = credential_store.describe()
    if auth is None:
        return LoginStatus(mode=None, store=where)
    if auth.resolved_mode == "apikey":
        return LoginStatus(
            mode="apikey", store=where, masked_api_key=mask_api_key(auth.openai_api_key or "")
        )
    tokens = auth.tokens
    if tokens is None:
        raise CredentialStoreError("Token data is not available.")
    from loginkit.core._exceptions import JwtFormatError
    from loginkit.oauth._idtoken import parse_id_token

    try:
        info = parse_id_token(tokens.id_token)
    except JwtFormatError:
        info = None
    known = auth.provenance
    expiry = None if known is None else known.expiry_for(tokens.access_token)
    identity = record_identity(auth)
    generic = identity is not None and identity[1] != OPENAI_CLIENT_ID
    # A record without an id_token (RFC 8628 device sign-in) names who as userinfo said.
    said = known if known is not None and not tokens.id_token else None
    return LoginStatus(
        mode="chatgpt" if not generic else "oidc",
        store=where,
        email=info.email if info else (said.said("email") if said else None),
        account_id=tokens.account_id or (info.account_id if info else None),
        plan=info.plan_type if info else None,
        access_token_expires_at=token_expiry(tokens.access_token)
        or (expiry[0] if expiry else None),
        last_refresh=auth.last_refresh,
        issuer=identity[0] if generic and identity else None,
        subject=info.subject if info else (said.said("sub") if said else None),
        signed_out=remembered_failure(home, tokens.refresh_token) is not None,
    )


def get_access_token(
    codex_home: Path | str | None = None,
    store: StoreArg = None,
    *,
    min_validity: float = DEFAULT_MIN_VALIDITY,
    timeouts: Timeouts | None = None,
) -> str:
    """A usable bearer credential: the access token, refreshed first if it expires within
    ``min_validity`` seconds; for API-key sign-ins, the key.

    Raises :class:`NotLoggedInError`, :class:`CredentialStoreError` or
    :class:`~loginkit.store._refresh.RefreshError` (``permanent`` means a new sign-in is needed).
    """
    home, credential_store = resolve(codex_home, store)
    auth = credential_store.load()
    token = _usable(auth, min_validity)
    if token is not None:
        return token
    with auth_lock(home):
        # Another process may have refreshed while we waited: decide again on fresh data.
        auth = credential_store.load()
        token = _usable(auth, min_validity)
        if token is not None:
            return token
        if auth is None or auth.tokens is None:  # an API-key record with no key in it
            raise CredentialStoreError("Token data is not available.")
        refreshed = _refresh_locked(
            home, credential_store, auth, auth.tokens, timeouts or Timeouts()
        )
        return refreshed.access_token


async def aget_access_token(
    codex_home: Path | str | None = None,
    store: StoreArg = None,
    *,
    min_validity: float = DEFAULT_MIN_VALIDITY,
    timeouts: Timeouts | None = None,
) -> str:
    """:func:`get_access_token` for asyncio callers (the lock wait and HTTP run off the loop)."""
    import asyncio

    return await asyncio.to_thread(
        get_access_token, codex_home, store, min_validity=min_validity, timeouts=timeouts
    )


def _usable(auth: AuthDotJson | None, min_validity: float) -> str | None:
    if auth is None:
        raise NotLoggedInError("Not logged in")
    if auth.resolved_mode == "apikey":
        return auth.openai_api_key
    if auth.tokens is None:
        raise CredentialStoreError("Token data is not available.")
    known = auth.provenance
    stale = needs_refresh(
        auth.tokens.access_token,
        auth.last_refresh,
        now=time.time(),
        min_validity=min_validity,
        expiry=None if known is None else known.expiry_for(auth.tokens.access_token),
    )
    return None if stale else auth.tokens.access_token


def _with_new_expiry(
    auth: AuthDotJson, access_token: str, expires_in: str | None
) -> dict[str, object]:
    """The record's extra fields with its provenance's expiry for the new access token (kept
    when the server said nothing, dropped: a stale expiry is never trusted, see Provenance)."""
    import dataclasses

    extra = dict(auth.extra)
    known = auth.provenance
    if known is None:
        return extra
    lifetime = int(expires_in) if expires_in is not None else None
    renewed = dataclasses.replace(
        known,
        expires_at=None if lifetime is None else int(time.time()) + lifetime,
        lifetime=lifetime,
        fingerprint=None if lifetime is None else token_fingerprint(access_token),
    )
    extra[PROVENANCE_KEY] = renewed.to_dict()
    return extra


def _refresh_locked(
    home: Path,
    credential_store: CredentialStore,
    auth: AuthDotJson,
    tokens: TokenData,
    timeouts: Timeouts,
) -> TokenData:
    known = remembered_failure(home, tokens.refresh_token)
    if known is not None:
        raise known
    # A rotated refresh token must never be lost: room for the new record is reserved before the
    # request (no room: nothing is sent and the stored token stays valid), and Ctrl-C from the
    # answer to the save waits for the save; one during the request waits a few seconds for the
    # answer, then stops (see Reservation and deferred_interrupts).
    reservation = credential_store.reserve() if isinstance(credential_store, FileStore) else None
    try:
        with deferred_interrupts() as section:
            try:
                fresh = request_refresh(
                    tokens.refresh_token,
                    tokens.id_token,
                    timeouts=timeouts,
                    provenance=auth.provenance,
                )
            except RefreshError as exc:
                if exc.permanent:
                    remember_failure(home, tokens.refresh_token, exc)
                raise
            section.answered()
            updated = TokenData(
                id_token=fresh.get("id_token", tokens.id_token),
                access_token=fresh.get("access_token", tokens.access_token),
                refresh_token=fresh.get("refresh_token", tokens.refresh_token),
                account_id=tokens.account_id,
            )
            record = AuthDotJson(
                auth_mode=auth.auth_mode,
                openai_api_key=auth.openai_api_key,
                tokens=updated,
                last_refresh=utc_now_rfc3339(),
                extra=_with_new_expiry(auth, updated.access_token, fresh.get("expires_in")),
            )
            if reservation is not None and isinstance(credential_store, FileStore):
                credential_store.save(record, reservation)
            else:
                credential_store.save(record)
    finally:
        if reservation is not None:
            reservation.discard()
    return updated


async def alogin_status(
    codex_home: Path | str | None = None, store: StoreArg = None
) -> LoginStatus:
    """:func:`login_status` off the event loop (a keyring read can take a few hundred ms)."""
    import asyncio

    return await asyncio.to_thread(login_status, codex_home, store)


async def alogin_with_api_key(
    api_key: str, codex_home: Path | str | None = None, store: StoreArg = None
) -> None:
    import asyncio

    await asyncio.to_thread(login_with_api_key, api_key, codex_home, store)


async def alogout(codex_home: Path | str | None = None, store: StoreArg = None) -> LogoutResult:
    import asyncio

    return await asyncio.to_thread(logout, codex_home, store)


def refresh_rejected_access_token(
    rejected: str,
    codex_home: Path | str | None = None,
    store: StoreArg = None,
    *,
    min_validity: float = DEFAULT_MIN_VALIDITY,
    timeouts: Timeouts | None = None,
) -> str | None:
    """The credential to retry with after a resource server answered 401 to ``rejected``, or
    ``None`` when there is nothing new to try (an API key that is still the one rejected).

    Under the credentials lock it re-reads the store: if another process (or thread) already
    replaced the rejected access token, the stored one is returned (refreshed first only if it is
    itself about to expire); only when the stored token is *still* the rejected one is the refresh
    token spent. So a burst of 401s makes one refresh, and a rotated refresh token is never
    reused. The caller's likely mistake is retrying more than once: one 401, one call, one retry.

    Raises like :func:`get_access_token`; a :class:`RefreshError` with ``permanent`` set means the
    refresh token was rejected for good and the person must sign in again (the message says so).
    """
    home, credential_store = resolve(codex_home, store)
    with auth_lock(home):
        auth = credential_store.load()
        if auth is None:
            raise NotLoggedInError("Not logged in")
        if auth.resolved_mode == "apikey":
            key = auth.openai_api_key
            return key if key and key != rejected else None
        tokens = auth.tokens
        if tokens is None:
            raise CredentialStoreError("Token data is not available.")
        if tokens.access_token != rejected:
            current = _usable(auth, min_validity)
            if current is not None:
                return current
        refreshed = _refresh_locked(home, credential_store, auth, tokens, timeouts or Timeouts())
        return refreshed.access_token


async def arefresh_rejected_access_token(
    rejected: str,
    codex_home: Path | str | None = None,
    store: StoreArg = None,
    *,
    min_validity: float = DEFAULT_MIN_VALIDITY,
    timeouts: Timeouts | None = None,
) -> str | None:
    """:func:`refresh_rejected_access_token` for asyncio callers (lock and HTTP off the loop)."""
    import asyncio

    return await asyncio.to_thread(
        refresh_rejected_access_token,
        rejected,
        codex_home,
        store,
        min_validity=min_validity,
        timeouts=timeouts,
    )
