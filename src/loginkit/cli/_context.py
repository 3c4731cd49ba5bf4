"""What every subcommand resolves first (home, config.toml, store mode), and the exit codes."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loginkit.core._codex import LOG_FILE as CODEX_LOG_FILE
from loginkit.core._exceptions import CodexHomeError
from loginkit.core._profiles import (
    DEFAULT_PORT,
    OPENAI,
    OPENAI_CLIENT_ID,
    OPENAI_ISSUER,
    Profile,
)

if TYPE_CHECKING:
    from loginkit.store._config import LoginConfig
    from loginkit.store._home import AuthCredentialsStoreMode

SUCCESS_MESSAGE = "Signed in. You're good to go."
EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_INTERRUPTED = 130


def _codex_home(arg: Path | None, *, create: bool) -> Path:
    """``--codex-home`` (created, 0700 whatever the umask, only by a sign-in: ``status``, ``token``
    and ``logout`` must not turn a typo into a new empty home), else ``$CODEX_HOME`` or
    ``~/.codex``; refused (:class:`CodexHomeError`) when another user owns it or group or others
    can write to it, like ssh's StrictModes."""
    from loginkit.store._home import check_home, find_codex_home, make_home

    if arg is not None:
        if arg.exists() and not arg.is_dir():
            raise CodexHomeError(
                f"--codex-home points to {str(arg)!r}, but that is not a directory"
            )
        if create:
            make_home(arg)
        home = arg.resolve()
    else:
        home = find_codex_home()
    check_home(home)
    return home


@dataclass
class Context:
    """What every subcommand resolves first: the provider (issuer, client id, profile and its
    words), the home directory of that provider's record, config.toml, the store mode."""

    codex_home: Path
    config: LoginConfig
    store_mode: AuthCredentialsStoreMode
    issuer: str = OPENAI_ISSUER
    client_id: str = OPENAI_CLIENT_ID
    profile: Profile = OPENAI
    #: The loopback port a sign-in asks for (``--port``, else the named profile's, else 1455).
    port: int = DEFAULT_PORT
    #: The login log's name in ``<home>/log``: the Codex CLI's in a Codex-style home (so both
    #: programs append to one file), ``loginkit-login.log`` in a provider home of loginkit's own.
    log_file: str = CODEX_LOG_FILE


def resolve_provider(args: argparse.Namespace) -> tuple[str, str, Profile, int]:
    """Issuer, client id, profile and port from the flags, ``--profile`` and the defaults (flags
    win over the named profile, the named profile over the defaults)."""
    import dataclasses

    from loginkit.core._profiles import profile_for

    named = None
    name = getattr(args, "profile", None)
    if name:
        from loginkit.store._home import config_dir
        from loginkit.store._named import load_named_profile

        named = load_named_profile(config_dir(), name)
    issuer = getattr(args, "issuer", None) or (named and named.issuer) or OPENAI_ISSUER
    client_id = getattr(args, "client_id", None) or (named and named.client_id) or OPENAI_CLIENT_ID
    profile = profile_for(issuer, client_id)
    changes: dict[str, Any] = {}
    if named is not None:
        for field in ("redirect_host", "redirect_path", "app_name", "help_url", "login_command"):
            value = getattr(named, field)
            if value is not None:
                changes[field] = value
        if named.scope is not None:
            changes["scope"] = named.scope
        if named.login_command is not None:
            changes["device_login_command"] = f"{named.login_command} --device-auth"
    scope = getattr(args, "scope", None)
    if scope:
        changes["scope"] = " ".join(scope.split())
    if changes:
        profile = dataclasses.replace(profile, **changes)
    port = getattr(args, "port", None)
    if port is None:
        port = named.port if named is not None and named.port is not None else DEFAULT_PORT
    return issuer, client_id, profile, port


def load_context(args: argparse.Namespace) -> Context:
    """Raises :class:`ConfigError` (or ``CodexHomeError``/``OSError``) for "Error loading
    configuration"."""
    from loginkit.store._config import load_config
    from loginkit.store._home import AuthCredentialsStoreMode

    signs_in = args.command == "login" and args.login_command != "status"
    issuer, client_id, profile, port = resolve_provider(args)
    explicit = getattr(args, "codex_home", None)
    log_file = CODEX_LOG_FILE
    if explicit is None and profile.name != "openai":
        from loginkit.core._generic import LOG_FILE
        from loginkit.store._home import provider_home

        # Never ~/.codex: a generic sign-in must not replace the person's Codex credentials.
        explicit = provider_home(issuer, client_id)
        log_file = LOG_FILE
    codex_home = _codex_home(explicit, create=signs_in)
    from loginkit.store._authfile import FileStore

    warning = FileStore(codex_home).tighten()
    if warning is not None:
        print(f"Warning: {warning}", file=sys.stderr)
    config = load_config(codex_home)
    mode = AuthCredentialsStoreMode(args.store) if args.store else config.store_mode
    return Context(codex_home, config, mode, issuer, client_id, profile, port, log_file)


def context_or_exit(args: argparse.Namespace) -> Context | int:
    from loginkit.core._exceptions import ConfigError

    try:
        return load_context(args)
    except (ConfigError, CodexHomeError, OSError) as exc:
        print(f"Error loading configuration: {exc}", file=sys.stderr)
        return EXIT_FAILURE
