"""Listening on a loopback port, and reaching a server that listens on one.

Light on purpose: the link-first start binds through :func:`listen_raw`, which needs only the
``_socket`` extension (``socket`` itself loads ``enum`` and ``selectors``, a third of the time to
the link); the rest loads ``socket`` when it is called.
"""

from __future__ import annotations

import _socket

# Not ``typing.TYPE_CHECKING``: typing is not loaded on the way to the link.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import socket

#: Where the callback server listens by default (RFC 8252: loopback only).
LOOPBACK = "127.0.0.1"
#: How long a stale server gets to answer ``GET /cancel``.
CANCEL_TIMEOUT = 2.0


def reach(address: str) -> str:
    """Where to connect to a callback server bound to ``address``: a server on the wildcard
    address is reached through the loopback."""
    return LOOPBACK if address == "0.0.0.0" else address  # noqa: S104 (a comparison)


def listen_raw(family: int, host: str, port: int) -> _socket.socket:
    """A listening TCP socket on ``host:port`` (IPv6 sockets are v6-only), as the bare
    ``_socket`` object; :func:`adopt_socket` makes it a ``socket.socket`` for asyncio."""
    sock = _socket.socket(family, _socket.SOCK_STREAM)
    try:
        sock.setsockopt(_socket.SOL_SOCKET, _socket.SO_REUSEADDR, 1)
        if family == _socket.AF_INET6:
            sock.setsockopt(_socket.IPPROTO_IPV6, _socket.IPV6_V6ONLY, 1)
        sock.bind((host, port))
        sock.listen(128)
    except BaseException:
        sock.close()
        raise
    return sock


def adopt_socket(raw: _socket.socket) -> socket.socket:
    """The same listening socket as a ``socket.socket`` (what asyncio takes); ``raw`` is detached
    and must not be used any more."""
    import socket

    return socket.socket(fileno=raw.detach())


def listen(family: int, host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (IPv6 sockets are v6-only)."""
    return adopt_socket(listen_raw(family, host, port))


def send_cancel_request(
    port: int, timeout: float = CANCEL_TIMEOUT, address: str = LOOPBACK
) -> None:
    """Ask whatever login server holds ``address:port`` to stand down (``GET /cancel``); a
    server on the wildcard address is reached through the loopback."""
    import socket

    with socket.create_connection((reach(address), port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        sock.sendall(
            f"GET /cancel HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode()
        )
        sock.recv(64)
