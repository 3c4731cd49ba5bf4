"""Credential storage: the Codex ``auth.json`` layout, written atomically with mode 0600.

The file is what the Codex CLI reads, so its field order and shapes follow Codex exactly (spec 8.2).
A write goes to a temporary file in the same directory, is fsynced and then renamed over the old
one, so a crash at any point leaves either the old or the new file, never a torn one, and a failed
sign-in never damages existing credentials.
"""

from __future__ import annotations

import errno
import json
import os
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loginkit.core._exceptions import CredentialStoreError
from loginkit.core._safefs import make_private_dirs, open_regular, unsafe_reason
from loginkit.store._home import AuthCredentialsStoreMode, find_codex_home
from loginkit.store._locks import commit_lock

if TYPE_CHECKING:
    from loginkit.store._provenance import Provenance

__all__ = [
    "AUTH_FILE_NAME",
    "AuthCredentialsStoreMode",
    "AuthDotJson",
    "EphemeralStore",
    "FileStore",
    "Reservation",
    "TokenData",
    "find_codex_home",
    "utc_now_rfc3339",
    "write_atomic",
]

AUTH_FILE_NAME = "auth.json"
#: The top-level key of loginkit's own fields in ``auth.json`` (Codex keeps or drops it).
PROVENANCE_KEY = "loginkit"


@dataclass(frozen=True, repr=False)
class TokenData:
    id_token: str
    access_token: str
    refresh_token: str
    account_id: str | None

    def __repr__(self) -> str:
        return f"TokenData(account_id={self.account_id!r}, tokens=<redacted>)"


@dataclass(frozen=True, repr=False)
class AuthDotJson:
    """The contents of ``auth.json``. ``repr`` never shows a secret."""

    auth_mode: str | None = None
    openai_api_key: str | None = None
    tokens: TokenData | None = None
    last_refresh: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        return (
            f"AuthDotJson(auth_mode={self.auth_mode!r}, has_api_key={self.openai_api_key is not None},"
            f" tokens={self.tokens!r}, last_refresh={self.last_refresh!r})"
        )

    @property
    def provenance(self) -> Provenance | None:
        """The provider and expiry loginkit stored with the record (``"loginkit"``), if any."""
        from loginkit.store._provenance import Provenance

        return Provenance.from_dict(self.extra.get(PROVENANCE_KEY))

    @property
    def resolved_mode(self) -> str:
        """``auth_mode``, or for legacy files: ``apikey`` when a key is present, else ``chatgpt``."""
        if self.auth_mode:
            return self.auth_mode
        return "apikey" if self.openai_api_key is not None else "chatgpt"

    def to_json(self) -> str:
        """Pretty JSON, two-space indent, Codex's field order; ``OPENAI_API_KEY`` always present."""
        data: dict[str, Any] = {}
        if self.auth_mode is not None:
            data["auth_mode"] = self.auth_mode
        data["OPENAI_API_KEY"] = self.openai_api_key
        if self.tokens is not None:
            data["tokens"] = {
                "id_token": self.tokens.id_token,
                "access_token": self.tokens.access_token,
                "refresh_token": self.tokens.refresh_token,
                "account_id": self.tokens.account_id,
            }
        if self.last_refresh is not None:
            data["last_refresh"] = self.last_refresh
        for key, value in self.extra.items():
            data.setdefault(key, value)
        return json.dumps(data, indent=2, ensure_ascii=False)

    def to_compact_json(self) -> str:
        """The same object without whitespace (the keyring entry's form)."""
        return json.dumps(json.loads(self.to_json()), separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> AuthDotJson:
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise CredentialStoreError(f"auth.json is not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise CredentialStoreError("auth.json does not hold a JSON object")
        tokens = data.get("tokens")
        token_data = None
        if isinstance(tokens, dict):
            values = {k: tokens.get(k) for k in ("id_token", "access_token", "refresh_token")}
            if not all(isinstance(v, str) for v in values.values()):
                raise CredentialStoreError("auth.json tokens are incomplete")
            account = tokens.get("account_id")
            token_data = TokenData(
                id_token=str(values["id_token"]),
                access_token=str(values["access_token"]),
                refresh_token=str(values["refresh_token"]),
                account_id=account if isinstance(account, str) else None,
            )
        key = data.get("OPENAI_API_KEY")
        mode = data.get("auth_mode")
        known = {"auth_mode", "OPENAI_API_KEY", "tokens", "last_refresh"}
        auth = cls(
            auth_mode=mode if isinstance(mode, str) else None,
            openai_api_key=key if isinstance(key, str) else None,
            tokens=token_data,
            last_refresh=data.get("last_refresh")
            if isinstance(data.get("last_refresh"), str)
            else None,
            extra={k: v for k, v in data.items() if k not in known},
        )
        if auth.resolved_mode == "apikey" and auth.openai_api_key is None:
            raise CredentialStoreError("API key auth is missing a key.")
        return auth


def record_identity(auth: AuthDotJson | None) -> tuple[str, str] | None:
    """``(issuer, client id)`` a stored record belongs to: its provenance, else its id_token's
    ``iss``/``aud``; None for an API-key record or one that does not say."""
    if auth is None or auth.tokens is None:
        return None
    known = auth.provenance
    if known is not None and known.issuer and known.client_id:
        return known.issuer.rstrip("/"), known.client_id
    from loginkit.core._exceptions import JwtFormatError
    from loginkit.oauth._idtoken import decode_jwt_payload

    try:
        claims = decode_jwt_payload(auth.tokens.id_token)
    except JwtFormatError:
        return None
    issuer, audience = claims.get("iss"), claims.get("aud")
    if isinstance(audience, list):
        audience = audience[0] if len(audience) == 1 else None
    if isinstance(issuer, str) and isinstance(audience, str):
        return issuer.rstrip("/"), audience
    return None


def utc_now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


STALE_TEMP_AGE = 60.0
#: A reserved file (see :class:`Reservation`) lives across a refresh request, which can take far
#: longer than a plain write: only one this old is a crashed refresh's.
STALE_RESERVATION_AGE = 3600.0
RESERVATION_SUFFIX = ".reserved"


def _sweep_stale_temp_files(path: Path) -> None:
    """Remove temp files a crashed writer left behind (only old ones: a concurrent writer's
    fresh temp file must not be pulled from under it)."""
    import time

    now = time.time()
    for suffix, age in ((".tmp", STALE_TEMP_AGE), (RESERVATION_SUFFIX, STALE_RESERVATION_AGE)):
        for leftover in path.parent.glob(f".{path.name}.*{suffix}"):
            try:
                if leftover.lstat().st_mtime < now - age:
                    leftover.unlink()
            except OSError:
                pass


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data``: temp file (0600) in the same dir, fsync, rename, fsync dir."""
    directory = path.parent
    make_private_dirs(directory)
    _sweep_stale_temp_files(path)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        try:
            os.unlink(tmp_name)
        except OSError:
            pass
        raise
    _fsync_dir(directory)


def _fsync_dir(directory: Path) -> None:
    try:
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


#: Room reserved for a refreshed record: twice today's record plus 64 KiB. A rotated record differs
#: from the old one only in its token values, which providers keep within a few KB of each other.
RESERVE_FLOOR = 64 * 1024


class Reservation:
    """Disk space for the next ``auth.json``, taken before a refresh request is sent.

    A provider that rotates refresh tokens invalidates the old one as soon as it answers, so the
    new record *must* reach the disk. The space is reserved first: a temporary file
    ``.auth.json.XXXX.reserved`` (0600, in the same directory) is created and ``posix_fallocate``-d
    to the record's maximum plausible size (zeros written where the file system cannot allocate),
    then fsynced. If that fails (a full disk, a quota, a size limit) the request is never sent and
    the stored refresh token stays valid. After the response, :meth:`commit` writes the real
    record into the already allocated blocks, truncates it to size, fsyncs and renames it over
    ``auth.json`` (the same crash guarantees as :func:`write_atomic`), so a disk that filled up
    meanwhile cannot make the save fail. :meth:`discard` removes an unused reservation.

    The caller's likely mistake is to reserve after the request: by then the old token is spent.
    """

    def __init__(self, path: Path, size: int) -> None:
        self.path = path
        self.size = size
        self._committed = False
        directory = path.parent
        make_private_dirs(directory)
        _sweep_stale_temp_files(path)
        fd, self._tmp_name = tempfile.mkstemp(
            prefix=f".{path.name}.", suffix=RESERVATION_SUFFIX, dir=directory
        )
        self._fd = fd
        try:
            os.fchmod(fd, 0o600)
            try:
                os.posix_fallocate(fd, 0, size)
            except OSError as exc:
                if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL):
                    raise
                os.pwrite(fd, b"\0" * size, 0)
            os.fsync(fd)
        except BaseException:
            self.discard()
            raise

    def commit(self, data: bytes) -> None:
        """Write ``data`` into the reserved space and rename it over ``auth.json``."""
        view = memoryview(data)
        offset = 0
        while offset < len(view):
            offset += os.pwrite(self._fd, view[offset:], offset)
        os.ftruncate(self._fd, len(data))
        os.fsync(self._fd)
        os.replace(self._tmp_name, self.path)
        self._committed = True
        os.close(self._fd)
        self._fd = -1
        _fsync_dir(self.path.parent)

    def discard(self) -> None:
        """Close and remove the reserved file unless it was committed; safe to call twice."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        if not self._committed:
            self._committed = True
            try:
                os.unlink(self._tmp_name)
            except OSError:
                pass


class FileStore:
    """``<codex_home>/auth.json``.

    Read without trusting the home: a symbolic link, a FIFO or anything but a regular file is
    refused, as is a file owned by another user or writable by group or others (another user
    could have planted it); a file of ours readable by others is tightened to 0600 with a warning.
    """

    mode = AuthCredentialsStoreMode.FILE

    def __init__(self, codex_home: Path) -> None:
        self.codex_home = codex_home
        self.path = codex_home / AUTH_FILE_NAME

    def describe(self) -> str:
        return f"file {self.path}"

    def _open_checked(self) -> tuple[int, str | None]:
        """The open descriptor of a trusted ``auth.json`` and the tightening warning, if any.
        Raises ``FileNotFoundError`` or :class:`CredentialStoreError`."""
        try:
            fd = open_regular(self.path, os.O_RDONLY)
        except FileNotFoundError:
            raise
        except OSError as exc:
            raise CredentialStoreError(
                f"failed to read {self.path}: {exc.strerror or exc}"
            ) from None
        try:
            info = os.fstat(fd)
            reason = unsafe_reason(info)
            if reason is not None:
                raise CredentialStoreError(
                    f"refusing to read {self.path}: {reason}; another user could have planted"
                    f" these credentials (remove it and sign in again)"
                )
            warning = None
            if info.st_mode & 0o077:
                os.fchmod(fd, 0o600)
                warning = (
                    f"{self.path} was readable by others (mode {info.st_mode & 0o777:04o});"
                    " its mode is now 0600"
                )
        except OSError as exc:
            os.close(fd)
            raise CredentialStoreError(
                f"failed to read {self.path}: {exc.strerror or exc}"
            ) from None
        except BaseException:
            os.close(fd)
            raise
        return fd, warning

    def tighten(self) -> str | None:
        """Tighten a 0644 ``auth.json`` of ours to 0600 now; returns the warning to show, or None
        (nothing to do, no file, or a file :meth:`load` will refuse with its own message)."""
        try:
            fd, warning = self._open_checked()
        except (OSError, CredentialStoreError):
            return None
        os.close(fd)
        return warning

    def load(self) -> AuthDotJson | None:
        try:
            fd, warning = self._open_checked()
        except FileNotFoundError:
            return None
        if warning is not None:
            import logging

            from loginkit.core._log import log_event

            log_event(logging.getLogger("loginkit.store"), logging.WARNING, warning)
        try:
            with os.fdopen(fd, "r", encoding="utf-8") as handle:
                text = handle.read()
        except OSError as exc:
            raise CredentialStoreError(
                f"failed to read {self.path}: {exc.strerror or exc}"
            ) from None
        return AuthDotJson.from_json(text)

    def reserve(self) -> Reservation:
        """Reserve room for the next record (see :class:`Reservation`); raises
        :class:`CredentialStoreError` when there is none, before anything is sent anywhere."""
        try:
            current = self.path.lstat().st_size
        except OSError:
            current = 0
        try:
            return Reservation(self.path, 2 * current + RESERVE_FLOOR)
        except OSError as exc:
            raise CredentialStoreError(
                f"no room to save refreshed credentials in {self.codex_home}:"
                f" {exc.strerror or exc}; the refresh was not attempted, the stored credentials"
                " are unchanged"
            ) from None

    def save(self, auth: AuthDotJson, reservation: Reservation | None = None) -> None:
        """Write ``auth`` atomically (into ``reservation``'s space when given)."""
        data = auth.to_json().encode("utf-8")
        try:
            with commit_lock(self.codex_home):
                if reservation is not None:
                    reservation.commit(data)
                else:
                    write_atomic(self.path, data)
        except OSError as exc:
            raise CredentialStoreError(
                f"failed to write {self.path}: {exc.strerror or exc}"
            ) from None

    def delete(self) -> bool:
        if not os.path.lexists(self.path):
            return False
        try:
            with commit_lock(self.codex_home):
                self.path.unlink()
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise CredentialStoreError(
                f"failed to remove {self.path}: {exc.strerror or exc}"
            ) from None
        return True


_EPHEMERAL: dict[str, AuthDotJson] = {}


class EphemeralStore:
    """In-process memory only, keyed by the home directory; gone when the process exits."""

    mode = AuthCredentialsStoreMode.EPHEMERAL

    def __init__(self, codex_home: Path) -> None:
        self.codex_home = codex_home
        self._key = str(codex_home)

    def describe(self) -> str:
        return "ephemeral (this process only)"

    def load(self) -> AuthDotJson | None:
        return _EPHEMERAL.get(self._key)

    def save(self, auth: AuthDotJson) -> None:
        _EPHEMERAL[self._key] = auth

    def delete(self) -> bool:
        return _EPHEMERAL.pop(self._key, None) is not None
