"""The link-first start's half of a browser sign-in: bind, PKCE, state (and a generic provider's
nonce) and the link, with light standard-library modules only (``_socket``, ``os``, ``binascii``,
``_sha256``, a hand-written percent-encoder). The browser run adopts what this bound
(:meth:`LoginRun.adopt`), and the discovery answer the link was built from, so nothing is asked
or made twice.
"""

from __future__ import annotations

import _socket

from loginkit.core import _codex as codex
from loginkit.core._texts import CLEANUP_TEXT, retry_text
from loginkit.loopback._listen import LOOPBACK, listen_raw
from loginkit.oauth._pkce import (
    PkceCodes,
    authorize_url,
    generate_nonce,
    generate_pkce,
    generate_state,
)

# Not ``typing.TYPE_CHECKING``: typing is not loaded on the way to the link.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from loginkit.oauth._wellknown import Discovered


class Prelinked:
    """What the link was built from, handed to the full CLI: the listening sockets (127.0.0.1
    first), the port, the PKCE pair, the state, a generic provider's nonce and its discovery
    answer. ``repr`` hides the secrets."""

    __slots__ = (
        "auth_url",
        "discovered",
        "nonce",
        "pkce",
        "port",
        "redirect_uri",
        "sockets",
        "state",
        "took_over",
    )

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
        #: A generic provider's OpenID Connect nonce (None for the openai profile: Codex sends none).
        self.nonce: str | None = None
        #: A generic provider's discovery answer the link was built from (None for openai).
        self.discovered: Discovered | None = None

    def fits(self, port: int, discovers: bool) -> bool:
        """Whether a run for ``port`` (0: any) of a profile that does (or does not) discover
        can adopt this: a generic run needs the nonce and the document, Codex's neither."""
        generic = self.nonce is not None and self.discovered is not None
        plain = self.nonce is None and self.discovered is None
        return port in (0, self.port) and (generic if discovers else plain)

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


class LinkSpec:
    """What a sign-in link says besides the secrets: the authorize endpoint, the client id,
    the scope, the redirect host, Codex's extra parameters and originator, and whether an
    OpenID Connect nonce goes with it. :func:`openai_link` and :func:`generic_link` build the
    two kinds, from the same constants as the profiles."""

    __slots__ = ("client_id", "endpoint", "extra", "nonce", "originator", "redirect_host", "scope")

    def __init__(
        self,
        endpoint: str,
        client_id: str,
        scope: str,
        redirect_host: str,
        *,
        extra: tuple[tuple[str, str], ...] = (),
        originator: str | None = None,
        nonce: bool = False,
    ) -> None:
        self.endpoint = endpoint
        self.client_id = client_id
        self.scope = scope
        self.redirect_host = redirect_host
        self.extra = extra
        self.originator = originator
        self.nonce = nonce


def openai_link(issuer: str) -> LinkSpec:
    """The openai profile's link (Codex's, parameter for parameter) against ``issuer``."""
    return LinkSpec(
        f"{issuer}{codex.AUTHORIZE_PATH}",
        codex.OPENAI_CLIENT_ID,
        codex.SCOPE,
        codex.REDIRECT_HOST,
        extra=codex.EXTRA_AUTHORIZE_PARAMS,
        originator=codex.DEFAULT_ORIGINATOR,
    )


def generic_link(authorization_endpoint: str, client_id: str) -> LinkSpec:
    """A generic OpenID Connect profile's link: the discovered endpoint, its scopes, the
    127.0.0.1 redirect host and a nonce (as :func:`loginkit.core._profiles.generic_profile`)."""
    from loginkit.core._generic import GENERIC_REDIRECT_HOST, GENERIC_SCOPE

    return LinkSpec(
        authorization_endpoint, client_id, GENERIC_SCOPE, GENERIC_REDIRECT_HOST, nonce=True
    )


def prelink(port: int, spec: LinkSpec) -> Prelinked | None:
    """Bind 127.0.0.1 (and [::1]) and build the link ``spec`` describes; a port held by an
    older login server is taken over here (``took_over``). None when the port cannot be had
    (the full flow then retries and reports)."""
    import errno

    from loginkit.core._generic import REDIRECT_PATH

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
    nonce = generate_nonce() if spec.nonce else None
    redirect_uri = f"http://{spec.redirect_host}:{actual}{REDIRECT_PATH}"
    url = authorize_url(
        spec.endpoint,
        client_id=spec.client_id,
        redirect_uri=redirect_uri,
        scope=spec.scope,
        code_challenge=pkce.code_challenge,
        extra_params=spec.extra,
        state=state,
        originator=spec.originator,
        workspace_id=None,
        nonce=nonce,
    )
    ready = Prelinked(sockets, actual, pkce, state, redirect_uri, url)
    ready.took_over = took_over
    ready.nonce = nonce
    return ready


def link_text(auth_url: str, device_login_command: str) -> str:
    """The block with the sign-in link (the seed's words)."""
    return (
        "If a browser window didn't open, use this link to sign in:\n\n"
        f"{auth_url}\n\n"
        f"On a remote or headless machine? Use `{device_login_command}` instead."
    )
