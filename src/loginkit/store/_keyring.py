"""OS keyring stores: ``keyring`` mode and ``auto`` (keyring, falling back to auth.json).

The entry matches the Codex CLI's: service ``Codex Auth``, account ``cli|`` + the first 16 hex
characters of SHA-256 over the canonical home path, value the compact JSON of ``auth.json``. The
``keyring`` package loads lazily. A backend that cannot really store secrets (the ``fail`` backend,
or one with priority below 1, such as keyrings.alt's base64 "encrypted" file) counts as no keyring:
``auto`` must never silently turn into plain text behind a keyring's name.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from typing import Any

from loginkit.core._exceptions import CredentialStoreError, KeyringUnavailableError
from loginkit.core._log import log_event
from loginkit.store._authfile import AuthDotJson, FileStore
from loginkit.store._home import AuthCredentialsStoreMode

SERVICE = "Codex Auth"
logger = logging.getLogger("loginkit.storage")


def keyring_account(codex_home: Path) -> str:
    try:
        canonical = os.path.realpath(codex_home, strict=True)
    except OSError:
        canonical = str(codex_home)
    return "cli|" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def _backend() -> Any:
    """The keyring backend, or :class:`KeyringUnavailableError` when there is no real one."""
    try:
        import keyring
        from keyring.backends import fail
    except ImportError as exc:  # pragma: no cover - keyring is a dependency
        raise KeyringUnavailableError(f"the keyring package is not installed: {exc}") from None
    backend = keyring.get_keyring()
    if isinstance(backend, fail.Keyring) or getattr(backend, "priority", 0) < 1:
        name = type(backend).__module__ + "." + type(backend).__name__
        raise KeyringUnavailableError(f"no usable OS keyring (backend {name})")
    return backend


def _keyring_errors() -> tuple[type[BaseException], ...]:
    from keyring import errors

    return (errors.KeyringError, OSError)


def _why(exc: BaseException) -> str:
    """The backend's words, except for a locked keyring, whose Secret Service text ("Failed to
    create the collection: Prompt dismissed.") says nothing a person can act on."""
    from keyring.errors import KeyringLocked

    # Secret Service reports a locked default collection as an InitError raised while handling
    # secretstorage's PromptDismissedException (nobody there to type the password).
    dismissed = type(exc.__context__).__name__ == "PromptDismissedException"
    if isinstance(exc, KeyringLocked) or dismissed:
        return "the keyring is locked (unlock it, then try again)"
    return str(exc)


class KeyringStore:
    """Credentials in the OS keyring only; writing them removes a leftover ``auth.json``."""

    mode = AuthCredentialsStoreMode.KEYRING

    def __init__(self, codex_home: Path) -> None:
        self.codex_home = codex_home
        self.account = keyring_account(codex_home)
        self._file = FileStore(codex_home)

    def describe(self) -> str:
        return f"keyring (service {SERVICE!r}, account {self.account!r})"

    def load(self) -> AuthDotJson | None:
        backend = _backend()
        try:
            value = backend.get_password(SERVICE, self.account)
        except _keyring_errors() as exc:
            raise CredentialStoreError(
                f"failed to load CLI auth from keyring: {_why(exc)}"
            ) from None
        if value is None:
            return None
        try:
            return AuthDotJson.from_json(value)
        except CredentialStoreError as exc:
            raise CredentialStoreError(
                f"failed to deserialize CLI auth from keyring: {exc}"
            ) from None

    def save(self, auth: AuthDotJson) -> None:
        backend = _backend()
        try:
            backend.set_password(SERVICE, self.account, auth.to_compact_json())
        except _keyring_errors() as exc:
            raise CredentialStoreError(
                f"failed to write OAuth tokens to keyring: {_why(exc)}"
            ) from None
        try:
            self._file.delete()
        except CredentialStoreError as exc:
            log_event(
                logger,
                logging.WARNING,
                "failed to remove auth.json after keyring save",
                err=str(exc),
            )

    def delete_keyring_entry(self) -> bool:
        backend = _backend()
        from keyring.errors import PasswordDeleteError

        try:
            if backend.get_password(SERVICE, self.account) is None:
                return False
            backend.delete_password(SERVICE, self.account)
        except PasswordDeleteError:
            return False
        except _keyring_errors() as exc:
            raise CredentialStoreError(f"failed to delete auth from keyring: {_why(exc)}") from None
        return True

    def delete(self) -> bool:
        removed_entry = self.delete_keyring_entry()
        return self._file.delete() or removed_entry


class AutoStore:
    """The keyring when it works, else ``auth.json``; every fallback is logged and remembered.

    ``fallback_reason`` says why the file was used (shown by ``loginkit login status``).
    """

    mode = AuthCredentialsStoreMode.AUTO

    def __init__(self, codex_home: Path) -> None:
        self.codex_home = codex_home
        self._keyring = KeyringStore(codex_home)
        self._file = FileStore(codex_home)
        self.fallback_reason: str | None = None
        self.loaded_from: str | None = None

    def describe(self) -> str:
        if self.loaded_from == "file" or self.fallback_reason is not None:
            reason = f" ({self.fallback_reason})" if self.fallback_reason else ""
            return f"auto: file {self._file.path}{reason}"
        return f"auto: {self._keyring.describe()}"

    def _fall_back(self, what: str, exc: CredentialStoreError) -> None:
        self.fallback_reason = f"keyring unavailable: {exc}"
        log_event(
            logger,
            logging.WARNING,
            f"failed to {what} auth in keyring, falling back to file storage",
            err=str(exc),
        )

    def load(self) -> AuthDotJson | None:
        try:
            auth = self._keyring.load()
        except CredentialStoreError as exc:
            self._fall_back("load", exc)
            auth = None
        if auth is not None:
            self.loaded_from = "keyring"
            return auth
        auth = self._file.load()
        if auth is not None:
            self.loaded_from = "file"
        return auth

    def save(self, auth: AuthDotJson) -> None:
        try:
            self._keyring.save(auth)
            self.loaded_from = "keyring"
        except CredentialStoreError as exc:
            self._fall_back("save", exc)
            self._file.save(auth)
            self.loaded_from = "file"

    def delete(self) -> bool:
        """Removes both copies; an unusable keyring never keeps auth.json on disk (spec 16.11)."""
        removed = False
        try:
            removed = self._keyring.delete_keyring_entry()
        except CredentialStoreError as exc:
            self._fall_back("delete", exc)
        return self._file.delete() or removed
