from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from loginkit.core._log import LoginLog, install_login_log

from .device_server import DeviceServer, running_device_server
from .fake_issuer import FakeIssuer, running_fake_issuer


@pytest.fixture
def fake_issuer() -> Iterator[FakeIssuer]:
    with running_fake_issuer() as fake:
        yield fake


@pytest.fixture
def device_server() -> Iterator[DeviceServer]:
    """A scripted device-code server of the test's own (see device_server.py)."""
    with running_device_server() as server:
        yield server


@pytest.fixture
def login_log(home: Path) -> Iterator[LoginLog]:
    log = install_login_log(home / "log")
    assert log is not None
    yield log
    log.close()
