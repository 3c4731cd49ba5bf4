"""Credential storage: the Codex ``auth.json`` layout, written atomically with mode 0600.

The file is what the Codex CLI reads, so its field order and shapes follow Codex exactly (spec 8.2).
A write goes to a temporary file in the same directory, is fsynced and then renamed over the old
one, so a crash at any point leaves either the old or the new file, never a torn one, and a failed
sign-in never damages existing credentials.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from loginkit.core._exceptions import CredentialStoreError
from loginkit.store._home import AuthCredentialsStoreMode, find_codex_home

__all__ = [
    "AUTH_FILE_NAME",
    "AuthCredentialsStoreMode",
    "AuthDotJson",
    "EphemeralStore",
    "FileStore",
    "TokenData",
    "auth_lock",
    "commit_lock",
    "find_codex_home",
    "utc_now_rfc3339",
    "write_atomic",
]

AUTH_FILE_NAME = "auth.json"


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


def utc_now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


STALE_TEMP_AGE = 60.0


def _sweep_stale_temp_files(path: Path) -> None:
    """Remove temp files a crashed writer left behind (only old ones: a concurrent writer's
    fresh temp file must not be pulled from under it)."""
    import time

    cutoff = time.time() - STALE_TEMP_AGE
    for leftover in path.parent.glob(f".{path.name}.*.tmp"):
        try:
            if leftover.lstat().st_mtime < cutoff:
                leftover.unlink()
        except OSError:
            pass


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data``: temp file (0600) in the same dir, fsync, rename, fsync dir."""
    directory = path.parent
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
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


class FileStore:
    """``<codex_home>/auth.json``."""

    mode = AuthCredentialsStoreMode.FILE

    def __init__(self, codex_home: Path) -> None:
        self.codex_home = codex_home
        self.path = codex_home / AUTH_FILE_NAME

    def describe(self) -> str:
        return f"file {self.path}"

    def load(self) -> AuthDotJson | None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise CredentialStoreError(
                f"failed to read {self.path}: {exc.strerror or exc}"
            ) from None
        return AuthDotJson.from_json(text)

    def save(self, auth: AuthDotJson) -> None:
        data = auth.to_json().encode("utf-8")
        try:
            with commit_lock(self.codex_home):
                write_atomic(self.path, data)
        except OSError as exc:
            raise CredentialStoreError(
                f"failed to write {self.path}: {exc.strerror or exc}"
            ) from None

    def delete(self) -> bool:
        if not self.path.exists():
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


#: The Codex CLI's two locks (checked against codex 0.169.0 with strace): ``auth.lock`` is held,
#: blocking, across a whole read-modify-write (a refresh request included); ``auth.json.lock`` only
#: around the file commit, and Codex gives up on it after 5 s. loginkit takes them the same way and
#: in the same order, so neither tool can write over the other or make it time out.
OUTER_LOCK_NAME = "auth.lock"
COMMIT_LOCK_NAME = "auth.json.lock"


@contextmanager
def _flock(path: Path, timeout: float) -> Iterator[None]:
    """An exclusive advisory ``flock`` on ``path``; released by the kernel even on kill -9, so
    lock files are never deleted. Raises :class:`CredentialStoreError` after ``timeout`` s."""
    import fcntl
    import time

    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise CredentialStoreError(f"failed to open {path}: {exc.strerror or exc}") from None
    try:
        deadline = time.monotonic() + timeout
        delay = 0.005
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise CredentialStoreError(
                        f"timed out after {timeout:g} s waiting for {path} (another process holds it)"
                    ) from None
                time.sleep(delay)
                delay = min(delay * 2, 0.1)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


@contextmanager
def auth_lock(codex_home: Path, timeout: float = 60.0) -> Iterator[None]:
    """Hold the lock that guards a read-modify-write of the credentials (``auth.lock``).

    Hold it across "re-read, refresh if still stale, save": that is what makes concurrent
    refreshes collapse into one. The file commit itself additionally takes ``auth.json.lock``
    (inside :class:`FileStore`), briefly, as the Codex CLI does.
    """
    with _flock(codex_home / OUTER_LOCK_NAME, timeout):
        yield


@contextmanager
def commit_lock(codex_home: Path, timeout: float = 60.0) -> Iterator[None]:
    """The short lock around writing or removing ``auth.json`` (``auth.json.lock``)."""
    with _flock(codex_home / COMMIT_LOCK_NAME, timeout):
        yield
