"""Fixtures for the interop tests: the real Codex CLI (installed on first use) and a home."""

from __future__ import annotations

from pathlib import Path

import pytest

from .codex_cli import ensure_codex


@pytest.fixture(scope="session")
def codex() -> Path:
    """The pinned real Codex binary; skips only when the npm registry is unreachable."""
    return ensure_codex()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A CODEX_HOME shared by loginkit and the real Codex CLI."""
    path = tmp_path / "home"
    path.mkdir()
    return path
