"""The real Codex CLI for the interop tests: install it, find its binary, run it.

`tests/codex/package.json` pins `@openai/codex`; `npm ci --prefix tests/codex` brings the prebuilt
Rust binary (`@openai/codex-linux-x64`, about 300 MB). We run that binary directly: the
`node_modules/.bin/codex` launcher only adds a Node start-up.

:func:`ensure_codex` installs the package when the binary is missing and *skips* the tests only
when the npm registry cannot be reached (no network); any other install problem fails them.
"""

from __future__ import annotations

import fcntl
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from queue import Empty, Queue
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from support.cli_runner import env_for

REPO_ROOT = Path(__file__).resolve().parents[2]
CODEX_DIR = REPO_ROOT / "tests" / "codex"
CODEX_VERSION = "0.169.0"
#: Codex's loopback port (and loginkit's default). The interop tests use the real one.
CODEX_PORT = 1455
INSTALL_HINT = "npm ci --prefix tests/codex --no-audit --no-fund"

_TARGETS = {
    "x86_64": ("codex-linux-x64", "x86_64-unknown-linux-musl"),
    "aarch64": ("codex-linux-arm64", "aarch64-unknown-linux-musl"),
}

#: What Codex itself must not see from the developer's shell.
_SCRUBBED = ("CODEX_HOME", "BROWSER", "OPENAI_API_KEY", "CODEX_API_KEY", "RUST_LOG")


def binary_path(codex_dir: Path = CODEX_DIR) -> Path:
    """Where `npm ci --prefix tests/codex` puts the Codex binary for this machine."""
    machine = platform.machine()
    if platform.system() != "Linux" or machine not in _TARGETS:
        pytest.fail(
            f"the interop tests run the Linux Codex binary; no target for {platform.system()} "
            f"{machine}"
        )
    package, triple = _TARGETS[machine]
    return codex_dir / "node_modules" / "@openai" / package / "vendor" / triple / "bin" / "codex"


def _version_of(binary: Path) -> str:
    if not os.access(binary, os.X_OK):
        return ""
    result = subprocess.run(
        [str(binary), "--version"], capture_output=True, text=True, timeout=30, check=False
    )
    return result.stdout.strip()


#: npm's error codes for "could not reach the registry" (DNS, refused, unroutable, timed out).
_NETWORK_ERRORS = re.compile(
    r"\b(ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ESOCKETTIMEDOUT|ENETUNREACH|"
    r"EHOSTUNREACH|ERR_SOCKET_TIMEOUT|ENETDOWN)\b"
)


def _registry_unreachable(codex_dir: Path) -> str | None:
    """Why the npm registry cannot be reached (through npm's own config), or None if it can.

    Only a network failure counts: a registry that answers with an error (auth, 404, ...) is
    reachable, and the install failure is then a real failure.
    """
    try:
        ping = subprocess.run(
            ["npm", "ping"], cwd=codex_dir, capture_output=True, text=True, timeout=60, check=False
        )
    except subprocess.TimeoutExpired:
        return "`npm ping` timed out after 60 s"
    output = ping.stdout + ping.stderr
    if ping.returncode == 0 or not _NETWORK_ERRORS.search(output):
        return None
    reason = next(
        (line for line in output.splitlines() if "request to" in line or "code E" in line),
        output.strip().splitlines()[-1],
    )
    return "`npm ping`: " + reason.removeprefix("npm error ").strip()


def _install(codex_dir: Path) -> None:
    """`npm ci` in ``codex_dir``; skips when the registry is unreachable, else fails loudly."""
    try:
        install = subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund"],
            cwd=codex_dir,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
    except FileNotFoundError:
        pytest.fail("`npm` is not on PATH: the interop tests install the real Codex CLI with it")
    except subprocess.TimeoutExpired:
        output, failed = "timed out after 900 s", True
    else:
        output, failed = install.stdout + install.stderr, install.returncode != 0
    if not failed:
        return
    unreachable = _registry_unreachable(codex_dir)
    if unreachable is not None:
        pytest.skip(
            f"the real Codex CLI (@openai/codex {CODEX_VERSION}) is not installed and the npm "
            f"registry is unreachable ({unreachable}); run `{INSTALL_HINT}` when online"
        )
    pytest.fail(f"`{INSTALL_HINT}` failed:\n{output[-4000:]}")


def ensure_codex(codex_dir: Path = CODEX_DIR) -> Path:
    """The pinned Codex binary, installed first if needed; skips only without the registry.

    An flock on package.json keeps two test runs from installing into the same directory at once.
    """
    binary = binary_path(codex_dir)
    expected = f"codex-cli {CODEX_VERSION}"
    fd = os.open(codex_dir / "package.json", os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        if _version_of(binary) != expected:
            _install(codex_dir)
    finally:
        os.close(fd)
    version = _version_of(binary)
    if version != expected:
        pytest.fail(f"{binary} reports {version!r} after `{INSTALL_HINT}`, expected {expected}")
    return binary


def codex_env(home: Path, **extra: str) -> dict[str, str]:
    """Our environment for Codex: its home is ``home``; opening a browser runs ``true``.

    Codex refuses a CODEX_HOME that does not exist, so it is created here.
    """
    home.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED}
    env["CODEX_HOME"] = str(home)
    # Codex opens the link with the `webbrowser` crate, which honours $BROWSER: `true` returns
    # at once, so nothing waits on xdg-open and no window appears.
    env["BROWSER"] = "true"
    env.update(extra)
    return env


def _run(
    command: list[str], env: dict[str, str], stdin: str | None, timeout: float
) -> subprocess.CompletedProcess[str]:
    """A command to completion: ``stdin`` as its input (else none), text output captured."""
    return subprocess.run(
        command,
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )


def run_codex(
    codex: Path, home: Path, *args: str, stdin: str | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return _run([str(codex), *args], codex_env(home), stdin, timeout)


def output_lines(text: str) -> list[str]:
    """Codex's lines without its harmless warnings (e.g. CODEX_HOME under /tmp)."""
    return [line for line in text.splitlines() if line and not line.startswith("WARNING: ")]


class LineReader:
    """Collects a pipe's lines on a thread, so a test can wait for one with a deadline."""

    def __init__(self, stream: object) -> None:
        self.lines: list[str] = []
        self._queue: Queue[str | None] = Queue()
        self._thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self._thread.start()

    def _pump(self, stream: object) -> None:
        for line in stream:  # type: ignore[attr-defined]
            self.lines.append(line)
            self._queue.put(line)
        self._queue.put(None)

    def wait_for(self, predicate: re.Pattern[str], timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"no line matching {predicate.pattern!r} within {timeout} s; got:\n"
                    + "".join(self.lines)
                )
            try:
                line = self._queue.get(timeout=remaining)
            except Empty:
                continue
            if line is None:
                raise AssertionError(
                    f"stream ended without a line matching {predicate.pattern!r}; got:\n"
                    + "".join(self.lines)
                )
            if predicate.search(line):
                return line

    def text(self, timeout: float = 10) -> str:
        """Everything, once the stream has ended."""
        self._thread.join(timeout)
        return "".join(self.lines)


@dataclass
class CodexLogin:
    """A running `codex login` (browser flow) and the link it printed."""

    proc: subprocess.Popen[str]
    stderr: LineReader
    stdout: LineReader
    url: str = ""
    lines: list[str] = field(default_factory=list)

    @property
    def port(self) -> int:
        redirect = parse_qs(urlsplit(self.url).query)["redirect_uri"][0]
        port = urlsplit(redirect).port
        assert port is not None
        return port

    def wait(self, timeout: float) -> tuple[int, str]:
        """Wait for exit: (exit code, all of stderr)."""
        self.proc.wait(timeout=timeout)
        return self.proc.returncode, self.stderr.text()


def stop(proc: subprocess.Popen[Any]) -> None:
    """End a process we started in its own session, with everything it spawned."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@contextmanager
def codex_login(codex: Path, home: Path) -> Iterator[CodexLogin]:
    """Start `codex login` and wait until its link is printed (its server is listening then)."""
    proc = subprocess.Popen(
        [str(codex), "login"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=codex_env(home),
        start_new_session=True,
    )
    assert proc.stdout is not None and proc.stderr is not None
    login = CodexLogin(proc, LineReader(proc.stderr), LineReader(proc.stdout))
    try:
        login.url = login.stderr.wait_for(re.compile(r"^https://"), timeout=30).strip()
        yield login
    finally:
        stop(proc)


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether nothing listens on ``host:port`` (as a server binds: TIME_WAIT does not count)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def wait_until_free(port: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not port_is_free(port):
        if time.monotonic() > deadline:
            raise AssertionError(f"127.0.0.1:{port} is still in use after {timeout} s")
        time.sleep(0.05)


def require_codex_port() -> None:
    """The takeover tests need Codex's real port; someone else holding it is a failure."""
    try:
        wait_until_free(CODEX_PORT, timeout=5)
    except AssertionError:
        pytest.fail(
            f"127.0.0.1:{CODEX_PORT} is held by another program (a real `codex login`?); the "
            "interop tests need Codex's own port"
        )


def loginkit_command(home: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "loginkit", *args, "--codex-home", str(home)]


def run_loginkit(
    home: Path, *args: str, stdin: str | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run a loginkit command (`login status`, `token`, ...) as a process on ``home``."""
    return _run(loginkit_command(home, *args), env_for(home), stdin, timeout)


def codex_mask(key: str) -> str:
    """Codex's masking of an API key, written from its observed output (not loginkit's code)."""
    return "***" if len(key) <= 13 else key[:8] + "***" + key[-5:]
