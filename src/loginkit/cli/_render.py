"""The one renderer of every command's progress: human lines on stderr, or JSON lines on stdout.

JSON (``--json``), one object per line, the same schema for every command:

- ``{"type": "progress", "phase": id, "visible": bool, "text": str, ...phase.fields()}``
- ``{"type": "auth_url", "url": str, "port": int}`` (browser sign-in)
- ``{"type": "result", "ok": true, "message": str}``
- ``{"type": "result", "ok": false, "error": str, "kind": ErrorKind id, "category": id?}``

Every human line passes :func:`loginkit.core._sanitize.for_terminal` as it is written (a last
guard: outside text was sanitized where it entered the message), and JSON lines escape those
characters as ``\\u`` escapes, so neither stream ever carries a raw control, bidi or separator.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TextIO

from loginkit.core._exceptions import ErrorKind, LoginError
from loginkit.core._phases import Failed, LoginPhase
from loginkit.core._profiles import Profile
from loginkit.core._sanitize import for_terminal, is_unsafe

#: The only escape sequences the renderer writes: colour codes it adds itself, after sanitizing.
STYLES = frozenset({"", "\x1b[90m", "\x1b[94m", "\x1b[0m"})


def _json_escape(char: str) -> str:
    point = ord(char)
    if point < 0x10000:
        return f"\\u{point:04x}"
    point -= 0x10000
    return f"\\u{0xD800 + (point >> 10):04x}\\u{0xDC00 + (point & 0x3FF):04x}"


def json_line(record: object) -> str:
    """``json.dumps(record, ensure_ascii=False)`` with every control, bidi/format and separator
    character escaped as JSON does for ``ensure_ascii``: ``json.loads`` gives ``record`` back."""
    import json

    text = json.dumps(record, ensure_ascii=False)
    return "".join(_json_escape(c) if is_unsafe(c) else c for c in text)


class Renderer:
    """Shows one command's phases and result, and remembers which failures the person has seen.

    The final "Error ..." line is suppressed only when the run's *terminal* failure was already
    shown as a block (the seed hid real errors behind an earlier, unrelated block). ``hide``
    keeps a failure out of the human output (the device fallback says it in its own words).
    """

    def __init__(
        self,
        profile: Profile,
        *,
        json_mode: bool,
        err: TextIO,
        out: TextIO,
        hide: Callable[[Failed], bool] | None = None,
    ) -> None:
        self.profile = profile
        self.json_mode = json_mode
        self.err = err
        self.out = out
        self._hide = hide
        self._shown: list[Failed] = []
        self._lock = threading.Lock()

    def __call__(self, phase: LoginPhase) -> None:
        if self.json_mode:
            self.record(
                {
                    "type": "progress",
                    "phase": phase.id,
                    "visible": phase.is_user_visible(),
                    "text": phase.render(self.profile),
                    **phase.fields(),
                }
            )
            return
        if not phase.is_user_visible():
            return
        if isinstance(phase, Failed) and self._hide is not None and self._hide(phase):
            return
        with self._lock:
            if isinstance(phase, Failed):
                self._shown.append(phase)
            self._write(self.err, phase.render(self.profile))

    def text(self, line: str) -> None:
        """A line for people (stderr); nothing in JSON mode."""
        if not self.json_mode:
            with self._lock:
                self._write(self.err, line)

    def styled(self, parts: list[tuple[str, str]], reset: str) -> None:
        """A text for people made of ``(style, text)`` parts: each text is sanitized, then its
        style (one of :data:`STYLES`, else refused) goes in front and ``reset`` after a styled
        part. Nothing in JSON mode."""
        if reset not in STYLES or any(style not in STYLES for style, _ in parts):
            raise ValueError("only the renderer's own colour codes can style a text")
        line = "".join(
            f"{style}{for_terminal(text)}{reset}" if style else for_terminal(text)
            for style, text in parts
        )
        if not self.json_mode:
            with self._lock:
                self._write_raw(self.err, line)

    def record(self, record: dict[str, object]) -> None:
        """A JSON line on stdout (JSON mode only): exact JSON, with every unsafe character (which
        can only be inside a string) written as a ``\\uXXXX`` escape, so it is terminal-safe."""
        if self.json_mode:
            with self._lock:
                self._write_raw(self.out, json_line(record))

    def succeeded(self, message: str) -> None:
        if self.json_mode:
            self.record({"type": "result", "ok": True, "message": message})
        else:
            self.text(message)

    def failed(self, error: LoginError, prefix: str, kind: ErrorKind | None = None) -> None:
        """The run's final error: ``{prefix}: {error}`` unless its block was already shown."""
        if self.json_mode:
            record: dict[str, object] = {
                "type": "result",
                "ok": False,
                "error": str(error),
                "kind": (kind or error.kind).value,
            }
            if error.failure is not None:
                record["category"] = error.failure.category.value
            self.record(record)
        elif not self.already_shown(error):
            self.text(f"{prefix}: {error}")

    def already_shown(self, error: LoginError) -> bool:
        with self._lock:
            return error.failure is not None and any(f is error.failure for f in self._shown)

    @staticmethod
    def _write(stream: TextIO, text: str) -> None:
        Renderer._write_raw(stream, for_terminal(text))

    @staticmethod
    def _write_raw(stream: TextIO, text: str) -> None:
        # One write per message, newline included: a Ctrl-C can then never split a line from
        # its newline and glue the next message onto it.
        stream.write(text + "\n")
        stream.flush()
