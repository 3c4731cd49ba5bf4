"""Run tests/provider/server.mjs (a real oidc-provider shaped like auth.openai.com) for a test.

Stdlib only, so it can be used from any test without extra dependencies.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
PROVIDER_DIR = REPO_ROOT / "tests" / "provider"
SERVER_JS = PROVIDER_DIR / "server.mjs"
# Normally under a second; the deadline only catches a provider that will never start. A CI run
# once saw a start take over 20 s on a busy machine, so the failure report says which step of
# the start was slow (the provider prints milestones on stderr) and what the process was doing.
READY_TIMEOUT_S = 60.0


class ProviderError(RuntimeError):
    """The test provider could not be started or answered a control request badly."""


def check_provider_installed() -> None:
    """Fail clearly when the provider's npm dependencies are not installed."""
    if not (PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir():
        raise ProviderError(
            f"{PROVIDER_DIR / 'node_modules'} is missing: run `npm ci --prefix tests/provider` "
            "in the repository root (needs Node >= 20.18)"
        )
    if shutil.which("node") is None:
        raise ProviderError("`node` is not on PATH: the test provider needs Node >= 20.18")


@dataclass
class Provider:
    """A running test provider. `issuer` has no trailing slash."""

    issuer: str
    port: int
    process: subprocess.Popen[bytes] = field(repr=False)

    @property
    def token_endpoint(self) -> str:
        return f"{self.issuer}/oauth/token"

    @property
    def authorization_endpoint(self) -> str:
        return f"{self.issuer}/oauth/authorize"

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.issuer}{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"} if data is not None else {},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            raise ProviderError(f"{method} {path}: {exc.code} {exc.read()!r}") from exc

    def set_fault(self, kind: str, **kw: Any) -> dict[str, Any]:
        """Make the next `count` (default 1) token requests of `grant_type` (default: any) fail.

        kind: "status" (status, body, content_type), "garbage" (200 non-JSON; body,
        content_type), "stall" (seconds, then close), "reset" (TCP RST), "redirect" (302 to
        /oauth/token2), or "none" (clear).
        """
        result: dict[str, Any] = self._call("POST", "/__test/fault", {"kind": kind, **kw})
        return result

    def clear_fault(self) -> None:
        self.set_fault("none")

    def stats(self) -> dict[str, int]:
        """Counters: token_requests, refresh_requests, refresh_errors, code_exchanges,
        api_key_exchanges."""
        result: dict[str, int] = self._call("GET", "/__test/stats")
        return result

    def reset_stats(self) -> None:
        self._call("POST", "/__test/reset-stats", {})

    @contextmanager
    def codex_device_disabled(self) -> Iterator[None]:
        """Codex's device endpoints answer 404 (a workspace without device sign-in) while inside."""
        self._call("POST", "/__test/codex-device", {"enabled": False})
        try:
            yield
        finally:
            self._call("POST", "/__test/codex-device", {"enabled": True})


def _process_state(pid: int) -> str:
    """What the kernel says a (stuck) process is doing, and how busy the machine is."""
    facts = []
    for name in ("wchan", "stat"):
        try:
            facts.append(f"{name}: {Path(f'/proc/{pid}/{name}').read_text().strip()}")
        except OSError as exc:
            facts.append(f"{name}: unreadable ({exc.strerror})")
    try:
        facts.append(f"loadavg: {Path('/proc/loadavg').read_text().strip()}")
    except OSError:
        pass
    return "; ".join(facts)


def _read_ready_line(process: subprocess.Popen[bytes], timeout_s: float) -> dict[str, Any]:
    """Read the first stdout line in a thread so that the wait has a deadline."""
    assert process.stdout is not None
    stdout = process.stdout
    lines: list[bytes] = []
    reader = threading.Thread(target=lambda: lines.append(stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout_s)
    if not lines or not lines[0]:
        raise ProviderError("no ready line")
    ready: dict[str, Any] = json.loads(lines[0])
    if ready.get("ready") is not True:
        raise ProviderError(f"unexpected first line: {lines[0]!r}")
    return ready


@contextmanager
def started_server(
    command: Sequence[str], *, cwd: Path, name: str, env: dict[str, str] | None = None
) -> Iterator[tuple[subprocess.Popen[bytes], dict[str, Any]]]:
    """Start a test server that prints one JSON ready line on stdout, and stop it on exit.

    Yields the process and its ready line. Its stderr goes to a temporary file, shown (with what
    the kernel says the process is doing) if it is not ready within ``READY_TIMEOUT_S``.
    """
    with tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(
            list(command),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr,
            env=env,
        )
        try:
            try:
                ready = _read_ready_line(process, READY_TIMEOUT_S)
            except (ProviderError, ValueError) as exc:
                state = _process_state(process.pid) if process.poll() is None else "exited"
                process.kill()
                process.wait()
                stderr.seek(0)
                raise ProviderError(
                    f"{name} did not start within {READY_TIMEOUT_S:.0f} s "
                    f"({exc}; exit code {process.returncode}; {state}); stderr:\n"
                    + stderr.read().decode(errors="replace")
                ) from exc
            yield process, ready
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            if process.stdout is not None:
                process.stdout.close()


@contextmanager
def start_provider(*, access_ttl: int = 3600, extra_args: Sequence[str] = ()) -> Iterator[Provider]:
    """Start `node tests/provider/server.mjs --port 0 ...` and stop it on exit.

    extra_args e.g. ("--no-codex-device",). The provider's stderr goes to a temporary file and
    is shown if it fails to start.
    """
    check_provider_installed()
    command = [
        "node",
        str(SERVER_JS),
        "--port",
        "0",
        "--access-ttl",
        str(access_ttl),
        *extra_args,
    ]
    env = {**os.environ, "NODE_ENV": "test"}
    with started_server(command, cwd=PROVIDER_DIR, name="test provider", env=env) as (
        process,
        ready,
    ):
        yield Provider(issuer=ready["issuer"], port=int(ready["port"]), process=process)
