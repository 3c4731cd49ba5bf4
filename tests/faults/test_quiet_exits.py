"""No tracebacks: a reader that closed the pipe (``loginkit token | head -c1``) and Ctrl-C during a
refresh end the real ``loginkit`` process quietly, with 141 (128 + SIGPIPE) and 130."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

from support.cli_runner import child_env, interruptible, loginkit_command, start
from unit.fake_issuer import Behaviour, FakeIssuer, make_jwt, running_fake_issuer


def _auth(home: Path, exp: int) -> str:
    access = make_jwt({"exp": exp})
    tokens = {"id_token": make_jwt({}), "access_token": access, "refresh_token": "rt-value-123"}
    auth = {"auth_mode": "chatgpt", "OPENAI_API_KEY": None, "tokens": tokens}
    (home / "auth.json").write_text(json.dumps(auth))
    (home / "auth.json").chmod(0o600)  # as Codex writes it: 0644 would be tightened, with a warning
    return access


def _token_into_a_closed_pipe(home: Path) -> subprocess.CompletedProcess[bytes]:
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the token is written (head -c1 already done)
    try:
        return subprocess.run(
            loginkit_command("token", home=home),
            stdin=subprocess.DEVNULL,
            stdout=write_end,
            stderr=subprocess.PIPE,
            env=child_env(),
            timeout=60,
            check=False,
            preexec_fn=interruptible,
        )
    finally:
        os.close(write_end)


def test_a_closed_pipe_ends_loginkit_token_quietly_with_141(home: Path) -> None:
    _auth(home, int(time.time()) + 3600)
    fast = _token_into_a_closed_pipe(home)  # the os/sys/json fast path
    (home / "config.toml").write_text("")
    full = _token_into_a_closed_pipe(home)  # the full CLI (config.toml sends it there)
    for done in (fast, full):
        assert done.returncode == 141, done.stderr.decode()
        assert done.stderr == b"", "no traceback, no 'Exception ignored' line"


def test_ctrl_c_during_a_refresh_ends_quietly_with_130(home: Path) -> None:
    stall = FakeIssuer(script=[Behaviour("stall", seconds=20)])
    with running_fake_issuer(stall) as fake:
        _auth(home, int(time.time()) - 10)
        env = {"CODEX_REFRESH_TOKEN_URL_OVERRIDE": f"{fake.issuer}/oauth/token"}
        proc = start(loginkit_command("token", home=home), env=env)
        try:
            deadline = time.monotonic() + 20
            while not fake.paths and time.monotonic() < deadline:
                time.sleep(0.05)
            assert fake.paths, "the refresh request never arrived"
            proc.send_signal(signal.SIGINT)  # the refresh request is held open by the endpoint
            out, err = proc.communicate(timeout=15)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert proc.returncode == 130, err
    assert out == ""
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
