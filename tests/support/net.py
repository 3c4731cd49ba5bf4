"""Loopback port helpers."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A port that was free a moment ago (bound to 127.0.0.1 and released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def ipv6_loopback_available() -> bool:
    """Whether this host has IPv6 loopback (``[::1]`` can be bound)."""
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True
