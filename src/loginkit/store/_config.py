"""``<codex_home>/config.toml``: the few keys a login honours. Import-light (stdlib tomllib).

Keys: ``cli_auth_credentials_store`` (file | keyring | auto | ephemeral), ``forced_login_method``
(chatgpt | api) and ``forced_chatgpt_workspace_id``. A missing file means defaults; an unreadable
or invalid one is an error the CLI reports as "Error loading configuration: ...".
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from loginkit.core._exceptions import ConfigError
from loginkit.store._home import AuthCredentialsStoreMode

CONFIG_FILE_NAME = "config.toml"


@dataclass(frozen=True)
class LoginConfig:
    store_mode: AuthCredentialsStoreMode = AuthCredentialsStoreMode.FILE
    forced_login_method: str | None = None
    forced_chatgpt_workspace_id: str | None = None


def load_config(codex_home: Path) -> LoginConfig:
    import os

    from loginkit.core._safefs import open_regular

    path = codex_home / CONFIG_FILE_NAME
    try:
        # O_NOFOLLOW | O_NONBLOCK and a regular-file check: a FIFO here must not hang every command.
        with os.fdopen(open_regular(path, os.O_RDONLY), "rb") as handle:
            raw = handle.read()
    except FileNotFoundError:
        return LoginConfig()
    except OSError as exc:
        raise ConfigError(f"failed to read {path}: {exc.strerror or exc}") from None
    import tomllib

    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    mode_value = data.get("cli_auth_credentials_store", "file")
    try:
        mode = AuthCredentialsStoreMode(mode_value)
    except ValueError:
        choices = ", ".join(m.value for m in AuthCredentialsStoreMode)
        raise ConfigError(
            f"{path}: cli_auth_credentials_store = {mode_value!r} is not one of {choices}"
        ) from None
    method = data.get("forced_login_method")
    if method is not None and method not in ("chatgpt", "api"):
        raise ConfigError(f'{path}: forced_login_method must be "chatgpt" or "api"')
    workspace = data.get("forced_chatgpt_workspace_id")
    workspace = workspace.strip() if isinstance(workspace, str) else None
    return LoginConfig(
        store_mode=mode, forced_login_method=method, forced_chatgpt_workspace_id=workspace or None
    )
