"""Where credentials live: the home directory and the store mode. Import-light (start-up path)."""

from __future__ import annotations

import enum
import os
from collections.abc import Mapping
from pathlib import Path

from loginkit.core._exceptions import CodexHomeError
from loginkit.core._safefs import make_private_dirs, unsafe_reason


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


def check_home(path: Path) -> None:
    """Refuse (:class:`CodexHomeError`) a home directory another user could plant credentials,
    config or symbolic links in: owned by another user, or writable by group or others, like
    ssh's StrictModes. A home that does not exist yet passes (it will be created 0700).

    The caller's likely mistake is to check only where credentials are written: ``status`` and
    ``token`` read what is there, so every command that uses the home calls this first.
    """
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise CodexHomeError(f"cannot check {path}: {exc.strerror or exc}") from None
    reason = unsafe_reason(info)
    if reason is None:
        return
    fix = "chmod go-w" if info.st_uid == os.geteuid() else "chown $(id -u)"
    raise CodexHomeError(
        f"refusing to use {path}: {reason}; another user could plant credentials there"
        f" (fix: {fix} {path})"
    )


def make_home(path: Path) -> None:
    """Create the home directory (and missing parents) 0700 whatever the umask."""
    make_private_dirs(path)


def config_dir(environ: Mapping[str, str] | None = None) -> Path:
    """loginkit's own directory: ``$XDG_CONFIG_HOME/loginkit``, else ``~/.config/loginkit``.
    It holds ``loginkit.toml`` and the homes of every provider but Codex."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_CONFIG_HOME", "")
    root = Path(base) if base and os.path.isabs(base) else Path.home() / ".config"
    return root / "loginkit"


def provider_home(issuer: str, client_id: str, environ: Mapping[str, str] | None = None) -> Path:
    """The home of one issuer + client id of a generic provider: a directory of its own under
    :func:`config_dir`, never ``~/.codex`` (a generic sign-in must not replace Codex's).

    The name is readable (host, path, client id) and ends with a hash of the exact pair, so two
    pairs that read alike never share a directory.
    """
    from urllib.parse import urlsplit

    from loginkit.store._layout import provider_dir_name

    parts = urlsplit(issuer.rstrip("/"))
    name = provider_dir_name(issuer, client_id, parts.hostname, parts.path)
    return config_dir(environ) / "providers" / name
