"""Shared helpers for library-level tests: runs with a known state, CLI transcripts without what
varies. Talking to a run's loopback server is ``support.loopback``'s."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from support import loopback
from support.loopback import Run
from support.net import free_port

__all__ = ["STATE", "free_port", "normalise", "start_run"]

STATE = "test-state-value-0123456789abcdefghijklmno"


def start_run(home: Path, issuer: str, **overrides: Any) -> Run:
    """``support.loopback.start_run`` with the state fixed to :data:`STATE`."""
    return loopback.start_run(home, issuer, **{"force_state": STATE, **overrides})


def normalise(text: str, port: int) -> str:
    """A CLI transcript without what changes from run to run: the authorize link, the issuer's
    port and the loopback ``port``."""
    text = re.sub(r"http://127\.0\.0\.1:\d+/oauth/authorize\?\S+", "<AUTH_URL>", text)
    text = re.sub(r"http://127\.0\.0\.1:\d+", "http://127.0.0.1:<ISSUER_PORT>", text)
    return text.replace(str(port), "<PORT>")
