"""The sign-in link first: bind, PKCE, state, URL and the link block with light stdlib modules only.

A person is waiting for the link; everything else can wait for the person. For a plain
``loginkit login`` (only ``--port``, ``--no-browser``, ``--codex-home``, ``--issuer``,
``--client-id``, ``--timeout``, ``--store``) :func:`fast_login` binds the port, prints the link,
and only then imports the CLI, which adopts the bound socket, the PKCE pair, the state (and a
generic provider's nonce and discovery document) and goes on exactly as if it had made them.
A generic provider (``--client-id`` other than Codex's) is asked for its discovery document
first, once, by :func:`loginkit.oauth._wellknown.fetch_discovery` (its own home is made here on
a first sign-in). Anything else (another flag, a port that is taken, a ``config.toml`` that
restricts the sign-in, a Codex home to create, a proxy, any doubt) returns None and the full CLI
does everything, with the same texts.

This module and what it imports (:mod:`loginkit.signin._prelinked`, the listener, PKCE, the
authorize URL, the profile constants, the link text, the light discovery GET) import only builtin
modules (``_socket``, ``os``, ``binascii``, ``_sha256``, ``_json``), plus ``ssl`` and
``unicodedata`` for a generic provider's ``https`` document and link: no dataclasses, typing,
logging, pathlib, argparse, asyncio, h11 or HTTP client. The full path uses the same functions
to listen, to build the URL, to check the document and to word the link, so the two cannot
drift.
"""

from __future__ import annotations

import os
import stat
import sys

from loginkit.core import _codex as codex
from loginkit.core import _generic as generic
from loginkit.signin._prelinked import generic_link, link_text, openai_link, prelink

# Not ``typing.TYPE_CHECKING``: typing is not loaded on the way to the link.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from loginkit.signin._prelinked import LinkSpec

STORE_MODES = ("file", "keyring", "auto", "ephemeral")


def _options(argv: list[str]) -> dict[str, str] | None:
    """``login``'s flags when every one is in the simple set, else None."""
    if not argv or argv[0] != "login":
        return None
    found: dict[str, str] = {}
    rest = argv[1:]
    while rest:
        flag = rest.pop(0)
        value: str | None = None
        if "=" in flag and flag.startswith("--"):
            flag, value = flag.split("=", 1)
        if flag == "--no-browser" and value is None:
            found["no-browser"] = ""
            continue
        if flag not in (
            "--port",
            "--codex-home",
            "--issuer",
            "--client-id",
            "--timeout",
            "--store",
        ):
            return None
        if value is None:
            if not rest:
                return None
            value = rest.pop(0)
        if flag[2:] in found or not value or value.startswith("-"):
            return None
        found[flag[2:]] = value
    return found


def _checked(found: dict[str, str]) -> dict[str, str] | None:
    """The same options when argparse would accept them as they are, else None."""
    try:
        port = int(found.get("port", str(codex.DEFAULT_PORT)))
        timeout = float(found.get("timeout", "600"))
    except ValueError:
        return None
    issuer = found.get("issuer", codex.OPENAI_ISSUER)
    client_id = found.get("client-id", codex.OPENAI_CLIENT_ID)
    if not 0 <= port <= 65535 or not timeout >= 0 or found.get("store", "file") not in STORE_MODES:
        return None
    if not issuer.startswith(("http://", "https://")):
        return None
    return {**found, "port": str(port), "issuer": issuer, "client-id": client_id}


def _is_generic(found: dict[str, str]) -> bool:
    """Any client id but Codex's is a generic OpenID Connect client (as ``profile_for``)."""
    return found.get("client-id", codex.OPENAI_CLIENT_ID) != codex.OPENAI_CLIENT_ID


def _home(found: dict[str, str]) -> str | None:
    """The existing home directory the full CLI would use, else None (it creates or reports;
    a ``~`` it expands the way pathlib does is left to it too). A generic provider's is its own
    directory (``--codex-home`` still wins), never ``$CODEX_HOME``; a first sign-in creates it
    here as the full CLI would (missing parents too, each 0700 whatever the umask)."""
    home = found.get("codex-home") or ""
    if not home and _is_generic(found):
        from loginkit.core._safefs import make_private_dirs
        from loginkit.store._layout import light_provider_home

        home = light_provider_home(found["issuer"], found["client-id"]) or ""
        try:
            if home and not os.path.lexists(home):
                make_private_dirs(home)
        except OSError:
            return None  # the full CLI says why it cannot be made
        if not home:
            return None
    home = home or os.environ.get("CODEX_HOME") or ""
    if not home:
        home = os.path.join(os.path.expanduser("~"), ".codex")
    elif "~" in home:
        return None
    try:
        info = os.stat(home)
    except OSError:
        return None
    # Only a home the full CLI accepts silently: a directory of ours that no one else can write
    # (anything else is refused there, with its reason, before a link is printed).
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o022:
        return None
    return home


def _log_opens(home: str, file_name: str = codex.LOG_FILE) -> bool:
    """The login log ``file_name`` can be opened as it is, so the full CLI will print no warning
    (which it prints before the link)."""
    log_dir = os.path.join(home, "log")
    log_file = os.path.join(log_dir, file_name)
    if not os.path.lexists(log_dir):
        return os.access(home, os.W_OK | os.X_OK)
    if not os.path.isdir(log_dir) or not os.access(log_dir, os.W_OK | os.X_OK):
        return False
    if not os.path.lexists(log_file):
        return True
    return (
        os.path.isfile(log_file) and not os.path.islink(log_file) and os.access(log_file, os.W_OK)
    )


def _config_allows(home: str) -> bool:
    """No config.toml, or one that neither restricts this sign-in nor is invalid."""
    path = os.path.join(home, "config.toml")
    try:
        # Never follow a planted link, never wait on a FIFO: anything odd goes to the full CLI.
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return True
    except OSError:
        return False  # unreadable: the full CLI reports it
    if not stat.S_ISREG(os.fstat(fd).st_mode):  # a directory, a FIFO, a device
        os.close(fd)
        return False
    import tomllib

    try:
        with open(fd, "rb") as handle:  # owns fd from here on, closes it
            data = tomllib.load(handle)
    except (OSError, ValueError):
        return False
    return (
        "forced_login_method" not in data
        and "forced_chatgpt_workspace_id" not in data
        and data.get("cli_auth_credentials_store", "file") in STORE_MODES
    )


def _interrupted(found: dict[str, str]) -> int:
    """Ctrl-C before the CLI took over: the same block as the full CLI's, in the words of the
    profile ``found`` names (a generic provider's never say Codex), exit 130."""
    from loginkit.core._categories import LoginFailureCategory, LoginFailurePhase
    from loginkit.core._phases import Failed
    from loginkit.core._profiles import profile_for

    interrupted = Failed(
        LoginFailurePhase.WAIT_FOR_CALLBACK,
        LoginFailureCategory.LOGIN_CANCELLED,
        "Login was interrupted",
    )
    profile = profile_for(found["issuer"], found["client-id"])
    sys.stderr.write(interrupted.render(profile) + "\n")
    return 130


def fast_login(argv: list[str]) -> int | None:
    """Run ``loginkit login`` link-first and return its exit code, or None (nothing done)."""
    found = _options(argv)
    checked = _checked(found) if found is not None else None
    home = _home(checked) if checked is not None else None
    if checked is None or home is None or not _config_allows(home):
        return None
    own_home = _is_generic(checked) and "codex-home" not in checked  # as load_context's
    if not _log_opens(home, generic.LOG_FILE if own_home else codex.LOG_FILE):
        return None
    discovered = None
    spec: LinkSpec = openai_link(checked["issuer"])
    if _is_generic(checked):
        from loginkit.oauth._wellknown import fetch_discovery

        try:
            discovered = fetch_discovery(checked["issuer"])
        except KeyboardInterrupt:
            return _interrupted(checked)
        if discovered is None:
            return None  # not answered here: the full CLI asks and words what went wrong
        if discovered.document is not None:
            endpoint = discovered.document["authorization_endpoint"]
            if not isinstance(endpoint, str):  # checked by fetch_discovery; for the type checker
                return None
            spec = generic_link(endpoint, checked["client-id"])
    # A discovery that failed as the full client's would (nothing to link to), or a port that
    # cannot be had: the full CLI reports or retries, and the provider is not asked again.
    usable = discovered is None or discovered.document is not None
    ready = prelink(int(checked["port"]), spec) if usable else None
    if ready is None:
        if discovered is None:
            return None
        from loginkit.cli._main import main as full_main

        return full_main(argv, discovered=discovered)
    ready.discovered = discovered
    try:
        if discovered is not None:
            from loginkit.core._sanitize import sanitize_link

            # A discovered endpoint is outside text: controls and spaces are shown escaped.
            block = link_text(sanitize_link(ready.auth_url), generic.DEVICE_LOGIN_COMMAND)
        else:
            block = link_text(ready.auth_url, codex.DEVICE_LOGIN_COMMAND)
        sys.stderr.write(block + "\n")
        sys.stderr.flush()
        from loginkit.cli._main import main as full_main
    except KeyboardInterrupt:
        # Ctrl-C while the rest of loginkit was still loading (once the run is going, the CLI
        # handles it): nothing to undo but the port.
        ready.close()
        return _interrupted(checked)
    # From here on the CLI handles Ctrl-C itself, exactly as without the link-first start.
    return full_main(argv, prelinked=ready)
