"""The link-first start's half of a browser sign-in: bind, PKCE, state and the link, with light
standard-library modules only (``_socket``, ``os``, ``binascii``, ``_sha256``,
a hand-written percent-encoder). The browser run adopts what this bound (:meth:`LoginRun.adopt`).
"""

from __future__ import annotations

import _socket

from loginkit.core import _codex as codex
from loginkit.loopback._listen import LOOPBACK, listen_raw
from loginkit.oauth._pkce import PkceCodes, authorize_url, generate_pkce, generate_state


class Prelinked:
    """What the link was built from, handed to the full CLI: the listening sockets (127.0.0.1
    first), the port, the PKCE pair and the state. ``repr`` hides the secrets."""

    __slots__ = ("auth_url", "pkce", "port", "redirect_uri", "sockets", "state")

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

    def close(self) -> None:
        for sock in self.sockets:
            sock.close()

    def __repr__(self) -> str:
        return f"Prelinked(port={self.port}, <secrets redacted>)"


def prelink(port: int, issuer: str) -> Prelinked | None:
    """Bind 127.0.0.1 (and [::1]) once and build the openai profile's link; None when the port
    is not free at the first try (the full flow then retries and takes a stale server over)."""
    try:
        v4 = listen_raw(_socket.AF_INET, LOOPBACK, port)
    except OSError:
        return None
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
    return Prelinked(sockets, actual, pkce, state, redirect_uri, url)


def link_text(auth_url: str, device_login_command: str) -> str:
    """The block with the sign-in link (the seed's words)."""
    return (
        "If a browser window didn't open, use this link to sign in:\n\n"
        f"{auth_url}\n\n"
        f"On a remote or headless machine? Use `{device_login_command}` instead."
    )
