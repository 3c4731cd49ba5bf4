"""Listening on a loopback port, and reaching a server that listens on one.

Light on purpose (``socket`` only): the sign-in link is printed through these before anything
heavier loads.
"""

from __future__ import annotations

import socket

#: Where the callback server listens by default (RFC 8252: loopback only).
LOOPBACK = "127.0.0.1"
#: How long a stale server gets to answer ``GET /cancel``.
CANCEL_TIMEOUT = 2.0


def reach(address: str) -> str:
    """Where to connect to a callback server bound to ``address``: a server on the wildcard
    address is reached through the loopback."""
    return LOOPBACK if address == "0.0.0.0" else address  # noqa: S104 (a comparison)


def listen(family: socket.AddressFamily, host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (IPv6 sockets are v6-only)."""
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind((host, port))
        sock.listen(128)
    except BaseException:
        sock.close()
        raise
    return sock


def send_cancel_request(
    port: int, timeout: float = CANCEL_TIMEOUT, address: str = LOOPBACK
) -> None:
    """Ask whatever login server holds ``address:port`` to stand down (``GET /cancel``); a
    server on the wildcard address is reached through the loopback."""
    with socket.create_connection((reach(address), port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        sock.sendall(
            f"GET /cancel HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode()
        )
        sock.recv(64)
