"""The fixtures of tests/security (a scripted token endpoint behind the fault proxy); `home` comes
from tests/conftest.py."""

from __future__ import annotations

from security.conftest import issuer, shared_issuer

__all__ = ["issuer", "shared_issuer"]
