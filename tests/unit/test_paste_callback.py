"""A browser on another machine: the person pastes the address it ended on into the terminal.

The CLI runs with its stdin on a real pseudo-terminal (as in a person's shell); what is pasted is
written to the terminal's master side.
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from support.cli_runner import env_for
from syrupy.assertion import SnapshotAssertion

from loginkit.loopback._paste import pasted_callback_target

from .fake_issuer import FakeIssuer
from .helpers import http_get
from .snapshot_ext import TextSnapshot
from .test_cli import normalise

LOGIN = [sys.executable, "-m", "loginkit", "login"]
QUICK = ["--port", "0", "--no-browser", "--timeout", "1"]


@dataclass
class TtyCli:
    proc: subprocess.Popen[str]
    master: int
    head: str

    @property
    def link(self) -> str:
        return next(line for line in self.head.splitlines() if line.startswith("http"))

    @property
    def state(self) -> str:
        return parse_qs(urlsplit(self.link).query)["state"][0]

    @property
    def port(self) -> int:
        redirect = parse_qs(urlsplit(self.link).query)["redirect_uri"][0]
        return int(urlsplit(redirect).port or 0)

    def paste(self, text: str) -> None:
        os.write(self.master, text.encode() + b"\n")

    def read_until(self, marker: str, timeout: float = 20) -> str:
        """stderr until ``marker`` (or the deadline: a missing line fails the test, never hangs
        it)."""
        assert self.proc.stderr is not None
        fd = self.proc.stderr.fileno()
        seen = b""
        deadline = time.monotonic() + timeout
        while marker.encode() not in seen:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                break
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            seen += chunk
        return seen.decode()

    def rest(self) -> str:
        """Everything stderr still has, once the process has ended."""
        assert self.proc.stderr is not None
        chunks = []
        while chunk := os.read(self.proc.stderr.fileno(), 65536):
            chunks.append(chunk)
        return b"".join(chunks).decode()


def _take_the_terminal() -> None:
    # In the child, after setsid(): stdin (the pty) becomes its controlling terminal, and its
    # process group the terminal's foreground job, as for a command typed at a shell prompt.
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


@contextmanager
def tty_login(
    home: Path, issuer: str, *extra: str, foreground: bool = True, until: str = "press Enter."
) -> Iterator[TtyCli]:
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [
            *LOGIN,
            "--codex-home",
            str(home),
            "--issuer",
            issuer,
            "--port",
            "0",
            "--no-browser",
            *extra,
        ],
        stdin=slave,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env_for(home),
        start_new_session=True,
        preexec_fn=_take_the_terminal if foreground else None,  # noqa: PLW1509
    )
    os.close(slave)
    cli = TtyCli(proc, master, "")
    try:
        cli.head = cli.read_until(until)
        yield cli
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        os.close(master)
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()


def test_pasting_the_address_the_browser_ended_on_signs_in(
    home: Path, fake_issuer: FakeIssuer, snapshot: SnapshotAssertion
) -> None:
    with tty_login(home, fake_issuer.issuer) as cli:
        cli.paste("I approved it, what now?")
        cli.head += cli.read_until("press Ctrl-C to stop.")
        # The browser ran where nothing listens on the port: the address is all there is.
        cli.paste(f"  http://localhost:{cli.port}/auth/callback?code=c0de&state={cli.state}  ")
        cli.proc.wait(timeout=30)
        err = cli.head + cli.rest()
    assert cli.proc.returncode == 0, err
    assert normalise(err, cli.port) == snapshot(extension_class=TextSnapshot, name="cli_pasted")
    assert fake_issuer.requests[0]["code"] == "c0de"
    assert (home / "auth.json").exists()


def test_a_pasted_address_from_another_attempt_is_refused_and_the_run_goes_on(
    home: Path, fake_issuer: FakeIssuer
) -> None:
    with tty_login(home, fake_issuer.issuer) as cli:
        cli.paste(f"http://localhost:{cli.port}/auth/callback?code=old&state=stale-state")
        shown = cli.read_until("Details: callback_state_mismatch")
        assert "Couldn't verify this sign-in attempt" in shown
        assert cli.proc.poll() is None, "still waiting for the right callback"
        cli.paste(f"http://localhost:{cli.port}/auth/callback?code=new&state={cli.state}")
        cli.proc.wait(timeout=30)
    assert cli.proc.returncode == 0
    assert [r["code"] for r in fake_issuer.requests if "code" in r] == ["new"]


def test_a_pasted_address_with_spaces_or_non_ascii_is_sent_encoded(
    home: Path, fake_issuer: FakeIssuer
) -> None:
    with tty_login(home, fake_issuer.issuer) as cli:
        cli.paste(f"http://localhost:{cli.port}/auth/callback?code=a b-café&state={cli.state}")
        cli.proc.wait(timeout=30)
        err = cli.head + cli.rest()
    assert cli.proc.returncode == 0, err
    assert "Traceback" not in err
    assert fake_issuer.requests[0]["code"] == "a b-café"


def test_a_pasted_address_reaches_a_server_bound_to_another_address(
    home: Path, fake_issuer: FakeIssuer
) -> None:
    with tty_login(home, fake_issuer.issuer, "--bind", "127.0.0.2") as cli:
        cli.paste(f"http://localhost:{cli.port}/auth/callback?code=c&state={cli.state}")
        cli.proc.wait(timeout=30)
        err = cli.head + cli.rest()
    assert cli.proc.returncode == 0, err


def test_a_background_job_neither_reads_the_terminal_nor_stops(
    home: Path, fake_issuer: FakeIssuer
) -> None:
    """`loginkit login &`: reading the terminal from the background would stop the process
    (SIGTTIN) and with it the callback server; a job that is not the terminal's foreground one
    never reads it and says nothing about pasting."""
    with tty_login(
        home, fake_issuer.issuer, foreground=False, until="On a remote or headless machine?"
    ) as cli:
        assert http_get(cli.port, f"/auth/callback?code=c&state={cli.state}").status == 302
        http_get(cli.port, "/success")
        cli.proc.wait(timeout=30)
        err = cli.head + cli.rest()
    assert cli.proc.returncode == 0, err
    assert "paste" not in err


def test_no_hint_and_no_reading_when_stdin_is_not_a_terminal(
    home: Path, fake_issuer: FakeIssuer
) -> None:
    done = subprocess.run(
        [*LOGIN, "--codex-home", str(home), "--issuer", fake_issuer.issuer, *QUICK],
        input="http://localhost:1/auth/callback?code=x&state=y\n",
        capture_output=True,
        text=True,
        env=env_for(home),
        timeout=30,
        check=False,
    )
    assert "paste" not in done.stderr
    assert not fake_issuer.requests
    assert done.returncode == 1


@pytest.mark.parametrize(
    ("text", "target"),
    [
        ("http://localhost:1455/auth/callback?code=a&state=b", "/auth/callback?code=a&state=b"),
        (
            "http://127.0.0.1:9/auth/callback?error=access_denied",
            "/auth/callback?error=access_denied",
        ),
        ("  https://x.example/auth/callback?code=a  \n", "/auth/callback?code=a"),
        ("http://localhost:1455/auth/callback", None),
        ("http://localhost:1455/success?x=1", None),
        ("code=a&state=b", None),
        ("", None),
    ],
)
def test_what_counts_as_a_pasted_callback(text: str, target: str | None) -> None:
    assert pasted_callback_target(text) == target
