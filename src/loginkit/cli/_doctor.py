"""``loginkit doctor``: what would stop a sign-in here, said before anything opens.

Every check is one :class:`Check`: a status (ok / warning / problem), one sentence, and the fix
when it is not ok. A *problem* means a sign-in cannot work as things are (the exit code is 1); a
*warning* means it can, with a caveat. Nothing here signs in, opens a browser, unlocks a keyring,
ends another sign-in (no ``GET /cancel``), creates the home directory, or reads a credential: the
port is bound for a moment and let go, the keyring is asked whether it is locked, and the provider
gets one request that carries no credentials (discovery, or ``HEAD`` of the token endpoint). The
local checks live here; the ones that go over the network in :mod:`loginkit.cli._doctor_net`.

Output goes through the one renderer: a line per check on stderr, or with ``--json`` one object
on stdout, ``{"type": "doctor", "ok": bool, "checks": [{"id", "status", "title", "message",
"fix"}]}``.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import sys

from loginkit.cli._checks import Check, Status, ok, problem, warning
from loginkit.cli._context import EXIT_FAILURE, EXIT_OK
from loginkit.core._sanitize import sanitize

# -- the loopback port ------------------------------------------------------------------------------


def port_checks(address: str, port: int) -> list[Check]:
    """The callback port on ``address`` and the IPv6 loopback beside it."""
    from loginkit.loopback._probe import PortState, probe_ipv6_loopback, probe_port

    title = "Callback port"
    if not 0 <= port <= 65535:
        return [problem("port", title, f"{port} is not a port", "use --port 0 to 65535")]
    where = f"{address}:{port}"
    other_port = "or sign in with --port 0 (any free port) if your provider accepts it"
    found = probe_port(address, port)
    held = found.state in (PortState.LOGINKIT, PortState.CODEX)
    if found.state is PortState.FREE:
        first = ok("port", title, f"{where} is free" if port else "a free port can be had")
    elif held:
        who = "loginkit" if found.state is PortState.LOGINKIT else "Codex CLI"
        first = warning(
            "port",
            title,
            f"{where} is held by a {who} sign-in in progress; signing in here ends that one",
            f"finish or stop that sign-in first, {other_port}",
        )
    elif found.state is PortState.OTHER:
        first = problem(
            "port",
            title,
            f"{where} is in use by another program, not a sign-in ({found.detail});"
            " it will not let go",
            f"stop that program, {other_port}",
        )
    elif found.state is PortState.FORBIDDEN:
        first = problem(
            "port",
            title,
            f"{where} is reserved or not permitted by the operating system"
            f" ({sanitize(found.detail)})",
            "choose another port with --port",
        )
    else:
        first = problem(
            "port",
            title,
            f"cannot listen on {where}: {sanitize(found.detail)}",
            "check --bind (an address of this machine, 127.0.0.1 by default)",
        )
    # A sign-in that holds the IPv4 port holds [::1] too: look at the loopback itself then.
    six = probe_ipv6_loopback(0 if held or found.state is not PortState.FREE else port)
    title6 = "IPv6 loopback"
    if six.state is PortState.FREE:
        second = ok("ipv6", title6, "[::1] can be listened on too (for browsers that try it)")
    elif six.state is PortState.OTHER:
        second = warning(
            "ipv6",
            title6,
            f"[::1]:{port} is in use by another program; a browser that tries ::1 first"
            " reaches it instead of the sign-in",
            f"stop that program, {other_port}",
        )
    else:
        second = warning(
            "ipv6",
            title6,
            f"no IPv6 loopback ({sanitize(six.detail)}); the sign-in listens on 127.0.0.1 only",
            "none usually (browsers fall back to 127.0.0.1); if the browser cannot reach"
            " localhost, make localhost resolve to 127.0.0.1",
        )
    return [first, second]


# -- the browser ------------------------------------------------------------------------------------


def browser_check(environ: dict[str, str] | os._Environ[str]) -> Check:
    """Whether a browser could be launched: ``$BROWSER``'s commands, else what ``webbrowser``
    would pick. Nothing is opened."""
    title = "Browser"
    fix = (
        "open the printed link on any device (and paste the address it ends on back), or sign"
        " in with --device-auth; set $BROWSER to a browser command to have it opened"
    )
    value = environ.get("BROWSER", "")
    if value:
        commands = [c for c in value.split(os.pathsep) if c.strip()]
        for command in commands:
            try:
                program = shlex.split(command)[0]
            except (ValueError, IndexError):
                continue
            if shutil.which(program) is not None:
                return ok("browser", title, f"$BROWSER will run {sanitize(program)!r}")
        return warning(
            "browser",
            title,
            f"$BROWSER is {sanitize(value)!r}, but no command of it is installed",
            fix,
        )
    import webbrowser

    try:
        found = webbrowser.get()
    except webbrowser.Error:
        return warning("browser", title, "no browser can be launched here", fix)
    name = getattr(found, "name", "") or type(found).__name__
    return ok("browser", title, f"{sanitize(name)!r} will be opened")


# -- the home directory and the store ---------------------------------------------------------------


def home_check(args: argparse.Namespace) -> tuple[Check, str]:
    """The home directory (distrusted as every command distrusts it; nothing is created or
    tightened), and the store mode a sign-in would use (``--store``, else config.toml)."""
    from loginkit.core._exceptions import CodexHomeError, ConfigError
    from loginkit.core._safefs import unsafe_reason
    from loginkit.store._config import load_config
    from loginkit.store._home import find_codex_home

    title = "Home directory"
    store = args.store or "file"
    try:
        home = args.codex_home.absolute() if args.codex_home else find_codex_home()
    except CodexHomeError as exc:
        fix = "point CODEX_HOME at an existing directory, or unset it"
        return problem("home", title, sanitize(str(exc)), fix), store
    shown = sanitize(str(home))
    if not home.exists():
        parent = home.parent
        while not parent.exists() and parent != parent.parent:
            parent = parent.parent
        if os.access(parent, os.W_OK | os.X_OK):
            return ok("home", title, f"{shown} will be created (0700) at the first sign-in"), store
        fix = f"create {shown} yourself (mkdir -m 700), or choose another with --codex-home"
        return problem("home", title, f"{shown} cannot be created here", fix), store
    if not home.is_dir():
        fix = "choose a directory with --codex-home"
        return problem("home", title, f"{shown} is not a directory", fix), store
    info = os.stat(home)
    reason = unsafe_reason(info)
    if reason is not None:
        fix = "chmod go-w" if info.st_uid == os.geteuid() else "chown $(id -u)"
        message = f"{shown} is refused: {reason}; another user could plant credentials there"
        return problem("home", title, message, f"{fix} {shown}"), store
    if not os.access(home, os.W_OK | os.X_OK):
        return problem("home", title, f"{shown} is not writable", f"chmod u+wx {shown}"), store
    try:
        config = load_config(home)
    except ConfigError as exc:
        fix = "correct config.toml (cli_auth_credentials_store, forced_login_method)"
        return problem("home", title, sanitize(str(exc)), fix), store
    store = args.store or config.store_mode.value
    return ok("home", title, f"{shown} is private and writable (store: {store})"), store


def keyring_check(store: str) -> Check:
    """The OS keyring, and what its state means for ``store``: a problem in ``keyring`` mode, a
    warning in ``auto`` (the sign-in falls back to auth.json), information otherwise."""
    from loginkit.store._keyring_probe import probe_keyring

    title = "Keyring"
    found = probe_keyring()
    detail = sanitize(found.detail)
    if found.usable:
        return ok("keyring", title, f"usable ({detail}; store: {store})")
    if found.locked:
        state = "the keyring is locked"
        fix = (
            "unlock it (log in to the desktop session, or unlock the login keyring in its"
            " keyring manager), or use --store file"
        )
    else:
        state = f"the keyring cannot be used: {detail}"
        fix = "start a Secret Service (gnome-keyring, KWallet), or use --store file"
    if store == "keyring":
        return problem("keyring", title, f"{state}; credentials cannot be saved there", fix)
    if store == "auto":
        return warning("keyring", title, f"{state}; the sign-in saves auth.json instead", fix)
    return ok("keyring", title, f"not used (store: {store}); {state}")


# -- environment ------------------------------------------------------------------------------------

PROXY_VARS = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY")
_USERINFO = re.compile(r"^((?:[A-Za-z][A-Za-z0-9+.-]*:)?//)?[^/@]*@")
_PROXY_SCHEMES = frozenset({"http", "https", "socks5", "socks5h"})


def redact_proxy(value: str) -> str:
    """A proxy URL with any ``user:password@`` replaced by ``<redacted>@``."""
    return _USERINFO.sub(lambda m: f"{m.group(1) or ''}<redacted>@", value.strip(), count=1)


def proxy_check(environ: dict[str, str] | os._Environ[str]) -> Check:
    """The proxy settings the HTTP client honours, credentials redacted; a URL it cannot use is
    a problem."""
    from urllib.parse import urlsplit

    title = "Proxy"
    shown: list[str] = []
    bad: list[str] = []
    for name in PROXY_VARS:
        for spelling in (name, name.lower()):
            value = environ.get(spelling, "").strip()
            if not value:
                continue
            text = sanitize(redact_proxy(value), limit=200)
            shown.append(f"{spelling}={text}")
            if name == "NO_PROXY":
                continue
            try:
                parts = urlsplit(value)
                usable = parts.scheme.lower() in _PROXY_SCHEMES and bool(parts.hostname)
            except ValueError:
                usable = False
            if not usable:
                bad.append(spelling)
    if bad:
        fix = f"set {bad[0]} to a URL such as http://proxy.example:3128, or unset it"
        return problem("proxy", title, f"not a proxy URL: {', '.join(shown)}", fix)
    if not shown:
        return ok("proxy", title, "none set (direct connections)")
    return ok("proxy", title, ", ".join(shown))


def ca_check(environ: dict[str, str] | os._Environ[str]) -> Check:
    """The custom CA bundle (``CODEX_CA_CERTIFICATE``, else ``SSL_CERT_FILE``), parsed exactly
    as the sign-in parses it."""
    from loginkit.core._exceptions import HttpClientSetupFailure
    from loginkit.oauth._http import CA_HINT, build_ssl_context, selected_ca_bundle

    title = "CA bundle"
    selected = selected_ca_bundle(environ)
    try:
        build_ssl_context(environ)
    except HttpClientSetupFailure as exc:
        message = sanitize(str(exc).removesuffix(f" {CA_HINT}").rstrip("."), limit=300)
        fix = "point it at a PEM file with one or more CERTIFICATE blocks, or unset it"
        return problem("ca_bundle", title, message, fix)
    if selected is None:
        return ok("ca_bundle", title, "system root certificates")
    name, path = selected
    return ok("ca_bundle", title, f"{sanitize(path)} (from {name}) adds to the system roots")


def insecure_check(issuer: str, environ: dict[str, str] | os._Environ[str]) -> Check:
    """``LOGINKIT_ALLOW_INSECURE_HTTP`` against the issuer's scheme and host."""
    from urllib.parse import urlsplit

    from loginkit.oauth._http import INSECURE_HTTP_ENV, insecure_http_allowed, is_loopback_host

    title = "Plain http"
    try:
        parts = urlsplit(issuer)
        host = parts.hostname or ""
    except ValueError:
        parts, host = None, ""
    plain_remote = parts is not None and parts.scheme == "http" and not is_loopback_host(host)
    if insecure_http_allowed(environ):
        return warning(
            "insecure_http",
            title,
            f"{INSECURE_HTTP_ENV}=1: codes and tokens may cross the network unencrypted",
            f"unset {INSECURE_HTTP_ENV} unless you sign in to a test provider on a private network",
        )
    if plain_remote:
        return problem(
            "insecure_http",
            title,
            f"the issuer is plain http on {sanitize(host)}, which is not a loopback address;"
            " loginkit refuses to send codes and tokens there",
            f"use an https issuer, or set {INSECURE_HTTP_ENV}=1 for a test provider",
        )
    return ok("insecure_http", title, "plain http only to loopback addresses")


# -- the command ------------------------------------------------------------------------------------


def run_checks(args: argparse.Namespace) -> list[Check]:
    """Every check, in the order a sign-in meets them."""
    from loginkit.cli._doctor_net import network_checks

    environ = os.environ
    checks = port_checks(args.bind, args.port)
    checks.append(browser_check(environ))
    home, store = home_check(args)
    client = [ca_check(environ), proxy_check(environ)]
    checks += [home, keyring_check(store), *client, insecure_check(args.issuer, environ)]
    blocked = [c.title for c in client if c.status is Status.PROBLEM]
    checks += network_checks(args.issuer, args.client_id, blocked=blocked)
    return checks


def run_doctor(args: argparse.Namespace) -> int:
    """Run every check, print them (a line each, or one JSON object), and return 0 when a
    sign-in can work here (no check is a problem), else 1."""
    from loginkit.cli._context import resolve_provider
    from loginkit.cli._render import Renderer

    # The record a sign-in with these flags would use: --profile, --issuer, --client-id, --port,
    # and the provider's own home for any provider but Codex's.
    args.issuer, args.client_id, profile, args.port = resolve_provider(args)
    if args.codex_home is None and profile.name != "openai":
        from loginkit.store._home import provider_home

        args.codex_home = provider_home(args.issuer, args.client_id)
    renderer = Renderer(
        profile,
        json_mode=args.json,
        err=sys.stderr,
        out=sys.stdout,
    )
    checks = run_checks(args)
    can = all(c.status is not Status.PROBLEM for c in checks)
    if args.json:
        renderer.record({"type": "doctor", "ok": can, "checks": [c.record() for c in checks]})
    else:
        for check in checks:
            renderer.text(check.line())
        problems = sum(c.status is Status.PROBLEM for c in checks)
        renderer.text(
            "A sign-in can work here."
            if can
            else f"A sign-in cannot work here: fix the {problems} problem(s) above first."
        )
    return EXIT_OK if can else EXIT_FAILURE
