"""``logout``'s first step at a generic provider: RFC 7009 revocation of the stored tokens.

The refresh token first (it is the one that stays valid for days; RFC 7009 section 2.1 asks a
server to drop the access tokens of the same grant with it), then the access token. Only a
record of a generic profile (its id_token's client id is not Codex's) is revoked, and only at the
``revocation_endpoint`` its issuer's discovery document announces: the openai profile's logout
asks nothing of the network, as Codex's does. A failure is returned as a warning and never stops
the local delete.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from loginkit.core._exceptions import DiscoveryError, LoginkitError, TokenExchangeError
from loginkit.core._log import log_event
from loginkit.core._redact import sanitize_url_for_logging, scrub
from loginkit.store._origin import record_profile

if TYPE_CHECKING:
    from loginkit.core._limits import Timeouts
    from loginkit.store._authfile import AuthDotJson
    from loginkit.store._home import AuthCredentialsStoreMode

logger = logging.getLogger("loginkit.credentials")

_STAYS = "It was deleted here, but may stay valid at the provider until it expires."


def stored_records(home: Path, store: AuthCredentialsStoreMode | str | None) -> list[AuthDotJson]:
    """The sign-in records logout is about to delete: this process's memory, ``auth.json`` and
    the configured store (the keyring is read only when config.toml or ``store`` selects it).
    A store that cannot be read holds nothing to revoke here; its delete reports it."""
    from loginkit.store._authfile import EphemeralStore, FileStore

    def readers() -> list[object]:
        found: list[object] = [EphemeralStore(home), FileStore(home)]
        try:
            from loginkit.store._home import AuthCredentialsStoreMode
            from loginkit.store._select import store_for

            if store is None:
                from loginkit.store._config import load_config

                mode = load_config(home).store_mode
            else:
                mode = AuthCredentialsStoreMode(store)
            found.append(store_for(mode, home))
        except (LoginkitError, OSError, ValueError) as exc:
            log_event(logger, logging.INFO, "logout: store not read", error=type(exc).__name__)
        return found

    records: list[AuthDotJson] = []
    seen: set[str] = set()
    for reader in readers():
        try:
            auth = reader.load()  # type: ignore[attr-defined]
        except (LoginkitError, OSError, ValueError) as exc:
            log_event(logger, logging.INFO, "logout: store not read", error=type(exc).__name__)
            continue
        tokens = auth.tokens if auth is not None else None
        if tokens is not None and tokens.refresh_token not in seen:
            seen.add(tokens.refresh_token)
            records.append(auth)
    return records


def revoke_record(auth: AuthDotJson, timeouts: Timeouts | None = None) -> list[str]:
    """Revoke ``auth``'s refresh token, then its access token, where its provider announces a
    revocation endpoint. Returns one warning per failure (no secret in it); empty when every
    revocation succeeded or there was nothing to revoke (no tokens, the openai profile, no
    endpoint announced)."""
    from loginkit.oauth._provider import Provider

    tokens = auth.tokens
    if tokens is None:
        return []
    profile, issuer, client_id = record_profile(tokens.id_token, auth.provenance)
    if not profile.discover:
        return []
    secrets = [tokens.refresh_token, tokens.access_token, tokens.id_token]
    shown = sanitize_url_for_logging(issuer)
    warnings: list[str] = []
    with Provider(profile, issuer, timeouts) as provider:
        for token, hint, what in (
            (tokens.refresh_token, "refresh_token", "refresh token"),
            (tokens.access_token, "access_token", "access token"),
        ):
            if not token:
                continue
            try:
                outcome = provider.revoke(token, hint, client_id=client_id)
                if outcome == "no endpoint":
                    log_event(logger, logging.INFO, "logout: no revocation endpoint announced")
                    return []
                if outcome == "unsupported" and hint == "refresh_token":
                    # The long-lived one: its staying valid is what the person must know.
                    warnings.append(
                        f"The {what} could not be revoked at {shown}: it does not revoke"
                        f" refresh tokens. {_STAYS}"
                    )
                # An access token the provider cannot revoke expires on its own (and RFC 7009
                # asks it to drop those of a revoked refresh token's grant): not a failure.
            except DiscoveryError as exc:
                log_event(logger, logging.WARNING, "logout: discovery failed", error=exc.reason)
                return [
                    f"The tokens could not be revoked at {shown}: {scrub(exc.reason, secrets)}."
                    " They were deleted here, but may stay valid at the provider until they"
                    " expire."
                ]
            except TokenExchangeError as exc:
                log_event(logger, logging.WARNING, "logout: revocation failed", hint=hint)
                warnings.append(
                    f"The {what} could not be revoked at {shown}: {scrub(str(exc), secrets)}."
                    f" {_STAYS}"
                )
    return warnings
