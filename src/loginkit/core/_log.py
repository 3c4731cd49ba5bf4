"""The durable login log: ``<codex_home>/log/codex-login.log``, appended, mode 0600.

One line per milestone or failure, ``key=value`` fields after the message, in the tracing "full"
shape the Codex CLI writes::

    2026-03-19T02:40:42.123456Z  INFO loginkit.server: received login callback has_code=true

Only reviewed fields are ever passed to :func:`log_event`; secrets (codes, state, verifiers,
tokens, API keys, auth/success URLs, raw error bodies) never are. The library never configures the
root logger: :func:`install_login_log` attaches one handler to the ``loginkit`` logger.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

LOG_FILE_NAME = "codex-login.log"
_FIELDS = "loginkit_fields"


def _format_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    text = str(value)
    if text == "" or any(c.isspace() or c in '"=' for c in text):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    return text


def log_event(logger: logging.Logger, level: int, message: str, /, **fields: object) -> None:
    """Log ``message`` with structured ``fields`` (rendered as ``key=value`` by the login log)."""
    if logger.isEnabledFor(level):
        logger.log(level, message, extra={_FIELDS: fields})


_LEVEL_NAMES = {"WARNING": "WARN", "CRITICAL": "ERROR"}


class LoginLogFormatter(logging.Formatter):
    """RFC 3339 UTC timestamp, level, logger name, message, then ``key=value`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        micros = int((record.created % 1) * 1_000_000)
        fields: dict[str, Any] = getattr(record, _FIELDS, {}) or {}
        level = _LEVEL_NAMES.get(record.levelname, record.levelname)
        line = f"{seconds}.{micros:06d}Z {level:>5} {record.name}: {record.getMessage()}"
        if fields:
            line += " " + " ".join(f"{k}={_format_value(v)}" for k, v in fields.items())
        return line


class _LoginLogHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler that, when the log cannot be written (a full disk), says so once on
    stderr and stops, instead of logging's default traceback for every later line."""

    def __init__(self, stream: Any, path: Path, warn: Any) -> None:
        super().__init__(stream)
        self._path = path
        self._warn = warn
        self._broken = False

    def emit(self, record: logging.LogRecord) -> None:
        if not self._broken:
            super().emit(record)

    def handleError(self, record: logging.LogRecord) -> None:
        if self._broken:
            return
        self._broken = True
        import sys

        error = sys.exc_info()[1]
        with contextlib.suppress(OSError, ValueError):
            print(
                f"Warning: failed to write login log file {self._path}: {error}; not logging further",
                file=self._warn,
            )


class LoginLog:
    """An installed login log; :meth:`close` detaches and flushes it."""

    def __init__(self, handler: logging.Handler, path: Path, previous_level: int) -> None:
        self.handler = handler
        self.path = path
        self._previous_level = previous_level

    def close(self) -> None:
        root = logging.getLogger("loginkit")
        root.removeHandler(self.handler)
        root.setLevel(self._previous_level)
        self.handler.close()


def _open_append_0600(path: Path) -> Any:
    """Open the log file for appending, 0600 when created, without trusting the directory: the
    directory and the file are opened with ``O_NOFOLLOW`` (a planted symbolic link is refused, not
    followed), the file with ``O_NONBLOCK`` and checked to be a regular file (a FIFO never blocks
    the sign-in). Raises :class:`OSError`, which the caller turns into a warning."""
    from loginkit.core._safefs import open_private_dir, open_regular

    dir_fd = open_private_dir(path.parent)
    try:
        fd = open_regular(
            Path(path.name), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600, dir_fd=dir_fd
        )
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    finally:
        os.close(dir_fd)
    return os.fdopen(fd, "a", encoding="utf-8")


def install_login_log(log_dir: Path, *, warn: Any = None) -> LoginLog | None:
    """Append login milestones to ``log_dir/codex-login.log``.

    Set-up failures never stop a sign-in: they print a warning (to ``warn``, default stderr) and
    return ``None``, as the Codex CLI does. That includes a log file or directory that is a
    symbolic link, a FIFO or anything else but a regular file/directory: refused with a warning,
    never followed and never waited on. A directory created here is 0700 whatever the umask.
    """
    from loginkit.core._safefs import make_private_dirs

    out = warn if warn is not None else sys.stderr
    try:
        make_private_dirs(log_dir)
    except OSError as exc:
        print(f"Warning: failed to create login log directory {log_dir}: {exc}", file=out)
        return None
    path = log_dir / LOG_FILE_NAME
    try:
        stream = _open_append_0600(path)
    except OSError as exc:
        print(f"Warning: failed to open login log file {path}: {exc}", file=out)
        return None
    handler = _LoginLogHandler(stream, path, out)
    handler.setFormatter(LoginLogFormatter())
    handler.setLevel(logging.INFO)
    package_logger = logging.getLogger("loginkit")
    previous = package_logger.level
    if previous == logging.NOTSET or previous > logging.INFO:
        package_logger.setLevel(logging.INFO)
    package_logger.addHandler(handler)
    return LoginLog(handler, path, previous)


# A library never prints through logging's last-resort handler: without a configured handler,
# loginkit's records go nowhere rather than to stderr.
logging.getLogger("loginkit").addHandler(logging.NullHandler())
