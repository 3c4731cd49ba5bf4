"""The lock files next to auth.json, as the real Codex CLI 0.169.0 uses them, and loginkit with them.

Observed with strace (`codex login --with-api-key`, `codex logout`, a token refresh in `codex exec`):

1. open `auth.lock` (O_RDWR|O_CREAT, mode 0666 before umask), `flock(LOCK_EX)`, blocking, no
   timeout;
2. read auth.json;
3. open `auth.json.lock` (O_CREAT, mode 0600), `flock(LOCK_EX|LOCK_NB)` every 10 ms for 5 s, then
   "credential commit lock timed out";
4. read auth.json again, write `.auth-XXXXXX` (0600), fsync, rename over auth.json (or unlink it,
   for logout);
5. close both, which releases them. The lock files are never removed.

Readers (`codex login status`) take no lock. A refresh sends its HTTP request *before* taking
either lock and holds them only for the commit (milliseconds).

The first tests pin that protocol on the real binary (a newer pin that changes it fails here);
the others check that loginkit and Codex exclude each other through it.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser
from support.browser import complete_login
from support.cli_runner import cli, env_for
from support.provider import Provider

from .codex_cli import codex_env, loginkit_command, run_codex

OLD_KEY = "sk-proj-old-0000000000"
NEW_KEY = "sk-proj-new-1111111111"
CODEX_KEY = "sk-proj-codex-2222222222"


@contextmanager
def held(home: Path, *names: str) -> Iterator[None]:
    """Hold exclusive flocks on these files (in this order), as a Codex commit does."""
    with ExitStack() as stack:
        for name in names:
            fd = os.open(home / name, os.O_RDWR | os.O_CREAT, 0o600)
            stack.callback(os.close, fd)
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield


def start(command: list[str], env: dict[str, str], stdin: str = "") -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdin is not None
    proc.stdin.write(stdin)
    proc.stdin.close()
    return proc


def stored_key(home: Path) -> str | None:
    path = home / "auth.json"
    if not path.exists():
        return None
    value: Any = json.loads(path.read_text()).get("OPENAI_API_KEY")
    return value if isinstance(value, str) else None


# --- Codex CLI 0.169.0's protocol, pinned on the real binary ---------------------------------


def test_codex_keeps_two_lock_files_next_to_auth_json(codex: Path, home: Path) -> None:
    saved = run_codex(codex, home, "login", "--with-api-key", stdin=CODEX_KEY + "\n")
    assert saved.returncode == 0, saved.stderr

    assert {"auth.json", "auth.json.lock", "auth.lock"} <= {p.name for p in home.iterdir()}
    assert (home / "auth.lock").stat().st_size == (home / "auth.json.lock").stat().st_size == 0
    assert (home / "auth.json.lock").stat().st_mode & 0o777 == 0o600
    assert (home / "auth.lock").stat().st_mode & 0o077 == 0o666 & ~current_umask() & 0o077
    assert not [p.name for p in home.iterdir() if p.name.startswith(".auth-")], "no temp left"

    removed = run_codex(codex, home, "logout")
    assert removed.returncode == 0, removed.stderr
    assert {p.name for p in home.iterdir()} >= {"auth.json.lock", "auth.lock"}
    assert not (home / "auth.json").exists()


def test_codex_waits_as_long_as_auth_lock_is_held(codex: Path, home: Path) -> None:
    with held(home, "auth.lock"):
        proc = start(
            [str(codex), "login", "--with-api-key"], codex_env(home), stdin=CODEX_KEY + "\n"
        )
        time.sleep(1.5)
        assert proc.poll() is None, "codex went ahead under a held auth.lock"
        assert not (home / "auth.json").exists()
    assert proc.wait(timeout=30) == 0
    assert stored_key(home) == CODEX_KEY


def test_codex_gives_up_on_auth_json_lock_after_five_seconds(codex: Path, home: Path) -> None:
    with held(home, "auth.json.lock"):
        started = time.monotonic()
        saved = run_codex(codex, home, "login", "--with-api-key", stdin=CODEX_KEY + "\n")
        took = time.monotonic() - started
    assert saved.returncode == 1
    assert "Error logging in: credential commit lock timed out" in saved.stderr
    assert 4.5 <= took < 15, took
    assert not (home / "auth.json").exists()


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# --- loginkit with Codex's locks --------------------------------------------------------------


LOGINKIT_WRITES = {
    "login --with-api-key": (("login", "--with-api-key"), NEW_KEY),
    "logout": (("logout",), None),
}


@pytest.mark.parametrize("command", LOGINKIT_WRITES)
@pytest.mark.parametrize(
    "locks",
    [
        pytest.param(("auth.lock", "auth.json.lock"), id="codex-commit"),
        pytest.param(("auth.json.lock",), id="auth.json.lock"),
        pytest.param(("auth.lock",), id="auth.lock"),
    ],
)
def test_loginkit_writes_wait_for_codex_locks(
    codex: Path, home: Path, command: str, locks: tuple[str, ...]
) -> None:
    assert run_codex(codex, home, "login", "--with-api-key", stdin=OLD_KEY + "\n").returncode == 0
    args, expected = LOGINKIT_WRITES[command]
    with held(home, *locks):
        proc = start(loginkit_command(home, *args), env_for(home), stdin=NEW_KEY + "\n")
        time.sleep(1.0)
        running = proc.poll() is None
        during = stored_key(home)
    code = proc.wait(timeout=30)
    assert proc.stderr is not None
    assert code == 0, proc.stderr.read()
    assert running, f"loginkit did not wait for {' + '.join(locks)}"
    assert during == OLD_KEY, "loginkit wrote auth.json while Codex held its lock"
    assert stored_key(home) == expected


# --- a slow loginkit refresh must not make Codex's writes fail ---------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_a_codex_write_during_a_slow_loginkit_refresh_succeeds(
    codex: Path, home: Path, provider: Provider, browser: Browser
) -> None:
    with cli(home, "--issuer", provider.issuer, "--port", "0", "--no-browser") as run:
        complete_login(browser, run.url)
        code, _, err = run.finish()
    assert code == 0, err
    auth = json.loads((home / "auth.json").read_text())
    expired = {"exp": int(time.time()) - 30}
    auth["tokens"]["access_token"] = ".".join(
        [b64url(b"{}"), b64url(json.dumps(expired).encode()), b64url(b"sig")]
    )
    (home / "auth.json").write_text(json.dumps(auth, indent=2))

    before = provider.stats()["refresh_requests"]
    provider.set_fault("stall", seconds=6, grant_type="refresh_token")
    try:
        refresher = start(loginkit_command(home, "token"), env_for(home))
        deadline = time.monotonic() + 10
        while provider.stats()["refresh_requests"] == before:
            assert time.monotonic() < deadline, "loginkit token never sent its refresh"
            time.sleep(0.05)
        # loginkit's refresh request is stalled at the provider; now Codex stores an API key.
        saved = run_codex(codex, home, "login", "--with-api-key", stdin=CODEX_KEY + "\n")
        refresher.wait(timeout=30)
    finally:
        provider.clear_fault()
    assert saved.returncode == 0, saved.stderr
    assert stored_key(home) == CODEX_KEY, "the last writer was Codex"
