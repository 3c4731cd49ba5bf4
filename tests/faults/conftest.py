"""The fixtures of tests/security (a scripted token endpoint behind the fault proxy, a home)."""

from __future__ import annotations

from security.conftest import home, issuer, shared_issuer

__all__ = ["home", "issuer", "shared_issuer"]
