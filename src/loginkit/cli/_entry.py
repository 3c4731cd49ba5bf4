"""The ``loginkit`` executable: fast paths for ``loginkit token`` and the sign-in link, else the
full CLI.

Scripts call ``loginkit token`` in loops and from many shells at once. When the stored access
token (or API key) is usable as it is, this answers with only builtin modules loaded (``os``,
``sys``, ``_json``, ``binascii``, ``time``: see :mod:`loginkit.cli._fastauth`), within about a
millisecond of a bare ``python -c pass``. ``loginkit login status`` with the file store has the
same kind of path (:mod:`loginkit.cli._faststatus`). Anything else (a token to refresh, a keyring
store, a config.toml, an unusual flag, any error) goes to the full CLI, which prints exactly the same thing plus the fix.

A stored token holding anything a bearer token cannot (RFC 6750 ``b64token``: controls, spaces,
escape sequences) is never printed here either: the full CLI refuses it with its message.

Every path ends quietly: a reader that closed the pipe (``loginkit token | head -c1``) ends the
command with :data:`EXIT_BROKEN_PIPE` and Ctrl-C with :data:`EXIT_INTERRUPTED`, never a traceback.
"""

import os
import sys

#: ``loginkit`` after its output pipe was closed by the reader: 128 + SIGPIPE, what a shell
#: reports for ``cat`` or ``grep`` killed by that signal (Python ignores SIGPIPE, so we say it).
EXIT_BROKEN_PIPE = 141
#: ``loginkit`` stopped by Ctrl-C (SIGINT), 128 + 2 (as cli/_context.py's EXIT_INTERRUPTED).
EXIT_INTERRUPTED = 130

#: RFC 6750 ``b64token`` characters (``=`` only at the end); checked without ``re``.
_B64TOKEN = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/")


def _is_bearer_token(token: str) -> bool:
    body = token.rstrip("=")
    return bool(body) and all(c in _B64TOKEN for c in body)


def _fast_token(argv: list[str]) -> str | None:
    """The token to print, or None when the full CLI must decide."""
    if not argv or argv[0] != "token":
        return None
    codex_home = None
    min_validity = 60.0
    rest = argv[1:]
    while rest:
        flag = rest.pop(0)
        if flag == "--codex-home" and rest:
            codex_home = rest.pop(0)
        elif flag == "--store" and rest and rest[0] == "file":
            rest.pop(0)
        elif flag == "--min-validity" and rest:
            try:
                min_validity = float(rest.pop(0))
            except ValueError:
                return None
        else:
            return None
    from loginkit.cli._fastauth import fast_home, jwt_payload, read_auth

    # Only a home and an auth.json the full CLI would accept silently (see _fastauth).
    home = fast_home(codex_home)
    auth = read_auth(home) if home is not None else None
    if not isinstance(auth, dict):
        return None
    key = auth.get("OPENAI_API_KEY")
    mode = auth.get("auth_mode") or ("apikey" if key is not None else "chatgpt")
    if mode == "apikey":
        return key if isinstance(key, str) and _is_bearer_token(key) else None
    tokens = auth.get("tokens")
    access = tokens.get("access_token") if isinstance(tokens, dict) else None
    if not isinstance(access, str) or access.count(".") != 2 or not _is_bearer_token(access):
        return None
    claims = jwt_payload(access)
    exp = claims.get("exp") if isinstance(claims, dict) else None
    if not isinstance(exp, int) or isinstance(exp, bool):
        return None
    import time

    if exp - time.time() < min_validity:
        return None
    return access


def main(argv: list[str] | None = None) -> int:
    """Run ``loginkit``; a closed output pipe and Ctrl-C end it quietly with their exit codes."""
    try:
        return _main(argv)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        _silence_stdio()
        return EXIT_BROKEN_PIPE


def _silence_stdio() -> None:
    """Point stdout and stderr at /dev/null, so the interpreter's final flush of what is still
    buffered for the closed pipe raises nothing ("Exception ignored ... BrokenPipeError")."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    for stream in (sys.stdout, sys.stderr):
        try:
            os.dup2(devnull, stream.fileno())
        except (OSError, ValueError, AttributeError):
            continue
    os.close(devnull)


def _main(argv: list[str] | None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if list(args) in (["--version"], ["-V"]):
        # Without argparse and the CLI (~20 ms): only the package metadata is read.
        import loginkit

        sys.stdout.write(f"loginkit {loginkit.__version__}\n")
        sys.stdout.flush()
        return 0
    token = _fast_token(list(args))
    if token is not None:
        sys.stdout.write(token + "\n")
        sys.stdout.flush()
        return 0
    if list(args[:2]) == ["login", "status"]:
        from loginkit.cli._faststatus import fast_status

        code = fast_status(list(args))
        if code is not None:
            return code
    if args and args[0] == "login":
        from loginkit.cli._linkfirst import fast_login

        code = fast_login(list(args))
        if code is not None:
            return code
    from loginkit.cli._main import main as full_main

    return full_main(args)
