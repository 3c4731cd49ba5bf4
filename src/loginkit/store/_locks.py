"""The two lock files shared with the Codex CLI, taken the way it takes them (flock; released by
the kernel even on kill -9, so lock files are never deleted)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from loginkit.core._exceptions import CredentialStoreError
from loginkit.core._safefs import make_private_dirs, open_regular

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

    try:
        make_private_dirs(path.parent)
        fd = open_regular(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise CredentialStoreError(f"failed to open {path}: {exc.strerror or exc}") from None
    try:
        owner = os.fstat(fd).st_uid
        if owner != os.geteuid():
            # Another user's lock file: they could hold it forever. Its mode is not checked: the
            # Codex CLI creates auth.lock 0666 minus the umask.
            raise CredentialStoreError(
                f"refusing to use {path}: it is owned by uid {owner}, not by you"
                f" (uid {os.geteuid()})"
            )
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
