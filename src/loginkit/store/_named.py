"""Named profiles in ``loginkit.toml`` (in :func:`~loginkit.store._home.config_dir`), so a CLI
author ships their provider's settings once and people run ``loginkit login --profile NAME``::

    [profiles.work]
    issuer = "https://idp.example.com"
    client_id = "my-cli"
    scopes = ["openid", "email", "offline_access"]   # or one string
    redirect_host = "127.0.0.1"                      # 127.0.0.1, localhost or [::1]
    redirect_path = "/auth/callback"
    port = 8765
    app_name = "My CLI"                              # the words people read
    help_url = "https://example.com/help/sign-in"
    login_command = "mycli login"

Command-line flags win over the profile, the profile over the defaults.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from loginkit.core._exceptions import ConfigError
from loginkit.core._profiles import redirect_problem
from loginkit.core._safefs import open_regular

PROFILES_FILE_NAME = "loginkit.toml"
_TEXT_FIELDS = (
    "issuer",
    "client_id",
    "redirect_host",
    "redirect_path",
    "app_name",
    "help_url",
    "login_command",
)


@dataclass(frozen=True)
class NamedProfile:
    """One ``[profiles.NAME]`` table; a field left out is None (the defaults apply)."""

    name: str
    issuer: str | None = None
    client_id: str | None = None
    scope: str | None = None
    redirect_host: str | None = None
    redirect_path: str | None = None
    port: int | None = None
    app_name: str | None = None
    help_url: str | None = None
    login_command: str | None = None


def load_named_profile(directory: Path, name: str) -> NamedProfile:
    """The profile ``name`` from ``directory/loginkit.toml``. Raises :class:`ConfigError` saying
    what is wrong (no file, no such profile, a field of the wrong type): a profile asked for by
    name never silently falls back to the defaults."""
    import os
    import tomllib

    path = directory / PROFILES_FILE_NAME
    try:
        fd = open_regular(path, os.O_RDONLY)
    except FileNotFoundError:
        raise ConfigError(f"--profile {name}: {path} does not exist") from None
    except OSError as exc:
        raise ConfigError(f"failed to read {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "rb") as handle:
            data = tomllib.load(handle)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    profiles = data.get("profiles")
    table = profiles.get(name) if isinstance(profiles, dict) else None
    if not isinstance(table, dict):
        known = ", ".join(sorted(profiles)) if isinstance(profiles, dict) else "none"
        raise ConfigError(f"{path} has no profile {name!r} (profiles: {known})")
    values: dict[str, object] = {}
    for key in _TEXT_FIELDS:
        value = table.get(key)
        if value is not None and not (isinstance(value, str) and value):
            raise ConfigError(f"{path}: profiles.{name}.{key} must be a non-empty string")
        values[key] = value
    scopes = table.get("scopes")
    if isinstance(scopes, list) and all(isinstance(s, str) and s for s in scopes):
        values["scope"] = " ".join(scopes)
    elif isinstance(scopes, str) and scopes.strip():
        values["scope"] = " ".join(scopes.split())
    elif scopes is not None:
        raise ConfigError(f"{path}: profiles.{name}.scopes must be a list of strings or a string")
    port = table.get("port")
    if port is not None and (
        isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535
    ):
        raise ConfigError(f"{path}: profiles.{name}.port must be a port number (0-65535)")
    host = values["redirect_host"] or "127.0.0.1"
    path_value = values["redirect_path"] or "/auth/callback"
    problem = redirect_problem(str(host), str(path_value))
    if problem is not None:
        raise ConfigError(f"{path}: profiles.{name}: {problem}")
    return NamedProfile(name=name, port=port, **values)  # type: ignore[arg-type]
