"""``login --with-api-key``, ``login status``, ``logout`` and ``token``: rendering and exit codes.

Human text goes to stderr (as the Codex CLI does); stdout carries only what a script asked for:
the token of ``loginkit token``, or JSON with ``--json``. None of these print a secret otherwise.
Every human line passes :func:`~loginkit.core._sanitize.for_terminal` (claims, store warnings and
provider errors are outside text), and ``loginkit token`` prints only a token that is a valid
RFC 6750 ``b64token``.
"""

from __future__ import annotations

import argparse
import sys
import time

from loginkit.cli._context import EXIT_FAILURE, EXIT_OK, context_or_exit
from loginkit.cli._faststatus import status_lines as status_lines  # noqa: PLC0414 (re-export)
from loginkit.core._profiles import OPENAI
from loginkit.core._sanitize import bearer_token_problem, for_terminal

#: ``loginkit login status`` exit codes (the first two shared with its fast path).
STATUS_LOGGED_IN = 0
STATUS_NOT_LOGGED_IN = 1
STATUS_ERROR = 2
#: The provider rejected the refresh token for good: credentials are stored, but useless.
STATUS_SIGNED_OUT = 3
#: ``loginkit logout``: removed here, but the provider did not revoke the tokens (RFC 7009).
LOGOUT_NOT_REVOKED = 2

API_KEY_SAVED = "API key saved. Authentication is checked when you send a request."


def _say(text: str) -> None:
    """One line for people on stderr, through the last terminal guard."""
    print(for_terminal(text), file=sys.stderr)


def malformed_token_message(problem: str) -> str:
    """The refusal of ``loginkit token`` for a stored token no bearer token can be."""
    return (
        f"Error: The access token from the auth server is malformed ({problem}); it was not"
        f" printed. Run `{OPENAI.login_command}` to sign in again."
    )


def _pipe_hint() -> str:
    return f"printenv OPENAI_API_KEY | {OPENAI.login_command} --with-api-key"


def run_api_key_login(args: argparse.Namespace) -> int:
    err = sys.stderr
    if args.api_key is not None:
        _say(
            "The --api-key flag is no longer supported. Pipe the key instead, e.g."
            f" `{_pipe_hint()}`."
        )
        return EXIT_FAILURE
    # Like Codex, stdin is read before configuration is loaded.
    if sys.stdin is None or sys.stdin.isatty():
        _say(f"--with-api-key expects the API key on stdin. Try piping it, e.g. `{_pipe_hint()}`.")
        return EXIT_FAILURE
    _say("Reading API key from stdin...")
    try:
        key = sys.stdin.read().strip()
    except (OSError, UnicodeDecodeError) as exc:
        _say(f"Failed to read API key from stdin: {exc}")
        return EXIT_FAILURE
    if not key:
        _say("No API key provided via stdin.")
        return EXIT_FAILURE
    ctx = context_or_exit(args)
    if isinstance(ctx, int):
        return ctx
    if ctx.config.forced_login_method == "chatgpt":
        _say("API key login is disabled. Use ChatGPT login instead.")
        return EXIT_FAILURE
    from loginkit.core._exceptions import LoginkitError
    from loginkit.core._log import install_login_log, log_event
    from loginkit.store._credentials import login_with_api_key

    log = install_login_log(ctx.codex_home / "log", warn=err, file_name=ctx.log_file)
    try:
        import logging

        log_event(logging.getLogger("loginkit.cli"), logging.INFO, "starting api key login flow")
        login_with_api_key(key, ctx.codex_home, ctx.store_mode)
    except LoginkitError as exc:
        _say(f"Error logging in: {exc}")
        return EXIT_FAILURE
    finally:
        if log is not None:
            log.close()
    _say(API_KEY_SAVED)
    return EXIT_OK


def run_status(args: argparse.Namespace) -> int:
    ctx = context_or_exit(args)
    if isinstance(ctx, int):
        return STATUS_ERROR
    from loginkit.core._exceptions import LoginkitError
    from loginkit.store._credentials import login_status

    try:
        status = login_status(ctx.codex_home, ctx.store_mode)
    except LoginkitError as exc:
        _say(f"Error checking login status: {exc}")
        return STATUS_ERROR
    if status.signed_out:
        code = STATUS_SIGNED_OUT
    else:
        code = STATUS_LOGGED_IN if status.logged_in else STATUS_NOT_LOGGED_IN
    if args.json:
        import dataclasses
        import json

        record = {"logged_in": status.logged_in, **dataclasses.asdict(status)}
        print(json.dumps(record))  # ensure_ascii: every unsafe character is a \u escape
        return code
    for line in status_lines(status, time.time()):
        _say(line)
    return code


def run_logout(args: argparse.Namespace) -> int:
    ctx = context_or_exit(args)
    if isinstance(ctx, int):
        return ctx
    from loginkit.core._exceptions import LoginkitError
    from loginkit.store._credentials import logout

    try:
        result = logout(ctx.codex_home, ctx.store_mode)
    except LoginkitError as exc:
        _say(f"Error logging out: {exc}")
        return EXIT_FAILURE
    for warning in [*result.warnings, *result.revocation_failures]:
        _say(f"Warning: {warning}")
    _say("Successfully logged out" if result.removed else "Not logged in")
    # Deleted here, but the provider may still honour the tokens: a script must be able to tell.
    return LOGOUT_NOT_REVOKED if result.revocation_failures else EXIT_OK


def run_token(args: argparse.Namespace) -> int:
    ctx = context_or_exit(args)
    if isinstance(ctx, int):
        return ctx
    from loginkit.core._exceptions import LoginkitError, NotLoggedInError
    from loginkit.core._log import install_login_log
    from loginkit.store._credentials import get_access_token

    # A refresh is logged; a home that does not exist has nothing to refresh and stays absent.
    log = (
        install_login_log(ctx.codex_home / "log", warn=sys.stderr, file_name=ctx.log_file)
        if ctx.codex_home.is_dir()
        else None
    )
    try:
        token = get_access_token(ctx.codex_home, ctx.store_mode, min_validity=args.min_validity)
    except NotLoggedInError:
        _say(f"Error: Not logged in. Run `{OPENAI.login_command}` to sign in.")
        return EXIT_FAILURE
    except LoginkitError as exc:
        _say(f"Error: {exc}")
        return EXIT_FAILURE
    finally:
        if log is not None:
            log.close()
    problem = bearer_token_problem(token)
    if problem is not None:
        # An escape sequence in a "token" would reach the terminal or the script that reads it.
        _say(malformed_token_message(problem))
        return EXIT_FAILURE
    sys.stdout.write(token + "\n")
    sys.stdout.flush()
    return EXIT_OK
