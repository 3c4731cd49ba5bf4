"""The link-first start for a generic provider (``--issuer ... --client-id ...``): one discovery
request with light modules, the link before anything heavy loads, and the same words as the
full CLI for everything it leaves to it."""

from __future__ import annotations

import os
import re
import signal
import socket
import sys
import time
from pathlib import Path

import pytest
from support.cli_runner import loginkit_command, run_loginkit, spawn
from support.discovery import Issuer, http_answer, issuer

from loginkit.store._home import make_home, provider_home

CLIENT = "generic-cli"
QUICK = ["--port", "0", "--no-browser", "--timeout", "1"]
#: Never loaded before a generic provider's link (its issuer here is plain http on loopback).
HEAVY = (
    "dataclasses",
    "typing",
    "argparse",
    "logging",
    "pathlib",
    "asyncio",
    "h11",
    "httpx2",
    "json",
    "re",
    "ssl",
    "urllib.parse",
    "encodings.idna",
)
IMPORTED = re.compile(r"import time:\s+\d+ \|\s+\d+ \|\s*(\S+)")


@pytest.fixture
def xdg(tmp_path: Path) -> dict[str, str]:
    return {"XDG_CONFIG_HOME": str(tmp_path / "config")}


def login(server: Issuer, *extra: str) -> list[str]:
    return ["login", *QUICK, "--issuer", server.url, "--client-id", CLIENT, *extra]


def provider_home_for(server: Issuer, env: dict[str, str]) -> Path:
    """The provider's home, created as the first sign-in would (the link-first start needs it)."""
    home = provider_home(server.url, CLIENT, env)
    make_home(home)
    return home


def test_the_generic_link_comes_before_any_heavy_module_after_one_request(
    xdg: dict[str, str],
) -> None:
    with issuer() as server:
        provider_home_for(server, xdg)
        command = loginkit_command(*login(server), python_flags=("-X", "importtime"))
        with spawn(command, env=xdg, until="| loginkit.signin._browser", wait=60) as run:
            lines = run.head
        link = next(i for i, line in enumerate(lines) if line.startswith(server.url))
        before = {m.group(1) for m in map(IMPORTED.match, lines[:link]) if m}
        assert before.isdisjoint(HEAVY), sorted(before & set(HEAVY))
        assert "loginkit.oauth._wellknown" in before
        assert server.requests == ["GET /.well-known/openid-configuration HTTP/1.1"]


def _without_link(text: str) -> str:
    """The output with the link's secrets (state, challenge, nonce, port) blanked."""
    return re.sub(r"(state|code_challenge|nonce)=[\w-]+|%3A\d+%2F|:\d+/auth", "<x>", text)


def test_a_generic_sign_in_asks_once_and_says_what_the_full_cli_says(
    xdg: dict[str, str],
) -> None:
    with issuer() as server:
        provider_home_for(server, xdg)
        fast = run_loginkit(*login(server), env=xdg)
        assert len(server.requests) == 1, "the run took the document the link was built from"
        full = run_loginkit(*login(server, "--bind", "127.0.0.1"), env=xdg)
        assert len(server.requests) == 2, "the full CLI asks once too"
    assert fast.returncode == full.returncode == 1
    assert "login_timed_out" in fast.stderr
    assert f"{server.url}/authorize?response_type=code&client_id={CLIENT}&" in fast.stderr
    assert _without_link(fast.stderr) == _without_link(full.stderr)


def _modes(root: Path) -> dict[str, int]:
    return {
        str(path.relative_to(root)): path.stat().st_mode & 0o777
        for path in sorted(root.rglob("*"))
        if path.is_dir()
    }


def loose() -> None:
    """In the child: a umask that would make every new directory world-writable."""
    os.umask(0)


def test_a_first_sign_in_makes_the_provider_home_as_the_full_cli_does(tmp_path: Path) -> None:
    fast_env = {"XDG_CONFIG_HOME": str(tmp_path / "fast")}
    full_env = {"XDG_CONFIG_HOME": str(tmp_path / "full")}
    with issuer() as server:
        command = loginkit_command(*login(server), python_flags=("-X", "importtime"))
        with spawn(command, env=fast_env, preexec=loose, until="Details:", wait=60) as run:
            lines = run.head
        link = next(i for i, line in enumerate(lines) if line.startswith(server.url))
        before = {m.group(1) for m in map(IMPORTED.match, lines[:link]) if m}
        assert before.isdisjoint(HEAVY), sorted(before & set(HEAVY))
        assert len(server.requests) == 1
        command = loginkit_command(*login(server, "--bind", "127.0.0.1"))
        with spawn(command, env=full_env, preexec=loose, until="Details:", wait=60):
            pass
    assert provider_home(server.url, CLIENT, fast_env).is_dir()
    fast, full = _modes(tmp_path / "fast"), _modes(tmp_path / "full")
    assert fast == full
    assert set(fast.values()) == {0o700}, fast


def test_a_failed_discovery_is_worded_by_the_full_cli(xdg: dict[str, str]) -> None:
    with issuer(lambda url: http_answer(b"{}", "404 Not Found")) as server:
        provider_home_for(server, xdg)
        fast = run_loginkit(*login(server), env=xdg)
        full = run_loginkit(*login(server, "--bind", "127.0.0.1"), env=xdg)
    assert fast.returncode == full.returncode == 1
    assert "provider_discovery_failed" in fast.stderr and "404 Not Found" in fast.stderr
    assert fast.stderr == full.stderr
    assert "/authorize" not in fast.stderr, "no link without a document"


#: ``loginkit`` with the read and whole-request budgets of every request (the light GET's and
#: the full client's alike) cut to 0.5 s.
SHORT_BUDGETS = [
    sys.executable,
    "-c",
    "import sys, loginkit.core._budgets as b; b.DEFAULT_READ = b.DEFAULT_TOTAL = 0.5;"
    " from loginkit.cli import main; sys.exit(main())",
]


def test_a_provider_that_never_answers_is_waited_for_once_and_worded_alike(
    xdg: dict[str, str],
) -> None:
    with issuer(lambda url: None) as server:
        provider_home_for(server, xdg)
        fast = run_loginkit(*login(server), env=xdg, program=SHORT_BUDGETS)
        assert server.connections == 1, "the full CLI took the timeout, it did not ask again"
        full = run_loginkit(*login(server, "--bind", "127.0.0.1"), env=xdg, program=SHORT_BUDGETS)
        assert server.connections == 2
    assert fast.returncode == full.returncode == 1
    assert "provider_discovery_failed" in fast.stderr
    assert "/.well-known/openid-configuration: timed out waiting for a response" in fast.stderr
    assert fast.stderr == full.stderr


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize(
    "issuer_url",
    [
        pytest.param(f"http://127.0.0.1:{_closed_port()}", id="connection refused"),
        pytest.param("https://login.nonexistent.invalid", id="name not found"),
    ],
)
def test_a_provider_that_cannot_be_reached_is_worded_as_the_full_cli_words_it(
    issuer_url: str, xdg: dict[str, str]
) -> None:
    make_home(provider_home(issuer_url, CLIENT, xdg))
    args = ["login", *QUICK, "--issuer", issuer_url, "--client-id", CLIENT]
    fast = run_loginkit(*args, env=xdg)
    full = run_loginkit(*args, "--bind", "127.0.0.1", env=xdg)
    assert fast.returncode == full.returncode == 1
    assert "provider_discovery_failed" in fast.stderr and "connection failed" in fast.stderr
    assert fast.stderr == full.stderr


def _interrupt_while_asking(server: Issuer, env: dict[str, str], *extra: str) -> tuple[int, str]:
    """Start a sign-in, Ctrl-C it once its discovery request has arrived: exit code, stderr."""
    asked = len(server.requests)
    with spawn(loginkit_command(*login(server, *extra)), env=env, wait=0) as run:
        deadline = time.monotonic() + 30
        while len(server.requests) == asked and time.monotonic() < deadline:
            time.sleep(0.02)
        run.proc.send_signal(signal.SIGINT)
        code = run.proc.wait(5)
        assert run.proc.stderr is not None
        return code, run.proc.stderr.read()


def test_ctrl_c_while_the_provider_is_asked_ends_the_sign_in_in_its_words(
    xdg: dict[str, str],
) -> None:
    with issuer(lambda url: None) as server:
        provider_home_for(server, xdg)
        fast = _interrupt_while_asking(server, xdg)
        full = _interrupt_while_asking(server, xdg, "--bind", "127.0.0.1")
    assert fast[0] == full[0] == 130
    assert "Login was interrupted" in fast[1] and "Traceback" not in fast[1]
    assert fast[1] == full[1], "the same block as the full CLI's"
    assert "odex" not in fast[1], "a generic provider's words name no other program"


def test_a_provider_home_of_its_own_keeps_a_log_that_names_no_other_program(
    xdg: dict[str, str], tmp_path: Path
) -> None:
    with issuer() as server:
        home = provider_home_for(server, xdg)
        fast = run_loginkit(*login(server), env=xdg)
        full = run_loginkit(*login(server, "--bind", "127.0.0.1"), env=xdg)
        token = run_loginkit("token", "--issuer", server.url, "--client-id", CLIENT, env=xdg)
        # Pointed at a Codex-style home, the same provider shares the Codex CLI's file there.
        codex_style = tmp_path / "codex-style"
        codex_style.mkdir(mode=0o700)
        run_loginkit(*login(server), "--codex-home", str(codex_style), env=xdg)
    assert fast.returncode == full.returncode == 1
    assert token.returncode != 0
    assert sorted(p.name for p in (home / "log").iterdir()) == ["loginkit-login.log"]
    log = (home / "log" / "loginkit-login.log").read_text()
    assert log.count("starting browser login flow") == 2, "link-first and full CLI alike"
    assert sorted(p.name for p in (codex_style / "log").iterdir()) == ["codex-login.log"]


def test_a_busy_port_after_discovery_is_the_full_clis_without_a_second_request(
    xdg: dict[str, str],
) -> None:
    # Something that is no login server holds the port: the link-first start cannot have it,
    # the full CLI retries and reports, with the document it was handed.
    with socket.create_server(("127.0.0.1", 0)) as holder, issuer() as server:
        port = str(holder.getsockname()[1])
        provider_home_for(server, xdg)
        args = ["login", "--port", port, "--no-browser", "--timeout", "1"]
        done = run_loginkit(*args, "--issuer", server.url, "--client-id", CLIENT, env=xdg)
        assert len(server.requests) == 1
    assert done.returncode == 1
    assert "local_server_unavailable" in done.stderr
