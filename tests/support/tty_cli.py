"""``loginkit login`` with its stdin on a real pseudo-terminal (as in a person's shell), so a test
can paste into it: the unit paste tests and the e2e remote-browser test share it."""

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

from support.cli_runner import env_for

LOGIN = [sys.executable, "-m", "loginkit", "login"]


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
