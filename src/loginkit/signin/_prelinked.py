"""The link-first start's half of a browser sign-in: bind, PKCE, state and the link, with light
standard-library modules only (``_socket``, ``os``, ``binascii``, ``_sha256``,
a hand-written percent-encoder). The browser run adopts what this bound (:meth:`LoginRun.adopt`).
"""

from __future__ import annotations

import _socket

from loginkit.core import _codex as codex
from loginkit.core._texts import CLEANUP_TEXT, retry_text
from loginkit.loopback._listen import LOOPBACK, listen_raw
from loginkit.oauth._pkce import PkceCodes, authorize_url, generate_pkce, generate_state


class Prelinked:
    """What the link was built from, handed to the full CLI: the listening sockets (127.0.0.1
    first), the port, the PKCE pair and the state. ``repr`` hides the secrets."""

    __slots__ = ("auth_url", "pkce", "port", "redirect_uri", "sockets", "state", "took_over")

    def __init__(
        self,
        sockets: list[_socket.socket],
        port: int,
        pkce: PkceCodes,
        state: str,
        redirect_uri: str,
        auth_url: str,
    ) -> None:
        self.sockets = sockets
        self.port = port
        self.pkce = pkce
        self.state = state
        self.redirect_uri = redirect_uri
        self.auth_url = auth_url
        #: The port was taken over from an older login server (its lines are already shown).
        self.took_over = False

    def close(self) -> None:
        for sock in self.sockets:
            sock.close()

    def __repr__(self) -> str:
        return f"Prelinked(port={self.port}, <secrets redacted>)"


#: How long the link-first start waits for a stale login server to let go of the port.
TAKEOVER_WAIT = 2.0


def _take_over(port: int) -> _socket.socket | None:
    """Ask the login server on ``port`` to stand down (``GET /cancel``, as the full CLI does)
    and bind as soon as it lets go, polling every 5 ms; the seed's two lines go to stderr as the
    full CLI would print them. None when it does not let go in time (the full CLI then tries,
    and reports)."""
    import sys
    import time

    sys.stderr.write(CLEANUP_TEXT + "\n")
    sys.stderr.flush()
    try:
        probe = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)
        try:
            probe.settimeout(2.0)
            probe.connect((LOOPBACK, port))
            probe.sendall(
                f"GET /cancel HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode()
            )
            probe.recv(64)
        finally:
            probe.close()
    except OSError:
        pass  # nothing answered: the port may still come free
    deadline = time.monotonic() + TAKEOVER_WAIT
    while time.monotonic() < deadline:
        try:
            sock = listen_raw(_socket.AF_INET, LOOPBACK, port)
        except OSError:
            time.sleep(0.005)
            continue
        sys.stderr.write(retry_text(2) + "\n")
        sys.stderr.flush()
        return sock
    return None


def prelink(port: int, issuer: str) -> Prelinked | None:
    """Bind 127.0.0.1 (and [::1]) and build the openai profile's link; a port held by an older
    login server is taken over here (``took_over``). None when the port cannot be had (the full
    flow then retries and reports)."""
    import errno

    took_over = False
    try:
        v4 = listen_raw(_socket.AF_INET, LOOPBACK, port)
    except OSError as exc:
        taken = None if exc.errno != errno.EADDRINUSE or port == 0 else _take_over(port)
        if taken is None:
            return None
        v4, took_over = taken, True
    sockets = [v4]
    actual = v4.getsockname()[1]
    try:
        sockets.append(listen_raw(_socket.AF_INET6, "::1", actual))
    except OSError:
        pass
    pkce = generate_pkce()
    state = generate_state()
    redirect_uri = f"http://{codex.REDIRECT_HOST}:{actual}/auth/callback"
    url = authorize_url(
        f"{issuer}{codex.AUTHORIZE_PATH}",
        client_id=codex.OPENAI_CLIENT_ID,
        redirect_uri=redirect_uri,
        scope=codex.SCOPE,
        code_challenge=pkce.code_challenge,
        extra_params=codex.EXTRA_AUTHORIZE_PARAMS,
        state=state,
        originator=codex.DEFAULT_ORIGINATOR,
        workspace_id=None,
    )
    ready = Prelinked(sockets, actual, pkce, state, redirect_uri, url)
    ready.took_over = took_over
    return ready


def link_text(auth_url: str, device_login_command: str) -> str:
    """The block with the sign-in link (the seed's words)."""
    return (
        "If a browser window didn't open, use this link to sign in:\n\n"
        f"{auth_url}\n\n"
        f"On a remote or headless machine? Use `{device_login_command}` instead."
    )
