"""The exception hierarchy: one root, and leaves that say what happened.

What a failure *is* (its category) is a property of the error, never a string match: a
:class:`LoginError` carries the :class:`~loginkit.core._phases.LoginPhase.Failed` event that reported
it, when one was emitted, so a UI can tell whether the person has already seen it.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from loginkit.core._phases import Failed


class ErrorKind(enum.Enum):
    """Coarse outcome kinds, mirroring the seed's ``io::ErrorKind`` values."""

    INTERRUPTED = "interrupted"
    OTHER = "other"
    PERMISSION_DENIED = "permission_denied"
    INVALID_DATA = "invalid_data"
    ADDR_IN_USE = "addr_in_use"
    TIMED_OUT = "timed_out"
    NOT_FOUND = "not_found"


class LoginkitError(Exception):
    """Root of every error loginkit raises on purpose. Messages never contain a secret."""


class LoginError(LoginkitError):
    """A sign-in did not complete.

    ``failure`` is the ``Failed`` event this run emitted for this very error, or ``None`` when no
    event was emitted (a ``/cancel`` from a newer login, for example). UIs use it to avoid showing
    the same failure twice, and to still show a final error when it was never shown.
    """

    def __init__(
        self, message: str, *, kind: ErrorKind = ErrorKind.OTHER, failure: Failed | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.failure = failure

    def __str__(self) -> str:
        return self.message


class CredentialStoreError(LoginkitError):
    """Credentials could not be read, written or removed; the message says which and where."""


class CodexHomeError(LoginkitError):
    """``CODEX_HOME`` points somewhere unusable (missing, or not a directory)."""
