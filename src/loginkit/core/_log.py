"""The durable login log: ``<home>/log/codex-login.log`` (the Codex CLI's file, for the openai
profile) or ``<home>/log/loginkit-login.log`` (every other profile), appended, mode 0600.

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

from loginkit.core._codex import LOG_FILE as LOG_FILE_NAME
from loginkit.core._redact import strip_urls
from loginkit.core._sanitize import escape_char

_FIELDS = "loginkit_fields"


#: Fields that carry an error text (which can quote a provider's URL): URLs are stripped.
_ERROR_FIELDS = frozenset(
    {"err", "error", "error_code", "error_description", "error_message", "message", "reason"}
)
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_char(char: str, quote: bool) -> str:
    known = _ESCAPES.get(char) if quote or char != '"' else None
    if known is not None:
        return known
    if char == " " or char.isprintable():
        return char
    return escape_char(char)


def escape_log_text(text: str, *, quote: bool = True) -> str:
    """``text`` with ``\\``, ``"`` (unless ``quote`` is False: a message is not quoted), and every
    character that is not printable (controls, ``\\r``, ``\\n``, ESC, bidi and format characters,
    U+2028/2029) escaped: it stays on one line and cannot imitate another."""
    return "".join(_escape_char(c, quote) for c in text)


def _format_value(value: object) -> str:
    """logfmt: a plain value as it is (``has_code=true port=1455``); anything empty, with a space,
    ``"``, ``=``, ``\\`` or a character that is not printable, quoted and escaped."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    text = str(value)
    if text and all(c.isprintable() and c not in ' "=\\' for c in text):
        return text
    return '"' + escape_log_text(text) + '"'


def format_fields(fields: dict[str, Any]) -> str:
    """The ``key=value`` tail of a line; error texts lose their URLs first."""
    parts = []
    for key, value in fields.items():
        shown = strip_urls(value) if key in _ERROR_FIELDS and isinstance(value, str) else value
        parts.append(f"{escape_log_text(str(key))}={_format_value(shown)}")
    return " ".join(parts)


def log_event(logger: logging.Logger, level: int, message: str, /, **fields: object) -> None:
    """Log ``message`` with structured ``fields`` (rendered as ``key=value`` by the login log)."""
    if logger.isEnabledFor(level):
        logger.log(level, message, extra={_FIELDS: fields})


_LEVEL_NAMES = {"WARNING": "WARN", "CRITICAL": "ERROR"}


class LoginLogFormatter(logging.Formatter):
    """RFC 3339 UTC timestamp, level, logger name, message, then ``key=value`` fields.

    Every line is one physical line whatever the input: the message is escaped, every value that
    is not plain is quoted and escaped logfmt-style (``\\"``, ``\\\\``, ``\\n``, ``\\r``,
    ``\\t``, ``\\xNN``, ``\\uNNNN``), so a provider cannot write a line of its own.
    """

    def format(self, record: logging.LogRecord) -> str:
        seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        micros = int((record.created % 1) * 1_000_000)
        fields: dict[str, Any] = getattr(record, _FIELDS, {}) or {}
        level = _LEVEL_NAMES.get(record.levelname, record.levelname)
        # The message is escaped too (a caller may put outside text in it): one event, one line.
        message = escape_log_text(record.getMessage(), quote=False)
        name = escape_log_text(record.name, quote=False)
        line = f"{seconds}.{micros:06d}Z {level:>5} {name}: {message}"
        if fields:
            line += " " + format_fields(fields)
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


def install_login_log(
    log_dir: Path, *, warn: Any = None, file_name: str = LOG_FILE_NAME
) -> LoginLog | None:
    """Append login milestones to ``log_dir/file_name`` (default ``codex-login.log``, the file
    the Codex CLI writes; pass the profile's ``log_file`` for any other provider).

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
    path = log_dir / file_name
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
