"""Looking at a loopback port without taking it over: for ``loginkit doctor``.

:func:`probe_port` binds the port for a moment (and lets go at once) to learn whether a sign-in
could listen there. When something already listens, it asks that server for a path no login
server serves (:data:`PROBE_PATH`) and tells a loginkit or Codex CLI sign-in from anything else by
the *shape* of the 404 it answers. It never sends ``GET /cancel`` (that would end someone's
sign-in), never ``/success`` (the Codex CLI ends its sign-in on it), never the callback path.
"""

from __future__ import annotations

import enum
import errno
import socket
from dataclasses import dataclass

from loginkit.loopback._listen import listen, reach

#: A path neither loginkit's server nor the Codex CLI's routes: both answer a plain 404, and
#: neither ends, counts or reports the request (loginkit reports only bad Host headers and
#: targets; the Host sent here is one it accepts).
PROBE_PATH = "/.well-known/loginkit-doctor"
#: How long whatever holds the port gets to answer the probe.
PROBE_TIMEOUT = 1.5
#: Response headers only loginkit's loopback server sends together (its security headers).
_LOGINKIT_HEADERS = {
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
}


class PortState(enum.Enum):
    """What :func:`probe_port` found; ``value`` is the id ``loginkit doctor --json`` prints."""

    FREE = "free"
    LOGINKIT = "loginkit_sign_in"
    CODEX = "codex_sign_in"
    OTHER = "other_program"
    FORBIDDEN = "forbidden"
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class PortProbe:
    """The state of one port; ``detail`` is the operating system's words (FORBIDDEN,
    UNAVAILABLE) or what answered the probe (OTHER), never anything the caller must trust."""

    state: PortState
    detail: str = ""


def _identify(port: int, address: str, timeout: float) -> PortProbe:
    """Ask the holder of ``address:port`` for :data:`PROBE_PATH` and read its answer's head."""
    request = (
        f"GET {PROBE_PATH} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        "User-Agent: loginkit-doctor\r\nConnection: close\r\n\r\n"
    ).encode()
    data = b""
    try:
        with socket.create_connection((reach(address), port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            sock.sendall(request)
            while b"\r\n\r\n" not in data and len(data) < 8192:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                data += chunk
    except OSError:
        pass
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    lines = head.split("\r\n")
    if not lines[0].startswith("HTTP/"):
        return PortProbe(PortState.OTHER, "it does not answer HTTP")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    status = lines[0].split(" ")[1] if " " in lines[0] else ""
    if status == "404" and headers.get("server", "").startswith("tiny-http"):
        return PortProbe(PortState.CODEX)
    if status == "404" and all(headers.get(k) == v for k, v in _LOGINKIT_HEADERS.items()):
        return PortProbe(PortState.LOGINKIT)
    return PortProbe(PortState.OTHER, "it answers HTTP, but not as a sign-in")


def probe_port(address: str, port: int, *, timeout: float = PROBE_TIMEOUT) -> PortProbe:
    """Whether a sign-in could listen on ``address:port`` (IPv4) now, and if not, why.

    The port is bound and released at once; port 0 asks whether *any* port can be had. The
    caller's likely mistake is to read FREE as a promise: another program can take the port
    between this look and the sign-in.
    """
    try:
        listen(socket.AF_INET, address, port).close()
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE and port != 0:
            return _identify(port, address, timeout)
        if exc.errno in (errno.EACCES, errno.EPERM):
            return PortProbe(PortState.FORBIDDEN, exc.strerror or str(exc))
        return PortProbe(PortState.UNAVAILABLE, exc.strerror or str(exc))
    return PortProbe(PortState.FREE)


def probe_ipv6_loopback(port: int) -> PortProbe:
    """Whether ``[::1]:port`` can be listened on (a sign-in adds it for browsers that resolve
    ``localhost`` to ``::1``). FREE, or UNAVAILABLE with the reason (no IPv6 loopback), or
    OTHER when another program holds that port on ``::1`` only."""
    try:
        listen(socket.AF_INET6, "::1", port).close()
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE and port != 0:
            return PortProbe(PortState.OTHER, exc.strerror or str(exc))
        return PortProbe(PortState.UNAVAILABLE, exc.strerror or str(exc))
    return PortProbe(PortState.FREE)
