"""The one renderer of every command's progress: human lines on stderr, or JSON lines on stdout.

JSON (``--json``), one object per line, the same schema for every command:

- ``{"type": "progress", "phase": id, "visible": bool, "text": str, ...phase.fields()}``
- ``{"type": "auth_url", "url": str, "port": int}`` (browser sign-in)
- ``{"type": "result", "ok": true, "message": str}``
- ``{"type": "result", "ok": false, "error": str, "kind": ErrorKind id, "category": id?}``
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TextIO

from loginkit.core._exceptions import ErrorKind, LoginError
from loginkit.core._phases import Failed, LoginPhase
from loginkit.core._profiles import Profile


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

    def record(self, record: dict[str, object]) -> None:
        """A JSON line on stdout (JSON mode only)."""
        import json

        if self.json_mode:
            with self._lock:
                self._write(self.out, json.dumps(record, ensure_ascii=False))

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
        # One write per message, newline included: a Ctrl-C can then never split a line from
        # its newline and glue the next message onto it.
        stream.write(text + "\n")
        stream.flush()
