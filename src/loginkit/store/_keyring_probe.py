"""Whether the OS keyring could take credentials now, asked without reading or writing any.

For ``loginkit doctor``. The backend is chosen exactly as :mod:`loginkit.store._keyring` chooses
it (a ``fail`` or low-priority backend counts as none). For the Secret Service (Linux), the
collection the keyring package would use is asked whether it is locked, and nothing else: no item
is searched or read, and nothing is unlocked (unlocking opens a password prompt).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from loginkit.core._exceptions import KeyringUnavailableError
from loginkit.store._keyring import _backend, _why


@dataclass(frozen=True)
class KeyringProbe:
    """``usable``: a credential could be stored now. ``locked``: the keyring exists but is
    locked (a sign-in would fail to save there; ``auto`` falls back to ``auth.json``).
    ``detail``: the backend's name, or why it cannot be used; never a secret."""

    usable: bool
    locked: bool
    detail: str


def _name(backend: Any) -> str:
    return type(backend).__module__ + "." + type(backend).__name__


def _secret_service_locked(backend: Any) -> bool:
    """Whether the collection ``backend`` stores in is locked (True also when there is no such
    collection yet and one cannot be created without a prompt)."""
    import secretstorage
    from secretstorage.exceptions import ItemNotFoundException

    bus = secretstorage.dbus_init()
    try:
        path = getattr(backend, "preferred_collection", None)
        try:
            collection = (
                secretstorage.Collection(bus, path) if path else secretstorage.Collection(bus)
            )
            return bool(collection.is_locked())
        except ItemNotFoundException:
            return True
    finally:
        bus.close()


def probe_keyring() -> KeyringProbe:
    """Look at the keyring without touching any entry; see :class:`KeyringProbe`.

    The caller's likely mistake is to call ``get_password`` to "test" a keyring: on a locked
    Secret Service that opens an unlock prompt, and it reads a secret. This does neither.
    """
    try:
        backend = _backend()
    except KeyringUnavailableError as exc:
        return KeyringProbe(usable=False, locked=False, detail=str(exc))
    name = _name(backend)
    if name != "keyring.backends.SecretService.Keyring":
        return KeyringProbe(usable=True, locked=False, detail=name)
    try:
        locked = _secret_service_locked(backend)
    except Exception as exc:  # D-Bus and Secret Service errors of every kind
        return KeyringProbe(usable=False, locked=False, detail=f"{name}: {_why(exc)}")
    if locked:
        return KeyringProbe(usable=False, locked=True, detail=name)
    return KeyringProbe(usable=True, locked=False, detail=name)
