"""The ``loginkit`` executable: fast paths for ``loginkit token`` and the sign-in link, else the
full CLI.

Scripts call ``loginkit token`` in loops and from many shells at once. When the stored access
token (or API key) is usable as it is, this answers with only ``os``, ``sys``, ``json`` and
``base64`` loaded. Anything else (a token to refresh, a keyring store, a config.toml, an unusual
flag, any error) goes to the full CLI, which prints exactly the same thing plus the fix.
"""

from __future__ import annotations

import os
import sys


def _fast_token(argv: list[str]) -> str | None:
    """The token to print, or None when the full CLI must decide."""
    if not argv or argv[0] != "token":
        return None
    home = None
    min_validity = 60.0
    rest = argv[1:]
    while rest:
        flag = rest.pop(0)
        if flag == "--codex-home" and rest:
            home = rest.pop(0)
        elif flag == "--store" and rest and rest[0] == "file":
            rest.pop(0)
        elif flag == "--min-validity" and rest:
            try:
                min_validity = float(rest.pop(0))
            except ValueError:
                return None
        else:
            return None
    if home is None:
        home = os.environ.get("CODEX_HOME") or os.path.join(os.path.expanduser("~"), ".codex")
    if not os.path.isdir(home) or os.path.exists(os.path.join(home, "config.toml")):
        return None
    import json
    import stat

    try:
        # Only a home and an auth.json the full CLI would accept silently (ours, not writable by
        # others, the file 0600, a regular file: no symlink followed, no FIFO waited on).
        info = os.stat(home)
        fd = os.open(os.path.join(home, "auth.json"), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with open(fd, encoding="utf-8") as handle:
        euid = os.geteuid()
        found = os.fstat(fd)
        if info.st_uid != euid or info.st_mode & 0o022 or found.st_uid != euid:
            return None
        if not stat.S_ISREG(found.st_mode) or found.st_mode & 0o077:
            return None
        try:
            auth = json.load(handle)
        except (OSError, ValueError):
            return None
    if not isinstance(auth, dict):
        return None
    key = auth.get("OPENAI_API_KEY")
    mode = auth.get("auth_mode") or ("apikey" if key is not None else "chatgpt")
    if mode == "apikey":
        return key if isinstance(key, str) and key else None
    tokens = auth.get("tokens")
    access = tokens.get("access_token") if isinstance(tokens, dict) else None
    if not isinstance(access, str) or access.count(".") != 2:
        return None
    import base64
    import time

    payload = access.split(".")[1]
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (ValueError, UnicodeError):
        return None
    exp = claims.get("exp") if isinstance(claims, dict) else None
    if not isinstance(exp, int) or isinstance(exp, bool) or exp - time.time() < min_validity:
        return None
    return access


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    token = _fast_token(list(args))
    if token is not None:
        sys.stdout.write(token + "\n")
        sys.stdout.flush()
        return 0
    if args and args[0] == "login":
        from loginkit.cli._linkfirst import fast_login

        code = fast_login(list(args))
        if code is not None:
            return code
    from loginkit.cli._main import main as full_main

    return full_main(args)
