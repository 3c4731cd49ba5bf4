from __future__ import annotations

from collections.abc import Iterator

import pytest

from .harness import Issuer, running_issuer


@pytest.fixture(scope="module")
def shared_issuer() -> Iterator[Issuer]:
    with running_issuer() as running:
        yield running


@pytest.fixture
def issuer(shared_issuer: Issuer) -> Iterator[Issuer]:
    """A scripted token endpoint behind the fault proxy, with fresh random tokens and no faults."""
    shared_issuer.proxy.clear()
    shared_issuer.proxy.calls.clear()
    shared_issuer.fake.script.clear()
    shared_issuer.randomize()
    yield shared_issuer
    shared_issuer.proxy.clear()
