"""Loopback port helpers."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A port that was free a moment ago (bound to 127.0.0.1 and released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
