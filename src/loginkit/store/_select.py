"""Which credential store a mode means, and what every store offers."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from loginkit.store._authfile import AuthDotJson, EphemeralStore, FileStore
from loginkit.store._home import AuthCredentialsStoreMode
from loginkit.store._keyring import AutoStore, KeyringStore


class CredentialStore(Protocol):
    """What every store offers. ``delete`` returns whether anything was there."""

    mode: AuthCredentialsStoreMode

    def describe(self) -> str: ...
    def load(self) -> AuthDotJson | None: ...
    def save(self, auth: AuthDotJson) -> None: ...
    def delete(self) -> bool: ...


def store_for(mode: AuthCredentialsStoreMode, codex_home: Path) -> CredentialStore:
    """The store for ``mode``; the keyring ones import the ``keyring`` package on first use."""
    if mode is AuthCredentialsStoreMode.EPHEMERAL:
        return EphemeralStore(codex_home)
    if mode is AuthCredentialsStoreMode.KEYRING:
        return KeyringStore(codex_home)
    if mode is AuthCredentialsStoreMode.AUTO:
        return AutoStore(codex_home)
    return FileStore(codex_home)
