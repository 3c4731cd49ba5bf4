"""Run ``loginkit login`` as a real process and read what a person would see.

The link is read line by line from the live stream (stderr, or stdout with ``--json``) so a test can
act on it while the process waits; :meth:`Cli.finish` then drains the same buffered reader.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit


@dataclass
class Cli:
    proc: subprocess.Popen[str]
    head: list[str]
    url: str
    json_mode: bool = False

    @property
    def port(self) -> int:
        return int(
            parse_qs(urlsplit(self.url).query)["redirect_uri"][0].split(":")[2].split("/")[0]
        )

    @property
    def state(self) -> str:
        return parse_qs(urlsplit(self.url).query)["state"][0]

    def finish(self, timeout: float = 30) -> tuple[int, str, str]:
        """Wait for exit; returns (code, stdout, stderr), with the lines already read in front.

        The stream that was read line by line must be drained through the same buffered reader
        (a raw read would lose what its buffer already holds).
        """
        self.proc.wait(timeout=timeout)
        assert self.proc.stdout is not None and self.proc.stderr is not None
        out, err = self.proc.stdout.read(), self.proc.stderr.read()
        if self.json_mode:
            return self.proc.returncode, "".join(self.head) + out, err
        return self.proc.returncode, out, "".join(self.head) + err


def interruptible() -> None:
    """In the child before exec: Ctrl-C (SIGINT) back to its default disposition. A shell runs a
    background job (``./dev test &``, a CI step in the background) with SIGINT ignored, children
    inherit that, and Python then never installs its KeyboardInterrupt handler: every Ctrl-C
    test would hang instead of testing anything."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def env_for(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CODEX_HOME", "BROWSER")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


@contextmanager
def spawn(
    command: list[str],
    *,
    env: dict[str, str] | None = None,
    preexec: Callable[[], None] | None = None,
    json_mode: bool = False,
) -> Iterator[Cli]:
    """Run any ``loginkit login`` command line (maybe behind a wrapper such as ``unshare``) and
    read until the sign-in link; ``env`` adds to (or overrides) a clean copy of ours, ``preexec``
    runs in the child (resource limits) after :func:`interruptible`."""

    def prepare() -> None:
        interruptible()
        if preexec is not None:
            preexec()

    proc = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**env_for(Path()), **(env or {})},
        preexec_fn=prepare,  # noqa: PLW1509 - only signal dispositions and resource limits
    )
    stream = proc.stdout if json_mode else proc.stderr
    assert stream is not None
    head: list[str] = []
    url = ""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        line = stream.readline()
        if not line:
            break
        head.append(line)
        if json_mode:
            record = json.loads(line)
            if record["type"] == "auth_url":
                url = record["url"]
                break
        elif line.startswith("http"):
            url = line.strip()
            break
    try:
        yield Cli(proc, head, url, json_mode)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()


@contextmanager
def cli(
    home: Path, *args: str, json_mode: bool = False, env: dict[str, str] | None = None
) -> Iterator[Cli]:
    """Start ``loginkit login --codex-home HOME ARGS``; see :func:`spawn`."""
    cmd = [sys.executable, "-m", "loginkit", "login", "--codex-home", str(home), *args]
    if json_mode:
        cmd.append("--json")
    with spawn(cmd, env=env, json_mode=json_mode) as run:
        yield run
