"""Run ``loginkit`` as a real process: the one place tests start it.

Two ways, both with :func:`env_for`'s environment and :func:`interruptible` in the child:

* :func:`run_loginkit` runs a command to completion and returns its exit code and output;
* :func:`spawn` (and :func:`cli` for ``loginkit login``) starts it and keeps it running, reading
  what a person would see line by line from the live stream (stderr, or stdout with ``--json``)
  until the sign-in link (or a given text), so a test can act on it while the process waits;
  :meth:`Cli.finish` then drains the same buffered reader.

:func:`loginkit_command` builds the command line for either.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
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


def child_env(env: Mapping[str, str] | None = None, unset: Collection[str] = ()) -> dict[str, str]:
    """:func:`env_for` without the ``unset`` names, then ``env`` on top (it may set them again)."""
    merged = {k: v for k, v in env_for(Path()).items() if k not in unset}
    merged.update(env or {})
    return merged


def loginkit_command(
    *args: str,
    home: Path | None = None,
    python_flags: Sequence[str] = (),
    program: Sequence[str] | None = None,
) -> list[str]:
    """``python [PYTHON_FLAGS] -m loginkit ARGS [--codex-home HOME]``.

    ``program`` replaces ``python -m loginkit`` (a wrapper such as ``dbus-run-session``, or a
    ``python -c`` entry); ``home``, when given, goes last, after ``args``.
    """
    if program is None:
        program = [sys.executable, *python_flags, "-m", "loginkit"]
    elif python_flags:
        raise ValueError("python_flags go with the default program only")
    tail = ["--codex-home", str(home)] if home is not None else []
    return [*program, *args, *tail]


def run_loginkit(
    *args: str,
    home: Path | None = None,
    stdin: str | bytes | int | None = None,
    env: Mapping[str, str] | None = None,
    unset: Collection[str] = (),
    timeout: float | None = 60,
    python_flags: Sequence[str] = (),
    program: Sequence[str] | None = None,
    raw: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Run ``loginkit ARGS`` (see :func:`loginkit_command`) to completion; never raises on a
    non-zero exit.

    ``stdin`` is the input as text or bytes, or an open file descriptor (a terminal) to read
    from; without it, stdin is ``/dev/null``. The environment is :func:`child_env` (``unset``
    removed, then ``env`` added). Output is text: decoded by ``text=True`` (universal newlines),
    or with ``raw`` read as bytes and decoded as UTF-8 exactly as written (bytes ``stdin``
    implies ``raw``).
    """
    binary = raw or isinstance(stdin, bytes)
    data: str | bytes | None = None
    source: int | None = subprocess.DEVNULL
    if isinstance(stdin, int):
        source = stdin
    elif stdin is not None:
        source = None
        data = stdin.encode() if binary and isinstance(stdin, str) else stdin
    command = loginkit_command(*args, home=home, python_flags=python_flags, program=program)
    done = subprocess.run(
        command,
        input=data,
        stdin=source,
        capture_output=True,
        text=not binary,
        env=child_env(env, unset),
        timeout=timeout,
        check=False,
        preexec_fn=interruptible,
    )
    if not binary:
        return done
    return subprocess.CompletedProcess(
        done.args, done.returncode, done.stdout.decode(), done.stderr.decode()
    )


def start(
    command: list[str],
    *,
    env: Mapping[str, str] | None = None,
    unset: Collection[str] = (),
    preexec: Callable[[], None] | None = None,
) -> subprocess.Popen[str]:
    """Start ``command`` (a :func:`loginkit_command`) and return at once: stdin ``/dev/null``,
    stdout and stderr text pipes, :func:`child_env`; ``preexec`` runs in the child (resource
    limits) after :func:`interruptible`. The caller waits for it and closes its pipes."""

    def prepare() -> None:
        interruptible()
        if preexec is not None:
            preexec()

    return subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=child_env(env, unset),
        preexec_fn=prepare,  # noqa: PLW1509 - only signal dispositions and resource limits
    )


@contextmanager
def spawn(
    command: list[str],
    *,
    env: Mapping[str, str] | None = None,
    unset: Collection[str] = (),
    preexec: Callable[[], None] | None = None,
    json_mode: bool = False,
    until: str | None = None,
    wait: float = 20,
) -> Iterator[Cli]:
    """Run any ``loginkit login`` command line (maybe behind a wrapper such as ``unshare``) and
    read until the sign-in link, or with ``until`` until a line that contains that text (the
    first link is still noted), for at most ``wait`` seconds; see :func:`start` for ``env``,
    ``unset`` and ``preexec``. The process is killed if it still runs at the end."""
    proc = start(command, env=env, unset=unset, preexec=preexec)
    stream = proc.stdout if json_mode else proc.stderr
    assert stream is not None
    head: list[str] = []
    url = ""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        line = stream.readline()
        if not line:
            break
        head.append(line)
        if json_mode:
            record = json.loads(line)
            if record["type"] == "auth_url":
                url = url or record["url"]
                if until is None:
                    break
        elif line.startswith("http"):
            url = url or line.strip()
            if until is None:
                break
        if until is not None and until in line:
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
    cmd = loginkit_command("login", "--codex-home", str(home), *args)
    if json_mode:
        cmd.append("--json")
    with spawn(cmd, env=env, json_mode=json_mode) as run:
        yield run
