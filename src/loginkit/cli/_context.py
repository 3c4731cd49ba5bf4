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
    """``--codex-home`` (created, 0700, only by a sign-in: ``status``, ``token`` and ``logout``
    must not turn a typo into a new empty home), else ``$CODEX_HOME`` or ``~/.codex``."""
    if arg is not None:
        if arg.exists() and not arg.is_dir():
            raise CodexHomeError(
                f"--codex-home points to {str(arg)!r}, but that is not a directory"
            )
        if create:
            arg.mkdir(parents=True, exist_ok=True, mode=0o700)
        return arg.resolve()
    from loginkit.store._home import find_codex_home

    return find_codex_home()


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
