"""``loginkit login --device-auth[=auto]``: the headless sign-in, rendered like the browser one.

The prompt goes to stderr (the Codex CLI put it on stdout, with colour codes even in a pipe);
colour only when stderr is a terminal, ``NO_COLOR`` is unset and ``TERM`` is not ``dumb``
(``FORCE_COLOR`` forces it).

On a terminal the link is also shown as a QR code (the RFC 8628 ``verification_uri_complete``
when the provider sent one), for a phone to scan: never in a pipe or ``--json``, never with
``--no-qr``. ``segno`` draws it and is imported only then, so no other command pays for it.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TextIO

from loginkit import __version__
from loginkit.cli._context import (
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    SUCCESS_MESSAGE,
    context_or_exit,
)
from loginkit.cli._render import Renderer
from loginkit.core._categories import DeviceFailureCategory
from loginkit.core._device_phases import expiry_words
from loginkit.core._phases import Failed
from loginkit.core._profiles import Profile
from loginkit.core._sanitize import sanitize, sanitize_link

GRAY, BLUE, RESET = "\x1b[90m", "\x1b[94m", "\x1b[0m"
FALLBACK_NOTICE = "Device code login is not enabled; falling back to browser login."
UNUSABLE_NOTICE = "The device code answer could not be used; falling back to browser login."


def use_color(stream: TextIO, environ: dict[str, str] | os._Environ[str] = os.environ) -> bool:
    if environ.get("NO_COLOR"):
        return False
    if environ.get("FORCE_COLOR"):
        return True
    if environ.get("TERM") == "dumb":
        return False
    return bool(getattr(stream, "isatty", lambda: False)())


#: Light modules around the QR code (the quiet zone a scanner needs, in modules).
QR_BORDER = 2


def qr_code(url: str, columns: int) -> str | None:
    """``url`` as a QR code in Unicode half blocks (two module rows per line; segno draws the
    light modules, as terminals are mostly dark), or None when it cannot be shown: ``segno``
    missing, the URL too long for a QR code, or the code wider than ``columns``. Imports
    ``segno``: call it only when the code is really shown."""
    try:
        import segno
    except ImportError:
        return None
    import io

    try:
        qr = segno.make(url, micro=False, error="l")
    except (ValueError, segno.DataOverflowError):
        return None
    if qr.symbol_size(border=QR_BORDER)[0] > columns:
        return None
    out = io.StringIO()
    qr.terminal(out=out, compact=True, border=QR_BORDER)
    return out.getvalue()


def qr_columns(stream: TextIO, no_qr: bool, json_mode: bool) -> int | None:
    """The columns a QR code may use on ``stream``, or None when none may be shown there: not
    a terminal, ``--json``, ``--no-qr``, ``TERM=dumb`` or an encoding without the block
    characters."""
    if no_qr or json_mode or os.environ.get("TERM") == "dumb":
        return None
    if not getattr(stream, "isatty", lambda: False)():
        return None
    try:
        "█▀▄".encode(getattr(stream, "encoding", None) or "ascii")
    except (UnicodeEncodeError, LookupError):
        return None
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    try:
        return os.get_terminal_size(stream.fileno()).columns or 80
    except (OSError, ValueError, AttributeError):
        return 80


def device_prompt_parts(
    profile: Profile,
    verification_url: str,
    user_code: str,
    color: bool,
    *,
    expires_in: float = 15 * 60,
    complete_url: str | None = None,
    qr: str | None = None,
) -> list[tuple[str, str]]:
    """The Codex CLI's prompt as ``(colour code, text)`` parts; colour codes only when ``color``.

    ``expires_in``: the code's real lifetime (the provider's ``expires_in``), shown next to it;
    the Codex default gives the seed's "15 minutes". ``complete_url`` (RFC 8628
    ``verification_uri_complete``) adds the link that carries the code; ``qr`` (from
    :func:`qr_code`) adds the QR code. Without both, the text is the Codex CLI's.

    The URL and the code come from the provider: they are sanitized here (a ``\\x1b`` or
    ``\\u202e`` shows as such), and the colour codes are only added around the parts after
    that, by :meth:`Renderer.styled` or :func:`device_prompt`.
    """
    gray, blue = (GRAY, BLUE) if color else ("", "")
    tagline = (
        "OpenAI's command-line coding agent"
        if profile.name == "openai"
        else "Sign in from your terminal"
    )
    account = "ChatGPT" if profile.name == "openai" else "your account"
    extra: list[tuple[str, str]] = []
    if complete_url:
        extra += [
            ("", "Or open this link, which fills in the code for you:\n   "),
            (blue, sanitize_link(complete_url)),
            ("", "\n\n"),
        ]
    if qr:
        extra += [("", "Or scan this QR code with your phone:\n\n"), ("", qr), ("", "\n")]
    return [
        ("", f"\nWelcome to {profile.app_name} ["),
        (gray, f"loginkit v{__version__}"),
        ("", "]\n"),
        (gray, tagline),
        ("", "\n\n"),
        ("", f"Follow these steps to sign in with {account} using device code authorization:\n\n"),
        ("", "1. Open this link in your browser and sign in to your account\n   "),
        (blue, sanitize_link(verification_url)),
        ("", "\n\n2. Enter this one-time code "),
        (gray, f"(expires in {expiry_words(expires_in)})"),
        ("", "\n   "),
        (blue, sanitize(user_code, limit=64)),
        ("", "\n\n"),
        *extra,
        (gray, "Device codes are a common phishing target. Never share this code."),
        ("", "\n"),
    ]


def device_prompt(
    profile: Profile,
    verification_url: str,
    user_code: str,
    color: bool,
    *,
    expires_in: float = 15 * 60,
    complete_url: str | None = None,
    qr: str | None = None,
) -> str:
    """The prompt text of :func:`device_prompt_parts` (same arguments); colour codes only when
    ``color``, added after sanitizing."""
    parts = device_prompt_parts(
        profile,
        verification_url,
        user_code,
        color,
        expires_in=expires_in,
        complete_url=complete_url,
        qr=qr,
    )
    return "".join(f"{style}{text}{RESET}" if style else text for style, text in parts)


def run_device_login(args: argparse.Namespace) -> int:
    from loginkit.cli._login import browser_login, browser_options
    from loginkit.core._exceptions import DeviceLoginError
    from loginkit.core._log import install_login_log, log_event
    from loginkit.signin._device import (
        DeviceLoginOptions,
        complete_device_code_login,
        request_device_code,
    )
    from loginkit.signin._options import ServerOptions

    ctx = context_or_exit(args)
    if isinstance(ctx, int):
        return ctx
    err = sys.stderr
    auto = args.device_auth == "auto"
    # The fallback's options are checked before anything starts, with the browser flow's rules.
    fallback: ServerOptions | None = None
    if auto:
        checked = browser_options(args, ctx)
        if isinstance(checked, str):
            print(checked, file=err)
            return EXIT_FAILURE
        checked.open_browser = False
        fallback = checked
    log = install_login_log(ctx.codex_home / "log", warn=err, file_name=ctx.log_file)
    try:
        import logging

        log_event(
            logging.getLogger("loginkit.cli"),
            logging.INFO,
            "starting login flow with device code fallback"
            if auto
            else "starting device code login flow",
        )
        if ctx.config.forced_login_method == "api":
            print("ChatGPT login is disabled. Use API key login instead.", file=err)
            return EXIT_FAILURE
        workspace = args.workspace_id or ctx.config.forced_chatgpt_workspace_id
        opts = DeviceLoginOptions(
            codex_home=ctx.codex_home,
            issuer=ctx.issuer,
            client_id=ctx.client_id,
            profile=ctx.profile,
            store_mode=ctx.store_mode,
            forced_chatgpt_workspace_id=workspace,
            replace_other_record=args.replace,
        )
        profile = opts.resolved_profile

        def fallback_says_it(failure: Failed) -> bool:
            return auto and failure.category is DeviceFailureCategory.DEVICE_CODE_UNAVAILABLE

        renderer = Renderer(
            profile, json_mode=args.json, err=err, out=sys.stdout, hide=fallback_says_it
        )
        try:
            code = request_device_code(opts, renderer)
            columns = qr_columns(err, args.no_qr, args.json)
            shown = code.verification_url_complete or code.verification_url
            renderer.styled(
                device_prompt_parts(
                    profile,
                    code.verification_url,
                    code.user_code,
                    use_color(err),
                    expires_in=code.expires_in,
                    complete_url=code.verification_url_complete,
                    qr=qr_code(shown, columns) if columns is not None else None,
                ),
                RESET,
            )
            complete_device_code_login(code, opts, renderer)
        except DeviceLoginError as exc:
            if fallback is not None and (exc.not_enabled or exc.unusable_answer):
                renderer.text(FALLBACK_NOTICE if exc.not_enabled else UNUSABLE_NOTICE)
                return browser_login(fallback, json_mode=args.json)
            renderer.failed(exc, "Error logging in with device code")
            return EXIT_FAILURE
        except KeyboardInterrupt:
            print("Error logging in with device code: Login was interrupted", file=err)
            return EXIT_INTERRUPTED
        renderer.succeeded(SUCCESS_MESSAGE)
        return EXIT_OK
    finally:
        if log is not None:
            log.close()
