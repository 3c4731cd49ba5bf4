"""Where credentials live: the home directory and the store mode. Import-light (start-up path)."""

from __future__ import annotations

import enum
import os
from collections.abc import Mapping
from pathlib import Path

from loginkit.core._exceptions import CodexHomeError


class AuthCredentialsStoreMode(enum.Enum):
    """Where credentials live (``cli_auth_credentials_store`` in ``config.toml``)."""

    FILE = "file"
    KEYRING = "keyring"
    AUTO = "auto"
    EPHEMERAL = "ephemeral"


def find_codex_home(environ: Mapping[str, str] | None = None) -> Path:
    """``$CODEX_HOME`` (must exist and be a directory; canonicalised), else ``~/.codex``."""
    env = os.environ if environ is None else environ
    value = env.get("CODEX_HOME", "")
    if value:
        path = Path(value).expanduser()
        if not path.exists():
            raise CodexHomeError(f"CODEX_HOME points to {value!r}, but that path does not exist")
        if not path.is_dir():
            raise CodexHomeError(
                f"CODEX_HOME points to {value!r}, but that path is not a directory"
            )
        return path.resolve()
    return Path.home() / ".codex"
