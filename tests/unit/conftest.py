from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from loginkit.core._log import LoginLog, install_login_log

from .fake_issuer import FakeIssuer, running_fake_issuer


@pytest.fixture
def fake_issuer() -> Iterator[FakeIssuer]:
    with running_fake_issuer() as fake:
        yield fake


@pytest.fixture
def login_log(home: Path) -> Iterator[LoginLog]:
    log = install_login_log(home / "log")
    assert log is not None
    yield log
    log.close()
