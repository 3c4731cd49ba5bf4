"""``login --with-api-key``, ``login status``, ``logout`` and ``token``: rendering and exit codes.

Human text goes to stderr (as the Codex CLI does); stdout carries only what a script asked for:
the token of ``loginkit token``, or JSON with ``--json``. None of these print a secret otherwise.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import TYPE_CHECKING

from loginkit.cli._context import EXIT_FAILURE, EXIT_OK, context_or_exit
from loginkit.core._profiles import OPENAI

if TYPE_CHECKING:
    from loginkit.store._credentials import LoginStatus

#: ``loginkit login status`` exit codes.
STATUS_LOGGED_IN = 0
STATUS_NOT_LOGGED_IN = 1
STATUS_ERROR = 2

API_KEY_SAVED = "API key saved. Authentication is checked when you send a request."


def _pipe_hint() -> str:
    return f"printenv OPENAI_API_KEY | {OPENAI.login_command} --with-api-key"


def run_api_key_login(args: argparse.Namespace) -> int:
    err = sys.stderr
    if args.api_key is not None:
        print(
            "The --api-key flag is no longer supported. Pipe the key instead, e.g."
            f" `{_pipe_hint()}`.",
            file=err,
        )
        return EXIT_FAILURE
    # Like Codex, stdin is read before configuration is loaded.
    if sys.stdin is None or sys.stdin.isatty():
        print(
            f"--with-api-key expects the API key on stdin. Try piping it, e.g. `{_pipe_hint()}`.",
            file=err,
        )
        return EXIT_FAILURE
    print("Reading API key from stdin...", file=err)
    try:
        key = sys.stdin.read().strip()
    except (OSError, UnicodeDecodeError) as exc:
        print(f"Failed to read API key from stdin: {exc}", file=err)
        return EXIT_FAILURE
    if not key:
        print("No API key provided via stdin.", file=err)
        return EXIT_FAILURE
    ctx = context_or_exit(args)
    if isinstance(ctx, int):
        return ctx
    if ctx.config.forced_login_method == "chatgpt":
        print("API key login is disabled. Use ChatGPT login instead.", file=err)
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
        print(f"Error logging in: {exc}", file=err)
        return EXIT_FAILURE
    finally:
        if log is not None:
            log.close()
    print(API_KEY_SAVED, file=err)
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
    lines = ["Logged in using ChatGPT"]
    who = status.email or "unknown account"
    details = [f"account {status.account_id}" if status.account_id else None]
    details.append(f"plan {status.plan}" if status.plan else None)
    extra = ", ".join(d for d in details if d)
    lines.append(f"  Account: {who}" + (f" ({extra})" if extra else ""))
    if status.access_token_expires_at is not None:
        lines.append(f"  Access token: {_describe_expiry(status.access_token_expires_at, now)}")
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
        print(f"Error checking login status: {exc}", file=sys.stderr)
        return STATUS_ERROR
    code = STATUS_LOGGED_IN if status.logged_in else STATUS_NOT_LOGGED_IN
    if args.json:
        import dataclasses
        import json

        record = {"logged_in": status.logged_in, **dataclasses.asdict(status)}
        print(json.dumps(record))
        return code
    for line in status_lines(status, time.time()):
        print(line, file=sys.stderr)
    return code


def run_logout(args: argparse.Namespace) -> int:
    ctx = context_or_exit(args)
    if isinstance(ctx, int):
        return ctx
    from loginkit.core._exceptions import LoginkitError
    from loginkit.store._credentials import logout

    try:
        result = logout(ctx.codex_home)
    except LoginkitError as exc:
        print(f"Error logging out: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    for warning in result.warnings:
        print(f"Warning: {warning}", file=sys.stderr)
    print("Successfully logged out" if result.removed else "Not logged in", file=sys.stderr)
    return EXIT_OK


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
        print(f"Error: Not logged in. Run `{OPENAI.login_command}` to sign in.", file=sys.stderr)
        return EXIT_FAILURE
    except LoginkitError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    finally:
        if log is not None:
            log.close()
    sys.stdout.write(token + "\n")
    sys.stdout.flush()
    return EXIT_OK
