"""Fixtures for the interop tests: the real Codex CLI (installed on first use).

`home` (the CODEX_HOME loginkit and Codex share) comes from tests/conftest.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .codex_cli import ensure_codex


@pytest.fixture(scope="session")
def codex() -> Path:
    """The pinned real Codex binary; skips only when the npm registry is unreachable."""
    return ensure_codex()
