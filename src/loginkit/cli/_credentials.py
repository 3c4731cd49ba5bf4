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
from typing import TYPE_CHECKING

from loginkit.cli._context import EXIT_FAILURE, EXIT_OK, context_or_exit
from loginkit.core._profiles import OPENAI
from loginkit.core._sanitize import bearer_token_problem, for_terminal, sanitize

if TYPE_CHECKING:
    from loginkit.store._credentials import LoginStatus

#: ``loginkit login status`` exit codes.
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

    log = install_login_log(ctx.codex_home / "log", warn=err)
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


def _describe_expiry(expires_at: int, now: float) -> str:
    when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(expires_at))
    seconds = int(expires_at - now)
    if seconds <= 0:
        return f"expired {when} (refreshed on next use)"
    if seconds < 120:
        left = f"{seconds} s"
    elif seconds < 7200:
        left = f"{seconds // 60} min"
    else:
        left = f"{seconds // 3600} h {seconds % 3600 // 60} min"
    return f"valid until {when} (in {left})"


def status_lines(status: LoginStatus, now: float) -> list[str]:
    if status.mode is None:
        return ["Not logged in", f"  Store: {status.store}"]
    if status.mode == "apikey":
        return [f"Logged in using an API key - {status.masked_api_key}", f"  Store: {status.store}"]
    if status.mode == "oidc":
        return _provider_status_lines(status, now)
    lines = ["Logged in using ChatGPT"]
    # id_token claims are the provider's text: sanitized (escaped, cut) where they enter the line.
    who = sanitize(status.email, limit=200) if status.email else "unknown account"
    details = [f"account {sanitize(status.account_id, limit=200)}" if status.account_id else None]
    details.append(f"plan {sanitize(status.plan, limit=100)}" if status.plan else None)
    extra = ", ".join(d for d in details if d)
    lines.append(f"  Account: {who}" + (f" ({extra})" if extra else ""))
    if status.signed_out:
        lines.append(
            f"  Signed out: the server rejected the refresh token; run `{OPENAI.login_command}`"
            " to sign in again"
        )
    elif status.access_token_expires_at is not None:
        lines.append(f"  Access token: {_describe_expiry(status.access_token_expires_at, now)}")
    elif status.last_refresh:
        lines.append(f"  Access token: last refreshed {status.last_refresh}")
    lines.append(f"  Store: {status.store}")
    return lines


def _provider_status_lines(status: LoginStatus, now: float) -> list[str]:
    """A sign-in at any provider but Codex's: its words, none of Codex's or ChatGPT's."""
    issuer = sanitize(status.issuer or "an unknown provider", limit=300)
    if status.email:
        who = sanitize(status.email, limit=200)
    elif status.subject:
        who = f"subject {sanitize(status.subject, limit=200)}"
    else:
        who = "an unknown account"
    if status.signed_out:
        lines = [
            f"Signed out: {issuer} rejected the refresh token",
            f"  Account: {who}",
            f"  Fix: sign in again (`loginkit login --issuer {issuer}`)",
        ]
    else:
        lines = [f"Signed in to {issuer}", f"  Account: {who}"]
        if status.access_token_expires_at is not None:
            expiry = _describe_expiry(status.access_token_expires_at, now)
            lines.append(f"  Access token: {expiry}")
        elif status.last_refresh:
            lines.append(f"  Access token: last refreshed {status.last_refresh}")
    lines.append(f"  Store: {status.store}")
    return lines


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
        install_login_log(ctx.codex_home / "log", warn=sys.stderr)
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
