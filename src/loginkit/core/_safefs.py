"""Files and directories in the home directory, opened without trusting what is there.

Everything loginkit creates or appends to under the home (the login log and its directory, the
lock files, ``auth.json`` and its temporary files) goes through these helpers, because a planted
symbolic link would make loginkit append to or create any file the person can write, and a FIFO
would make it block forever:

- :func:`open_regular` opens with ``O_NOFOLLOW`` (a symbolic link is refused, never followed) and
  ``O_NONBLOCK`` (opening a FIFO never blocks), then ``fstat``\\s the descriptor and refuses
  anything that is not a regular file, before a single byte is read or written;
- :func:`make_private_dirs` creates missing directories 0700 whatever the umask (``mkdir``'s mode
  is masked by the umask, so it ``chmod``\\s what it created);
- :func:`unsafe_reason` is the StrictModes-like test: owned by another user, or writable by group
  or others.

Import-light (``os``, ``stat``, ``errno``): the start-up path uses it. Refusals are plain
:class:`OSError`\\s with a readable ``strerror``, so callers report them where they already report
an ``OSError`` (a warning for the login log, :class:`CredentialStoreError` for credentials).
"""

from __future__ import annotations

import errno
import os
import stat

# Not ``typing.TYPE_CHECKING``: the link-first start creates a provider's home with this module,
# before typing or pathlib are loaded.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["make_private_dirs", "open_private_dir", "open_regular", "unsafe_reason"]

NOT_REGULAR = "not a regular file; refusing to use it"
SYMLINK = "is a symbolic link; refusing to follow it"


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def open_regular(path: Path, flags: int, mode: int = 0o600, *, dir_fd: int | None = None) -> int:
    """``os.open(path, flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)``, then refuse (close and raise
    :class:`OSError`) unless the descriptor is a regular file; ``O_NONBLOCK`` is cleared before the
    descriptor is returned. With ``dir_fd``, ``path`` is a name relative to that directory.

    The caller's likely mistake is to ``stat`` the path first and open it after (a race): the
    check here is on the opened descriptor. Opening a FIFO for writing with no reader fails at once
    (``ENXIO``); that is reported as "not a regular file", like any other non-regular file.
    """
    extra = os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd = os.open(path, flags | extra, mode, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise OSError(errno.ELOOP, SYMLINK, str(path)) from None
        if exc.errno == errno.ENXIO:
            raise OSError(errno.ENXIO, f"a FIFO or socket, {NOT_REGULAR}", str(path)) from None
        raise
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):  # what opening it for writing would have said
            raise OSError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
        if not stat.S_ISREG(info.st_mode):
            raise OSError(errno.EINVAL, f"{_kind(info.st_mode)}, {NOT_REGULAR}", str(path))
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def open_private_dir(path: Path) -> int:
    """A descriptor of the directory ``path`` (``O_DIRECTORY | O_NOFOLLOW``: a symbolic link in its
    place is refused), for opening names inside it with ``dir_fd`` so that nothing can swap the
    directory between the check and the open. The caller closes it."""
    try:
        return os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise OSError(errno.ELOOP, SYMLINK, str(path)) from None
        if exc.errno == errno.ENOTDIR:
            raise OSError(errno.ENOTDIR, "not a directory; refusing to use it", str(path)) from None
        raise


def make_private_dirs(path: Path | str) -> None:
    """Create ``path`` and any missing parents, each 0700 whatever the umask; existing directories
    are left as they are. Raises :class:`OSError` (``FileExistsError`` when a non-directory is in
    the way)."""
    if os.path.lexists(path) and not os.path.isdir(path):
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(path))
    missing: list[str] = []
    current = os.fspath(path).rstrip("/") or "/"
    while not os.path.lexists(current):
        missing.append(current)
        parent = os.path.dirname(current) or "."
        if parent == current:
            break
        current = parent
    for directory in reversed(missing):
        try:
            os.mkdir(directory, 0o700)
        except FileExistsError:
            if not os.path.isdir(directory):
                raise
            continue  # made by someone else meanwhile: not ours to chmod
        os.chmod(directory, 0o700, follow_symlinks=False)


def unsafe_reason(info: os.stat_result) -> str | None:
    """Why a file or directory with this ``stat`` must not be trusted with credentials, or None:
    owned by a user other than the effective one, or writable by group or others (like ssh's
    StrictModes; root-owned counts as ours only when we are root)."""
    euid = os.geteuid()
    if info.st_uid != euid:
        return f"it is owned by uid {info.st_uid}, not by you (uid {euid})"
    if info.st_mode & 0o022:
        return f"it is writable by group or others (mode {stat.S_IMODE(info.st_mode):04o})"
    return None
