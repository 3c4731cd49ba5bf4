"""One line of ``loginkit doctor``: a check's status, its sentence and its fix."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Status(enum.Enum):
    """How a check came out; ``value`` is the word shown and the JSON id."""

    OK = "ok"
    WARNING = "warning"
    PROBLEM = "problem"


@dataclass(frozen=True)
class Check:
    """One line of the report. ``message`` and ``fix`` are already sanitized where outside text
    entered them; ``fix`` is None when the check is ok."""

    id: str
    title: str
    status: Status
    message: str
    fix: str | None = None

    def line(self) -> str:
        fix = f". Fix: {self.fix}" if self.fix else ""
        return f"{self.status.value:<8}{self.title}: {self.message}{fix}"

    def record(self) -> dict[str, object]:
        return {
            "id": self.id,
            "status": self.status.value,
            "title": self.title,
            "message": self.message,
            "fix": self.fix,
        }


def ok(id: str, title: str, message: str) -> Check:
    return Check(id, title, Status.OK, message)


def warning(id: str, title: str, message: str, fix: str) -> Check:
    return Check(id, title, Status.WARNING, message, fix)


def problem(id: str, title: str, message: str, fix: str) -> Check:
    return Check(id, title, Status.PROBLEM, message, fix)
