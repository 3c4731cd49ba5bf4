"""How the CLI shows progress: human lines on stderr, or JSON lines on stdout."""

from __future__ import annotations

import threading
from typing import TextIO

from loginkit.core._exceptions import LoginError
from loginkit.core._phases import Failed, LoginPhase
from loginkit.core._profiles import Profile


class ProgressPrinter:
    """Prints visible phases to stderr and remembers which failures the person has seen.

    The final "Error logging in" line is suppressed only when the run's *terminal* failure was
    already shown as a block (the seed hid real errors behind an earlier, unrelated block).
    """

    def __init__(self, profile: Profile, out: TextIO) -> None:
        self.profile = profile
        self.out = out
        self._shown: list[Failed] = []
        self._lock = threading.Lock()

    def __call__(self, phase: LoginPhase) -> None:
        if not phase.is_user_visible():
            return
        with self._lock:
            if isinstance(phase, Failed):
                self._shown.append(phase)
            self._write(phase.render(self.profile))

    def text(self, line: str) -> None:
        with self._lock:
            self._write(line)

    def _write(self, text: str) -> None:
        # One write per message, newline included: a Ctrl-C can then never split a line from
        # its newline and glue the next message onto it.
        self.out.write(text + "\n")
        self.out.flush()

    def already_shown(self, error: LoginError) -> bool:
        with self._lock:
            return error.failure is not None and any(f is error.failure for f in self._shown)


class JsonPrinter:
    """``--json``: one JSON object per line on stdout, for wrappers and IDEs."""

    def __init__(self, profile: Profile, out: TextIO) -> None:
        self.profile = profile
        self.out = out
        self._lock = threading.Lock()

    def write(self, record: dict[str, object]) -> None:
        import json

        with self._lock:
            self.out.write(json.dumps(record, ensure_ascii=False) + "\n")
            self.out.flush()

    def __call__(self, phase: LoginPhase) -> None:
        self.write(
            {
                "type": "progress",
                "phase": phase.id,
                "visible": phase.is_user_visible(),
                "text": phase.render(self.profile),
                **phase.fields(),
            }
        )
