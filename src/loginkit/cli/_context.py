"""What every subcommand resolves first (home, config.toml, store mode), and the exit codes."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from loginkit.core._exceptions import CodexHomeError

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
    """What every subcommand resolves first: the home directory, config.toml, the store mode."""

    codex_home: Path
    config: LoginConfig
    store_mode: AuthCredentialsStoreMode


def load_context(args: argparse.Namespace) -> Context:
    """Raises :class:`ConfigError` (or ``CodexHomeError``/``OSError``) for "Error loading
    configuration"."""
    from loginkit.store._config import load_config
    from loginkit.store._home import AuthCredentialsStoreMode

    signs_in = args.command == "login" and args.login_command != "status"
    codex_home = _codex_home(args.codex_home, create=signs_in)
    from loginkit.store._authfile import FileStore

    warning = FileStore(codex_home).tighten()
    if warning is not None:
        print(f"Warning: {warning}", file=sys.stderr)
    config = load_config(codex_home)
    mode = AuthCredentialsStoreMode(args.store) if args.store else config.store_mode
    return Context(codex_home, config, mode)


def context_or_exit(args: argparse.Namespace) -> Context | int:
    from loginkit.core._exceptions import ConfigError

    try:
        return load_context(args)
    except (ConfigError, CodexHomeError, OSError) as exc:
        print(f"Error loading configuration: {exc}", file=sys.stderr)
        return EXIT_FAILURE
