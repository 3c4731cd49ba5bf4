"""The ``loginkit`` command. Renders progress; never decides what a failure is.

Everything for people goes to stderr, so stdout stays clean for ``--json`` and for commands that
print a value. Start-up is kept light on purpose: this module imports argparse and the flow's
light half only; the server, HTTP and JWT stacks load after the sign-in link is printed.
"""

from __future__ import annotations

import argparse
import socket
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from loginkit.core._exceptions import CodexHomeError, ErrorKind, LoginError
from loginkit.core._phases import Failed, LoginPhase
from loginkit.core._profiles import DEFAULT_PORT, OPENAI_CLIENT_ID, OPENAI_ISSUER, Profile

if TYPE_CHECKING:
    from loginkit.signin._browser import LoginRun, ServerOptions
    from loginkit.signin._prelinked import Prelinked
    from loginkit.store._config import LoginConfig
    from loginkit.store._home import AuthCredentialsStoreMode

SUCCESS_MESSAGE = "Signed in. You're good to go."
EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_INTERRUPTED = 130


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


_QUERY_SAFE = "=&%+-._~:/?@!$'()*,;"


def pasted_callback_target(text: str) -> str | None:
    """``/auth/callback?...`` from what the person pasted (the whole address the browser ended
    on, whatever its host and port), or None when it is not such an address."""
    from urllib.parse import quote, urlsplit

    parts = urlsplit(text.strip())
    if not parts.path.endswith("/auth/callback") or not parts.query:
        return None
    # As a browser would send it: spaces and non-ASCII percent-encoded, the rest untouched.
    query = quote(parts.query, safe=_QUERY_SAFE)
    return f"/auth/callback?{query}"


def deliver_pasted_callback(port: int, target: str, address: str = "127.0.0.1") -> None:
    """Hand a pasted callback to this run's own loopback server, exactly as the browser would
    have (the state check, the exchange and the pages are the server's), then follow its
    redirect to ``/success`` so the run ends at once."""
    import http.client
    from urllib.parse import urlsplit

    from loginkit.loopback._listen import reach

    host = f"localhost:{port}"
    for _ in range(2):
        conn = http.client.HTTPConnection(reach(address), port, timeout=300)
        try:
            conn.putrequest("GET", target, skip_host=True)
            conn.putheader("Host", host)
            conn.endheaders()
            response = conn.getresponse()
            response.read()
            location = response.getheader("Location") or ""
        finally:
            conn.close()
        if response.status != 302 or not location:
            return
        parts = urlsplit(location)
        if parts.netloc != host or parts.path != "/success":
            return  # a redirect elsewhere is the browser's to follow, not ours
        target = f"{parts.path}?{parts.query}" if parts.query else parts.path


def _read_pasted_callbacks(run: LoginRun, printer: ProgressPrinter) -> None:
    """Background thread: each pasted line is a callback for this run, or gets a hint. Nothing
    a person pastes ends the thread: the run's own server judges every address."""
    import http.client

    for line in sys.stdin:
        if not line.strip():
            continue
        target = pasted_callback_target(line)
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
    from loginkit.core._texts import link_text

    return link_text(auth_url, profile.device_login_command)


class ProgressPrinter:
    """Prints visible phases to stderr and remembers which failures the person has seen.

    The final "Error logging in" line is suppressed only when the run's *terminal* failure was
    already shown as a block (the seed hid real errors behind an earlier, unrelated block).
    """

    def __init__(self, profile: Profile, out: TextIO) -> None:
        self.profile = profile
        self.out = out
        self._shown: list[Failed] = []
        self._lock = threading.Lock()

    def __call__(self, phase: LoginPhase) -> None:
        if not phase.is_user_visible():
            return
        with self._lock:
            if isinstance(phase, Failed):
                self._shown.append(phase)
            self._write(phase.render(self.profile))

    def text(self, line: str) -> None:
        with self._lock:
            self._write(line)

    def _write(self, text: str) -> None:
        # One write per message, newline included: a Ctrl-C can then never split a line from
        # its newline and glue the next message onto it.
        self.out.write(text + "\n")
        self.out.flush()

    def already_shown(self, error: LoginError) -> bool:
        with self._lock:
            return error.failure is not None and any(f is error.failure for f in self._shown)


class JsonPrinter:
    """``--json``: one JSON object per line on stdout, for wrappers and IDEs."""

    def __init__(self, profile: Profile, out: TextIO) -> None:
        self.profile = profile
        self.out = out
        self._lock = threading.Lock()

    def write(self, record: dict[str, object]) -> None:
        import json

        with self._lock:
            self.out.write(json.dumps(record, ensure_ascii=False) + "\n")
            self.out.flush()

    def __call__(self, phase: LoginPhase) -> None:
        self.write(
            {
                "type": "progress",
                "phase": phase.id,
                "visible": phase.is_user_visible(),
                "text": phase.render(self.profile),
                **phase.fields(),
            }
        )


def _common(parser: argparse.ArgumentParser, *, nested: bool = False) -> None:
    """``--codex-home`` and ``--store``. ``nested`` (``login status``): no defaults of its own,
    so ``loginkit login --codex-home X status`` keeps X (argparse copies a subparser's defaults
    over what the parent parsed)."""
    default = argparse.SUPPRESS if nested else None
    parser.add_argument(
        "--codex-home",
        type=Path,
        default=default,
        help="credentials directory (default: $CODEX_HOME or ~/.codex)",
    )
    parser.add_argument(
        "--store",
        choices=["file", "keyring", "auto", "ephemeral"],
        default=default,
        help="credential store (default: cli_auth_credentials_store in config.toml, else file)",
    )


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="loginkit",
        description="Sign in from the terminal through your browser (Codex-compatible).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    login = sub.add_parser("login", help="sign in (browser by default)")
    _common(login)
    login.add_argument(
        "--issuer", default=OPENAI_ISSUER, help="OAuth issuer base URL (default: %(default)s)"
    )
    login.add_argument(
        "--client-id", default=OPENAI_CLIENT_ID, help="OAuth client id (default: Codex's)"
    )
    login.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help="loopback callback port; 0 picks a free one (default: %(default)s)",
    )
    login.add_argument(
        "--no-browser", action="store_true", help="print the link but do not open a browser"
    )
    login.add_argument(
        "--bind",
        default="127.0.0.1",
        metavar="ADDRESS",
        help="IPv4 address of the callback server; 0.0.0.0 inside a container whose port is"
        " published to the host (default: %(default)s)",
    )
    login.add_argument(
        "--timeout",
        type=float,
        default=600.0,
        help="give up when nobody completes the sign-in within this many seconds; 0 waits forever (default: %(default)s)",
    )
    login.add_argument("--workspace-id", help="only accept an account of this ChatGPT workspace")
    login.add_argument("--json", action="store_true", help="progress as JSON lines on stdout")
    login.add_argument(
        "--with-api-key", action="store_true", help="read an API key from stdin and store it"
    )
    login.add_argument("--api-key", help=argparse.SUPPRESS)
    login.add_argument(
        "--device-auth",
        nargs="?",
        const="always",
        choices=["always", "auto"],
        help="sign in with a device code (headless); =auto falls back to the browser when the"
        " server has no device sign-in",
    )
    login_sub = login.add_subparsers(dest="login_command", metavar="ACTION")
    status = login_sub.add_parser("status", help="show who is signed in")
    _common(status, nested=True)
    status.add_argument(
        "--json",
        action="store_true",
        default=argparse.SUPPRESS,
        help="print the status as JSON on stdout",
    )
    logout = sub.add_parser("logout", help="remove stored credentials from every store")
    _common(logout)
    token = sub.add_parser("token", help="print a valid access token (refreshing it if needed)")
    _common(token)
    token.add_argument(
        "--min-validity",
        type=float,
        default=60.0,
        help="refresh first if the token expires within this many seconds (default: %(default)s)",
    )
    return parser


def _codex_home(arg: Path | None, *, create: bool) -> Path:
    """``--codex-home`` (created, 0700, only by a sign-in: ``status``, ``token`` and ``logout``
    must not turn a typo into a new empty home), else ``$CODEX_HOME`` or ``~/.codex``."""
    if arg is not None:
        if arg.exists() and not arg.is_dir():
            raise CodexHomeError(
                f"--codex-home points to {str(arg)!r}, but that is not a directory"
            )
        if create:
            arg.mkdir(parents=True, exist_ok=True, mode=0o700)
        return arg.resolve()
    from loginkit.store._home import find_codex_home

    return find_codex_home()


def main(argv: list[str] | None = None, *, prelinked: Prelinked | None = None) -> int:
    """The CLI. ``prelinked``: a sign-in whose link :mod:`loginkit.cli._linkfirst` already printed."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    if args.command == "login":
        if args.login_command == "status":
            from loginkit.cli._credentials import run_status

            return run_status(args)
        if args.api_key is not None or args.with_api_key:
            from loginkit.cli._credentials import run_api_key_login

            return run_api_key_login(args)
        if args.device_auth is not None:
            from loginkit.cli._device import run_device_login

            return run_device_login(args)
        return run_login(args, prelinked)
    if args.command == "logout":
        from loginkit.cli._credentials import run_logout

        return run_logout(args)
    if args.command == "token":
        from loginkit.cli._credentials import run_token

        return run_token(args)
    parser.print_help(sys.stderr)
    return EXIT_FAILURE


@dataclass
class Context:
    """What every subcommand resolves first: the home directory, config.toml, the store mode."""

    codex_home: Path
    config: LoginConfig
    store_mode: AuthCredentialsStoreMode


def load_context(args: argparse.Namespace) -> Context:
    """Raises :class:`ConfigError` (or ``CodexHomeError``/``OSError``) for "Error loading
    configuration"."""
    from loginkit.store._config import load_config
    from loginkit.store._home import AuthCredentialsStoreMode

    signs_in = args.command == "login" and args.login_command != "status"
    codex_home = _codex_home(args.codex_home, create=signs_in)
    config = load_config(codex_home)
    mode = AuthCredentialsStoreMode(args.store) if args.store else config.store_mode
    return Context(codex_home, config, mode)


def context_or_exit(args: argparse.Namespace) -> Context | int:
    from loginkit.store._config import ConfigError

    try:
        return load_context(args)
    except (ConfigError, CodexHomeError, OSError) as exc:
        print(f"Error loading configuration: {exc}", file=sys.stderr)
        return EXIT_FAILURE


def run_login(args: argparse.Namespace, prelinked: Prelinked | None = None) -> int:
    try:
        return _run_login(args, prelinked)
    finally:
        if prelinked is not None:
            prelinked.close()  # a no-op once the run has closed them; else nothing leaks


def _run_login(args: argparse.Namespace, prelinked: Prelinked | None) -> int:
    from loginkit.core._log import install_login_log, log_event
    from loginkit.signin._browser import ServerOptions

    err = sys.stderr
    ctx = context_or_exit(args)
    if isinstance(ctx, int):
        return ctx
    if args.port < 0 or args.port > 65535:
        print(f"Error logging in: invalid port {args.port} (use 0-65535)", file=err)
        return EXIT_FAILURE
    try:
        socket.inet_pton(socket.AF_INET, args.bind)
    except OSError:
        print(
            f"Error logging in: invalid --bind address {args.bind!r} (use an IPv4 address such as"
            " 127.0.0.1 or 0.0.0.0)",
            file=err,
        )
        return EXIT_FAILURE

    login_log = install_login_log(ctx.codex_home / "log", warn=err)
    try:
        import logging

        log_event(logging.getLogger("loginkit.cli"), logging.INFO, "starting browser login flow")
        if ctx.config.forced_login_method == "api":
            print("ChatGPT login is disabled. Use API key login instead.", file=err)
            return EXIT_FAILURE
        opts = ServerOptions(
            codex_home=ctx.codex_home,
            client_id=args.client_id,
            issuer=args.issuer,
            port=args.port,
            bind_address=args.bind,
            open_browser=not args.no_browser,
            forced_chatgpt_workspace_id=args.workspace_id or ctx.config.forced_chatgpt_workspace_id,
            cli_auth_credentials_store_mode=ctx.store_mode,
            login_timeout=args.timeout if args.timeout > 0 else None,
        )
        return browser_login(opts, json_mode=args.json, prelinked=prelinked)
    finally:
        if login_log is not None:
            login_log.close()


def browser_login(
    opts: ServerOptions, *, json_mode: bool = False, prelinked: Prelinked | None = None
) -> int:
    """Run one browser sign-in with the CLI's rendering; returns the exit code."""
    from loginkit.signin._browser import LoginRun

    profile = opts.resolved_profile
    if json_mode:
        return _login_json(opts, profile)
    printer = ProgressPrinter(profile, sys.stderr)
    run = LoginRun(opts, printer)

    def show_link() -> None:
        _warn_if_exposed(run)
        printer.text(link_block(run.auth_url, profile))

    def accept_pasted_callbacks() -> None:
        if sys.stdin is None or not sys.stdin.isatty() or not _in_the_foreground():
            return
        printer.text(PASTE_HINT)
        threading.Thread(
            target=_read_pasted_callbacks, args=(run, printer), name="loginkit-paste", daemon=True
        ).start()

    try:
        _drive(run, show_link, prelinked, after_link=accept_pasted_callbacks)
    except _Interrupted as exc:
        if not printer.already_shown(exc.error):
            printer.text(f"Error logging in: {exc.error}")
        return EXIT_INTERRUPTED
    except LoginError as exc:
        if not printer.already_shown(exc):
            printer.text(f"Error logging in: {exc}")
        return EXIT_FAILURE
    printer.text(SUCCESS_MESSAGE)
    return EXIT_OK


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
    from loginkit.signin._browser import LoginServer

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
        LoginServer(run).block_until_done()
        return
    except KeyboardInterrupt:
        run.cancel("Login was interrupted", kind=ErrorKind.INTERRUPTED)
    try:
        LoginServer(run).block_until_done(timeout=10)
    except LoginError as exc:
        raise _Interrupted(exc) from None


def _login_json(opts: ServerOptions, profile: Profile) -> int:
    from loginkit.signin._browser import LoginRun

    printer = JsonPrinter(profile, sys.stdout)
    run = LoginRun(opts, printer)
    try:

        def show_link() -> None:
            _warn_if_exposed(run)
            printer.write({"type": "auth_url", "url": run.auth_url, "port": run.actual_port})

        _drive(run, show_link)
    except _Interrupted as exc:
        printer.write(
            {"type": "result", "ok": False, "error": str(exc.error), "kind": "interrupted"}
        )
        return EXIT_INTERRUPTED
    except LoginError as exc:
        record: dict[str, object] = {
            "type": "result",
            "ok": False,
            "error": str(exc),
            "kind": exc.kind.value,
        }
        if exc.failure is not None:
            record["category"] = exc.failure.category.value
        printer.write(record)
        return EXIT_FAILURE
    printer.write({"type": "result", "ok": True, "message": SUCCESS_MESSAGE})
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
