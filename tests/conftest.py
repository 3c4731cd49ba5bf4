"""Shared fixtures: the local OIDC provider (Node) and a headless Chromium.

Missing prerequisites fail loudly (never skip): CI installs them with
`npm ci --prefix tests/provider` and `apt-get install -y chromium`.

The helpers import as `support.*`: tests/ has no __init__.py, so pytest (rootdir conftest) and
mypy both put tests/ itself on the path.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser
from support.browser import launch_browser
from support.provider import Provider, start_provider


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """The CODEX_HOME of one test: ``tmp_path/codex-home``, created empty with the umask's mode
    (like a directory the person made), so ``home.parent`` is free for files beside it.

    The only home fixture: unit, security, faults, e2e and interop tests (and loginkit and the real
    Codex CLI in interop) all share this one. A test that needs a home that does not exist yet, or
    one with other permissions, makes it itself.
    """
    path = tmp_path / "codex-home"
    path.mkdir()
    return path


@pytest.fixture(scope="session")
def provider() -> Iterator[Provider]:
    """One provider for the whole session. A test that sets a fault must clear it."""
    with start_provider() as running:
        yield running


@pytest.fixture
def fresh_provider() -> Iterator[Provider]:
    """A provider of the test's own (fresh state, free to break)."""
    with start_provider() as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Chromium, one per test module (each login gets a fresh context).

    Not session-scoped on purpose: while Playwright's sync API is open it marks an asyncio loop
    as running on the main thread, so `asyncio.run()` there raises "cannot be called from a
    running event loop". Module scope confines that to modules that use the browser; in those,
    run async code in a worker thread (it must run concurrently with complete_login anyway).
    """
    with launch_browser() as running:
        yield running
