"""How to start one sign-in: :class:`ServerOptions` (browser) and the checks every option gets
once, here, whichever flow or front end built it."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loginkit.core._limits import ServerLimits, Timeouts
from loginkit.core._profiles import (
    DEFAULT_PORT,
    OPENAI_CLIENT_ID,
    OPENAI_ISSUER,
    Profile,
    profile_for,
)
from loginkit.loopback._listen import LOOPBACK
from loginkit.store._home import AuthCredentialsStoreMode

DEFAULT_LOGIN_TIMEOUT = 600.0


@dataclass
class ServerOptions:
    """How to start one browser sign-in. Startup configuration only.

    Observers belong to a run, not here: pass a progress sink to
    :func:`run_login_server_with_progress`. ``force_state`` is for tests; a fixed state outside
    tests defeats the CSRF check it exists for. Headless callers should set ``open_browser`` to
    False and show :attr:`LoginServer.auth_url` themselves.
    """

    codex_home: Path
    client_id: str = OPENAI_CLIENT_ID
    issuer: str = OPENAI_ISSUER
    #: Preferred loopback port; 0 asks the OS for a free one (no stale-server takeover then).
    port: int = DEFAULT_PORT
    #: The IPv4 address to listen on. Keep the loopback default (RFC 8252): "0.0.0.0" is for a
    #: container whose port is published to the host's loopback (spec 16.9), where the
    #: container's own loopback cannot be reached from outside.
    bind_address: str = LOOPBACK
    open_browser: bool = True
    force_state: str | None = field(default=None, repr=False)
    forced_chatgpt_workspace_id: str | None = None
    cli_auth_credentials_store_mode: AuthCredentialsStoreMode = AuthCredentialsStoreMode.FILE
    #: A sign-in nobody completes ends as ``login_cancelled`` after this many seconds (None: never).
    login_timeout: float | None = DEFAULT_LOGIN_TIMEOUT
    #: Limits for every token-endpoint request.
    timeouts: Timeouts = field(default_factory=Timeouts)
    limits: ServerLimits = field(default_factory=ServerLimits)
    #: Words, endpoints and parameters; derived from ``issuer``/``client_id`` when None.
    profile: Profile | None = None
    #: Replace a stored sign-in of another issuer or client id (refused by default, so that a
    #: sign-in never silently overwrites someone's other credentials).
    replace_other_record: bool = False

    def __post_init__(self) -> None:
        self.codex_home = Path(self.codex_home)
        if (
            isinstance(self.port, bool)
            or not isinstance(self.port, int)
            or not 0 <= self.port <= 65535
        ):
            raise ValueError(f"port must be an integer from 0 to 65535, not {self.port!r}")
        try:
            socket.inet_pton(socket.AF_INET, self.bind_address)
        except (OSError, TypeError):
            raise ValueError(
                f"bind_address must be an IPv4 address such as 127.0.0.1 or 0.0.0.0, "
                f"not {self.bind_address!r}"
            ) from None
        workspace = (self.forced_chatgpt_workspace_id or "").strip()
        self.forced_chatgpt_workspace_id = workspace or None

    @classmethod
    def openai(cls, codex_home: Path | str, **overrides: Any) -> ServerOptions:
        """The Codex CLI's defaults: auth.openai.com, Codex's client id, port 1455."""
        return cls(codex_home=Path(codex_home), **overrides)

    @property
    def resolved_profile(self) -> Profile:
        if self.profile is not None:
            return self.profile.with_issuer(self.issuer)
        return profile_for(self.issuer, self.client_id)
