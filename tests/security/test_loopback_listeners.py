"""Issue 4.3: both loopback addresses are served, and a port the OS reserves says so.

The redirect URI says ``localhost``; a browser may resolve that to ``::1`` (spec 16.8). A real
Chromium is told to resolve ``localhost`` to ``[::1]`` only (``--host-resolver-rules``), and a
control server on 127.0.0.1 alone shows that this browser really cannot reach IPv4 through the
name. EACCES is produced for real: the CLI runs without ``CAP_NET_BIND_SERVICE`` and asks for a
port below ``ip_unprivileged_port_start``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser
from support.browser import complete_login, launch_browser, open_url
from support.loopback import exchange, start_run
from support.net import ipv6_loopback_available
from support.provider import Provider

from loginkit.core._phases import LoginPhase

from .harness import Issuer, cli_command, spawn_cli


@pytest.fixture(scope="module")
def ipv6_browser() -> Iterator[Browser]:
    """Chromium that resolves ``localhost`` to ``::1`` and nothing else."""
    with launch_browser("--host-resolver-rules=MAP localhost [::1]") as browser:
        yield browser


def test_the_server_listens_on_ipv6_loopback_with_the_same_port(home: Path, issuer: Issuer) -> None:
    assert ipv6_loopback_available(), "this machine kind has IPv6 loopback; the test relies on it"
    run = start_run(home, issuer.url)
    for host in (f"[::1]:{run.port}", f"localhost:{run.port}"):
        probe = f"GET /favicon.ico HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
        assert exchange(run.port, probe, family=socket.AF_INET6).status == 404
    callback = f"GET /auth/callback?code=c&state={run.state} HTTP/1.1\r\nHost: localhost:{run.port}\r\n\r\n"
    assert exchange(run.port, callback.encode(), family=socket.AF_INET6).status == 302
    success = f"GET /success HTTP/1.1\r\nHost: localhost:{run.port}\r\n\r\n"
    assert exchange(run.port, success.encode(), family=socket.AF_INET6).status == 200
    run.finish_ok()
    assert isinstance(run.events[-1], LoginPhase.Succeeded)


def test_a_browser_that_resolves_localhost_to_ipv6_signs_in(
    provider: Provider, ipv6_browser: Browser, home: Path
) -> None:
    # Control: through this browser, "localhost" never reaches an IPv4-only server.
    ipv4_only = socket.socket()
    ipv4_only.bind(("127.0.0.1", 0))
    ipv4_only.listen(1)
    threading.Thread(target=ipv4_only.accept, daemon=True).start()
    try:
        control = open_url(ipv6_browser, f"http://localhost:{ipv4_only.getsockname()[1]}/")
    finally:
        ipv4_only.close()
    assert "ERR_CONNECTION_REFUSED" in control.text

    command = cli_command(home, "--issuer", provider.issuer, "--port", "0", "--no-browser")
    with spawn_cli(command) as run:
        result = complete_login(ipv6_browser, run.url)
        code, _, err = run.finish()
    assert code == 0, err
    assert result.final_url.startswith(f"http://localhost:{run.port}/success")
    assert "Signed in to Codex" in result.text


def unprivileged_port_start() -> int:
    return int(Path("/proc/sys/net/ipv4/ip_unprivileged_port_start").read_text())


def reserved_port_command(home: Path, port: int, *extra: str) -> list[str]:
    command = cli_command(home, "--port", str(port), "--no-browser", *extra)
    if os.geteuid() == 0:
        # Root may bind anything: drop the one capability that allows low ports.
        drop = ["--bounding-set=-net_bind_service", "--inh-caps=-net_bind_service"]
        command = ["setpriv", *drop, *command]
    return command


def run_on_reserved_port(home: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    assert unprivileged_port_start() > 80, "ports below 1024 must be reserved on this machine kind"
    with spawn_cli(reserved_port_command(home, 80, *extra)) as run:
        code, out, err = run.finish(timeout=30)
    return subprocess.CompletedProcess([], code, out, err)


def test_a_port_reserved_by_the_os_is_reported_as_such(home: Path) -> None:
    done = run_on_reserved_port(home)
    assert done.returncode == 1
    assert (
        "Details: local_port_forbidden - Port 127.0.0.1:80 is reserved or not permitted by"
        " the operating system (Permission denied); choose another port with --port" in done.stderr
    )
    assert "already in use" not in done.stderr
    assert "old login session" not in done.stderr, "no takeover attempt on EACCES"


def test_a_reserved_port_is_not_blamed_on_another_process(home: Path) -> None:
    done = run_on_reserved_port(home)
    assert "another process may be holding" not in done.stderr
