"""The ``loginkit`` parser and dispatch. Renders nothing itself; never decides what a failure is.

Everything for people goes to stderr, so stdout stays clean for ``--json`` and for commands that
print a value. Start-up is kept light on purpose: each command's module is imported only when
that command runs; the server, HTTP and JWT stacks load after the sign-in link is printed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from loginkit.cli._context import EXIT_FAILURE
from loginkit.core._profiles import DEFAULT_PORT, OPENAI_ISSUER

if TYPE_CHECKING:
    from loginkit.oauth._wellknown import Discovered
    from loginkit.signin._prelinked import Prelinked


def _common(parser: argparse.ArgumentParser, *, nested: bool = False) -> None:
    """What selects a record, for every command: ``--codex-home``/``--home``, ``--store``,
    ``--issuer``, ``--client-id``, ``--profile``. ``nested`` (``login status``): no defaults of
    its own, so ``loginkit login --codex-home X status`` keeps X (argparse copies a subparser's
    defaults over what the parent parsed)."""
    default = argparse.SUPPRESS if nested else None
    parser.add_argument(
        "--codex-home",
        "--home",
        dest="codex_home",
        type=Path,
        default=default,
        help="credentials directory (default: $CODEX_HOME or ~/.codex for Codex's client; a"
        " directory of its own under $XDG_CONFIG_HOME/loginkit for any other provider)",
    )
    parser.add_argument(
        "--issuer",
        default=default,
        help=f"OAuth issuer base URL (default: {OPENAI_ISSUER})",
    )
    parser.add_argument("--client-id", default=default, help="OAuth client id (default: Codex's)")
    parser.add_argument(
        "--profile",
        default=default,
        metavar="NAME",
        help="a named profile of $XDG_CONFIG_HOME/loginkit/loginkit.toml (issuer, client id,"
        " scopes, redirect, port, words)",
    )
    parser.add_argument(
        "--store",
        choices=["file", "keyring", "auto", "ephemeral"],
        default=default,
        help="credential store (default: cli_auth_credentials_store in config.toml, else file)",
    )


class _VersionAction(argparse.Action):
    """``-V`` / ``--version``: print ``loginkit X.Y.Z`` (stdout) and exit 0, like argparse's own
    version action, but the version is looked up only when asked for (importlib.metadata costs
    ~30 ms that no other command should pay). ``loginkit --version`` alone never gets here:
    :mod:`loginkit.cli._entry` answers it before the parser is built."""

    def __init__(self, option_strings: list[str], dest: str, help: str | None = None) -> None:
        super().__init__(
            option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, nargs=0, help=help
        )

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        import loginkit

        sys.stdout.write(f"loginkit {loginkit.__version__}\n")
        sys.stdout.flush()
        parser.exit()


class _StableHelp(argparse.HelpFormatter):
    """Help laid out the same on every Python: an option with aliases shows its value after each
    name (``--codex-home CODEX_HOME, --home CODEX_HOME``), as up to 3.12; 3.13's argparse shows
    it once, which would make ``--help`` (and its snapshots) differ by interpreter."""

    def _format_action_invocation(self, action: argparse.Action) -> str:
        if not action.option_strings or action.nargs == 0:
            return super()._format_action_invocation(action)
        value = self._format_args(action, self._get_default_metavar_for_optional(action))
        return ", ".join(f"{option} {value}" for option in action.option_strings)


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="loginkit",
        description="Sign in from the terminal through your browser (Codex-compatible).",
        formatter_class=_StableHelp,
    )
    parser.add_argument(
        "-V", "--version", action=_VersionAction, help="print the version of loginkit and exit"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    login = sub.add_parser(
        "login", help="sign in (browser by default)", formatter_class=_StableHelp
    )
    _common(login)
    login.add_argument(
        "--port",
        type=int,
        default=None,
        help=f"loopback callback port; 0 picks a free one (default: {DEFAULT_PORT})",
    )
    login.add_argument(
        "--scope",
        help="scopes to ask for, space-separated (default: the profile's; for any provider but"
        " Codex: openid profile email offline_access)",
    )
    login.add_argument(
        "--no-browser", action="store_true", help="print the link but do not open a browser"
    )
    login.add_argument(
        "--replace",
        action="store_true",
        help="replace a stored sign-in of another issuer or client id (refused otherwise)",
    )
    login.add_argument(
        "--redirect-host",
        choices=["127.0.0.1", "localhost", "[::1]"],
        help="host of the loopback redirect URI (default: localhost for Codex's client,"
        " 127.0.0.1 for any other, as RFC 8252 asks)",
    )
    login.add_argument(
        "--redirect-path",
        metavar="PATH",
        help="path of the loopback redirect URI, exactly as registered (default: /auth/callback)",
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
    login.add_argument(
        "--no-qr",
        action="store_true",
        help="with --device-auth: do not draw the link as a QR code on the terminal",
    )
    login_sub = login.add_subparsers(dest="login_command", metavar="ACTION")
    status = login_sub.add_parser(
        "status", help="show who is signed in", formatter_class=_StableHelp
    )
    _common(status, nested=True)
    status.add_argument(
        "--json",
        action="store_true",
        default=argparse.SUPPRESS,
        help="print the status as JSON on stdout",
    )
    logout = sub.add_parser(
        "logout", help="remove stored credentials from every store", formatter_class=_StableHelp
    )
    _common(logout)
    token = sub.add_parser(
        "token",
        help="print a valid access token (refreshing it if needed)",
        formatter_class=_StableHelp,
    )
    _common(token)
    token.add_argument(
        "--min-validity",
        type=float,
        default=60.0,
        help="refresh first if the token expires within this many seconds (default: %(default)s)",
    )
    doctor = sub.add_parser(
        "doctor",
        help="say what would stop a sign-in here, before signing in (opens nothing)",
        formatter_class=_StableHelp,
    )
    _common(doctor)
    doctor.add_argument(
        "--port",
        type=int,
        default=None,
        help=f"loopback callback port to check; 0: any free one (default: {DEFAULT_PORT})",
    )
    doctor.add_argument(
        "--bind",
        default="127.0.0.1",
        metavar="ADDRESS",
        help="IPv4 address of the callback server (default: %(default)s)",
    )
    doctor.add_argument(
        "--json", action="store_true", help="print one JSON object with every check on stdout"
    )
    return parser


def main(
    argv: list[str] | None = None,
    *,
    prelinked: Prelinked | None = None,
    discovered: Discovered | None = None,
) -> int:
    """The CLI. ``prelinked``: a sign-in whose link :mod:`loginkit.cli._linkfirst` already printed;
    ``discovered``: the discovery answer it had when it could print none (a budget ran out)."""
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
        from loginkit.cli._login import run_login

        return run_login(args, prelinked, discovered)
    if args.command == "logout":
        from loginkit.cli._credentials import run_logout

        return run_logout(args)
    if args.command == "token":
        from loginkit.cli._credentials import run_token

        return run_token(args)
    if args.command == "doctor":
        from loginkit.cli._doctor import run_doctor

        return run_doctor(args)
    parser.print_help(sys.stderr)
    return EXIT_FAILURE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
