"""``loginkit login`` in a browser: the link, the paste reader, the run, the exit code."""

from __future__ import annotations

import argparse
import socket
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from loginkit.cli._context import (
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    SUCCESS_MESSAGE,
    Context,
    context_or_exit,
)
from loginkit.cli._render import Renderer
from loginkit.core._exceptions import ErrorKind, LoginError
from loginkit.core._phases import CallbackReceived, LoginPhase
from loginkit.core._profiles import Profile

if TYPE_CHECKING:
    from loginkit.oauth._wellknown import Discovered
    from loginkit.signin._browser import LoginRun
    from loginkit.signin._options import ServerOptions
    from loginkit.signin._prelinked import Prelinked


def exposed_warning(address: str, port: int) -> str:
    """Shown when the callback server listens beyond the loopback (``--bind``, spec 16.9)."""
    return (
        f"Warning: listening on {address}:{port}, not only on this machine's loopback. Publish"
        f" the port to your own machine only (e.g. docker run -p 127.0.0.1:{port}:{port})."
    )


#: Shown under the link when stdin is a terminal: the fix for a browser on another machine
#: (spec user problems B.6/B.8) that needs no port forwarding and no device-code permission.
PASTE_HINT = (
    "Browser on another machine? After signing in there, paste the address the browser ends on"
    " here and press Enter."
)
PASTE_NOT_A_CALLBACK = (
    "That isn't the address the sign-in ended on (it looks like"
    " http://localhost:PORT/auth/callback?code=...). Paste it again, or press Ctrl-C to stop."
)


def _read_pasted_callbacks(run: LoginRun, printer: Renderer) -> None:
    """Background thread: each pasted line is a callback for this run, or gets a hint. Nothing
    a person pastes ends the thread: the run's own server judges every address."""
    import http.client

    from loginkit.loopback._paste import deliver_pasted_callback, pasted_callback_target

    for line in sys.stdin:
        if not line.strip():
            continue
        target = pasted_callback_target(line, run.profile.redirect_path)
        if target is None:
            printer.text(PASTE_NOT_A_CALLBACK)
            continue
        try:
            deliver_pasted_callback(run.actual_port, target, run.opts.bind_address)
        except (OSError, ValueError, http.client.HTTPException):
            printer.text(PASTE_NOT_A_CALLBACK)


def _in_the_foreground() -> bool:
    """stdin is this process's terminal and we are its foreground job: reading it from the
    background (``loginkit login &``) would stop the whole process with SIGTTIN."""
    import os

    try:
        return sys.stdin is not None and os.tcgetpgrp(sys.stdin.fileno()) == os.getpgrp()
    except (OSError, ValueError):
        return False


def link_block(auth_url: str, profile: Profile) -> str:
    from loginkit.core._sanitize import sanitize_link
    from loginkit.signin._prelinked import link_text

    # A discovered endpoint is outside text: controls and spaces are shown escaped, never linked.
    return link_text(sanitize_link(auth_url), profile.device_login_command)


def run_login(
    args: argparse.Namespace,
    prelinked: Prelinked | None = None,
    discovered: Discovered | None = None,
) -> int:
    try:
        return _run_login(args, prelinked, discovered)
    finally:
        if prelinked is not None:
            prelinked.close()  # a no-op once the run has closed them; else nothing leaks


def browser_options(args: argparse.Namespace, ctx: Context) -> ServerOptions | str:
    """The browser sign-in options from the command line and config.toml, or the error line.

    The one place ``login`` and ``login --device-auth=auto`` (its fallback) turn flags into
    :class:`ServerOptions`, so the fallback honours every browser flag and is checked the same.
    """
    from loginkit.signin._options import ServerOptions

    if ctx.port < 0 or ctx.port > 65535:
        return f"Error logging in: invalid port {ctx.port} (use 0-65535)"
    try:
        socket.inet_pton(socket.AF_INET, args.bind)
    except OSError:
        return (
            f"Error logging in: invalid --bind address {args.bind!r} (use an IPv4 address such as"
            " 127.0.0.1 or 0.0.0.0)"
        )
    from loginkit.core._profiles import redirect_problem

    profile = ctx.profile
    host = args.redirect_host or profile.redirect_host
    path = args.redirect_path or profile.redirect_path
    problem = redirect_problem(host, path)
    if problem is not None:
        return f"Error logging in: {problem}"
    if (host, path) != (profile.redirect_host, profile.redirect_path):
        import dataclasses

        profile = dataclasses.replace(profile, redirect_host=host, redirect_path=path)
    return ServerOptions(
        codex_home=ctx.codex_home,
        client_id=ctx.client_id,
        issuer=ctx.issuer,
        profile=profile,
        port=ctx.port,
        bind_address=args.bind,
        open_browser=not args.no_browser,
        forced_chatgpt_workspace_id=args.workspace_id or ctx.config.forced_chatgpt_workspace_id,
        cli_auth_credentials_store_mode=ctx.store_mode,
        login_timeout=args.timeout if args.timeout > 0 else None,
        replace_other_record=args.replace,
    )


def _run_login(
    args: argparse.Namespace, prelinked: Prelinked | None, discovered: Discovered | None
) -> int:
    from loginkit.core._log import install_login_log, log_event

    err = sys.stderr
    ctx = context_or_exit(args)
    if isinstance(ctx, int):
        return ctx
    opts = browser_options(args, ctx)
    if isinstance(opts, str):
        print(opts, file=err)
        return EXIT_FAILURE

    login_log = install_login_log(ctx.codex_home / "log", warn=err, file_name=ctx.log_file)
    try:
        import logging

        log_event(logging.getLogger("loginkit.cli"), logging.INFO, "starting browser login flow")
        if ctx.config.forced_login_method == "api":
            print("ChatGPT login is disabled. Use API key login instead.", file=err)
            return EXIT_FAILURE
        return browser_login(opts, json_mode=args.json, prelinked=prelinked, discovered=discovered)
    finally:
        if login_log is not None:
            login_log.close()


def browser_login(
    opts: ServerOptions,
    *,
    json_mode: bool = False,
    prelinked: Prelinked | None = None,
    discovered: Discovered | None = None,
) -> int:
    """Run one browser sign-in with the CLI's rendering; returns the exit code. ``prelinked``
    (its link is on screen, its discovery answer in it) or ``discovered`` (the link-first
    start's answer when it printed no link) spare the run a second discovery request."""
    from loginkit.signin._browser import LoginRun

    profile = opts.resolved_profile
    renderer = Renderer(profile, json_mode=json_mode, err=sys.stderr, out=sys.stdout)
    came_back = threading.Event()

    def sink(phase: LoginPhase) -> None:
        if isinstance(phase, CallbackReceived):
            came_back.set()  # the browser came back: no hint is needed
        renderer(phase)

    run = LoginRun(opts, sink)
    if discovered is not None and prelinked is None:
        run.provider.seed(discovered)

    def show_link() -> None:
        _warn_if_exposed(run)
        renderer.text(link_block(run.auth_url, profile))
        renderer.record({"type": "auth_url", "url": run.auth_url, "port": run.actual_port})

    def accept_pasted_callbacks() -> None:
        if json_mode or sys.stdin is None or not sys.stdin.isatty() or not _in_the_foreground():
            return
        if profile.name != "openai":
            _hint_when_nothing_comes_back(run, renderer, came_back)
        renderer.text(PASTE_HINT)
        threading.Thread(
            target=_read_pasted_callbacks,
            args=(run, renderer),
            name="loginkit-paste",
            daemon=True,
        ).start()

    try:
        _drive(run, show_link, prelinked, after_link=accept_pasted_callbacks)
    except _Interrupted as exc:
        renderer.failed(exc.error, "Error logging in", ErrorKind.INTERRUPTED)
        return EXIT_INTERRUPTED
    except LoginError as exc:
        renderer.failed(exc, "Error logging in")
        return EXIT_FAILURE
    renderer.succeeded(SUCCESS_MESSAGE)
    return EXIT_OK


#: How long a sign-in waits for the browser before one line says what usually went wrong.
NO_CALLBACK_HINT_AFTER = 120.0


def no_callback_hint(client_id: str, redirect_uri: str) -> str:
    """The one line shown when the browser has not come back for a while (generic providers)."""
    return (
        "Still waiting for the browser. If the sign-in page showed an error, check that"
        f" --client-id {client_id} is right and that the provider has this redirect URI"
        f" registered exactly: {redirect_uri}"
    )


def _hint_when_nothing_comes_back(
    run: LoginRun, renderer: Renderer, came_back: threading.Event
) -> None:
    """After two minutes (or half the ``--timeout``, when that is shorter) without any callback,
    one line, once: a provider that refuses the client id or the redirect URI shows its error in
    the browser and never comes back, and the person only sees the wait."""
    from loginkit.core._sanitize import sanitize

    timeout = run.opts.login_timeout
    delay = NO_CALLBACK_HINT_AFTER if timeout is None else min(NO_CALLBACK_HINT_AFTER, timeout / 2)
    line = no_callback_hint(sanitize(run.opts.client_id, limit=200), run.redirect_uri)

    def wait() -> None:
        if not came_back.wait(delay):
            renderer.text(line)

    threading.Thread(target=wait, name="loginkit-hint", daemon=True).start()


def _warn_if_exposed(run: LoginRun) -> None:
    if not run.opts.bind_address.startswith("127."):
        print(exposed_warning(run.opts.bind_address, run.actual_port), file=sys.stderr, flush=True)


class _Interrupted(Exception):
    def __init__(self, error: LoginError) -> None:
        super().__init__(str(error))
        self.error = error


def _drive(
    run: LoginRun,
    show_link: Callable[[], None],
    prelinked: Prelinked | None = None,
    after_link: Callable[[], None] | None = None,
) -> None:
    """Bind, show the link, serve, open the browser, wait. Ctrl-C at any point cancels cleanly.

    Raises :class:`LoginError` for a failed run and :class:`_Interrupted` after Ctrl-C.
    """
    try:
        if prelinked is not None:
            run.adopt(prelinked)  # its link is already on screen
        else:
            run.bind()
            show_link()
        if after_link is not None:
            after_link()
        run.start()
        if run.opts.open_browser:
            run.launch_browser()
        from loginkit.signin._api import LoginServer

        LoginServer(run).block_until_done()
        return
    except KeyboardInterrupt:
        run.cancel("Login was interrupted", kind=ErrorKind.INTERRUPTED)
    from loginkit.signin._api import LoginServer

    try:
        LoginServer(run).block_until_done(timeout=10)
    except LoginError as exc:
        raise _Interrupted(exc) from None
