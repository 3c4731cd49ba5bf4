"""What the fast paths (``loginkit token``, ``loginkit login status``) read, with only builtin
modules: the home directory, a trusted ``auth.json`` and the payload of a JWT.

Every function answers only the plain case and returns None (or :data:`DEFER`) for anything else,
so the caller hands the command to the full CLI, which decides, refuses or warns with its own
words. The distrust rules are the full CLI's (``check_home``, ``FileStore``), never looser: a home
owned by someone else or writable by group or others, an ``auth.json`` that is a symbolic link, a
FIFO, not ours, or readable by others (the full CLI tightens it and warns), a ``config.toml`` of
any kind (even a dangling link: the full CLI reports it).

Import cost is the point: ``json`` and ``base64`` import ``re`` and ``struct`` (about 8 ms, half a
bare interpreter's start), so JSON goes through :mod:`loginkit.core._lightjson` (``_json``'s C
scanner, the one ``json.loads`` itself uses), and base64url through ``binascii``, the decoder
under ``base64``.
"""

import os
import stat

from loginkit.core._lightjson import DEFER, loads

#: Returned by :func:`read_auth` when the home holds no ``auth.json`` (not an empty object:
#: ``{}`` in the file is an error the full CLI reports).
NO_FILE = object()

_URLSAFE = bytes.maketrans(b"-_", b"+/")


def fast_home(codex_home: str | None) -> str | None:
    """The home directory the full CLI would use for ``token`` and ``login status``, as the
    string it would print, when that home exists and is trusted; else None (the full CLI
    resolves, creates or refuses it).

    ``codex_home`` is ``--codex-home`` (resolved like ``Path.resolve``); without it
    ``$CODEX_HOME`` (``~`` left to pathlib: None), else ``~/.codex`` as ``Path.home()`` gives it.

    This is the ONE place the fast paths decide where credentials live. When a profile keeps its
    credentials elsewhere (an XDG directory for generic profiles) or ``auth.json`` grows fields
    the full CLI acts on (issuer, expiry), change this function and :func:`read_auth` together
    with ``store/_home.py``: a caller's likely mistake is a fast path that reads a home the full
    CLI would not, and prints credentials from the wrong place. When in doubt, return None.
    """
    if codex_home is not None:
        home = os.path.realpath(codex_home)
    else:
        env = os.environ.get("CODEX_HOME", "")
        if env.startswith("~"):
            return None
        if env:
            home = os.path.realpath(env)
        else:
            home = os.path.join(os.path.expanduser("~"), ".codex")
            # pathlib would normalise anything else (a relative, "//" or unexpanded HOME).
            if not home.startswith("/") or home.startswith("//") or os.path.normpath(home) != home:
                return None
    try:
        info = os.stat(home)
    except (OSError, ValueError):
        return None
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o022:
        return None
    if os.path.lexists(os.path.join(home, "config.toml")):
        return None  # the store mode and more are config.toml's: the full CLI reads it
    return home


def read_auth(home: str) -> dict[str, object] | object | None:
    """``auth.json`` of ``home`` (from :func:`fast_home`) as a JSON object, :data:`NO_FILE` when
    there is none, None for anything the full CLI would refuse, warn about or report (not ours, group
    or world bits, not a regular file, unreadable, not UTF-8, not a JSON object)."""
    try:
        # O_NOFOLLOW: a planted link is never followed; O_NONBLOCK: a FIFO is never waited on.
        fd = os.open(os.path.join(home, "auth.json"), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return NO_FILE
    except (OSError, ValueError):
        return None
    found = os.fstat(fd)
    # Checked on the descriptor before anything else (open() of a directory raises, a FIFO
    # would be waited on): only a 0600 regular file of ours.
    if not stat.S_ISREG(found.st_mode) or found.st_uid != os.geteuid() or found.st_mode & 0o077:
        os.close(fd)
        return None
    with open(fd, encoding="utf-8") as handle:
        try:
            text = handle.read()
        except (OSError, ValueError):
            return None
    auth = loads(text)
    return auth if isinstance(auth, dict) else None


def jwt_payload(token: str) -> dict[str, object] | object | None:
    """The payload object of a JWT as ``oauth/_idtoken.py`` ``decode_jwt_payload`` reads it
    (no signature check), None where that raises ``JwtFormatError`` for a token that is no JWT,
    :data:`DEFER` for any other doubt (an unusual encoding, a payload that is not an object)."""
    parts = token.split(".")
    if len(parts) != 3 or not all(parts):
        return None
    import binascii

    segment = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        raw = binascii.a2b_base64(segment.encode("ascii").translate(_URLSAFE))
    except (binascii.Error, ValueError):
        return None
    # json.loads(bytes) guesses UTF-16/32 from NUL bytes: only a plain UTF-8 object is ours.
    if not raw.startswith(b"{") or raw[1:2] == b"\0":
        return DEFER
    try:
        text = raw.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError:
        return DEFER
    payload = loads(text)
    return payload if isinstance(payload, dict) else DEFER
