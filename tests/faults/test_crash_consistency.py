"""Issue 4.5: kill -9 at each point of a credentials write leaves the old or the new auth.json.

The writer runs in a child process that SIGKILLs itself at a chosen point (``crash_child.py``), so
nothing of Python's cleanup runs: no ``finally``, no flush, no unlink. A separate test kills a writer
at random moments from outside, and another kills the real ``loginkit login`` in the middle of
saving the credentials of a sign-in, then signs in again (the lock died with the process).

A process crash keeps what reached the kernel; power loss is covered by the order of operations
instead (temp file, 0600, data, fsync, rename, fsync of the directory), checked call by call.
"""

from __future__ import annotations

import json
import os
import random
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from support.cli_runner import loginkit_command, spawn
from support.loopback import exchange

from loginkit.store._authfile import AuthDotJson, FileStore, TokenData, write_atomic

from .crash_child import POINTS

from security.harness import Issuer  # isort: skip

CHILD = Path(__file__).with_name("crash_child.py")
#: Where the rename has happened, the new file must be there; before it, the old one.
NEW_FROM = {"after_rename", "after_dir_fsync"}


def auth_bytes(tag: str, size: int = 0) -> bytes:
    auth = AuthDotJson(
        auth_mode="chatgpt",
        openai_api_key=f"sk-{tag}",
        tokens=TokenData(
            id_token=f"id-{tag}-" + "i" * size,
            access_token=f"at-{tag}",
            refresh_token=f"rt-{tag}",
            account_id="org-alice",
        ),
        last_refresh="2026-11-29T00:00:00.000000Z",
    )
    return auth.to_json().encode()


def temp_files(home: Path) -> list[Path]:
    return sorted(home.glob(".auth.json.*.tmp"))


@pytest.mark.parametrize("point", POINTS)
def test_kill_9_at_each_point_of_a_write_leaves_old_or_new(tmp_path: Path, point: str) -> None:
    home = tmp_path / "home"
    home.mkdir()
    target = home / "auth.json"
    old, new = auth_bytes("old"), auth_bytes("new", size=50_000)
    write_atomic(target, old)
    source = tmp_path / "new.json"
    source.write_bytes(new)

    done = subprocess.run(
        [sys.executable, str(CHILD), point, str(target), str(source)], timeout=30, check=False
    )

    assert done.returncode == -signal.SIGKILL, "the writer died at the chosen point"
    assert target.read_bytes() == (new if point in NEW_FROM else old)
    assert FileStore(home).load() is not None, "what is there loads"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    for leftover in temp_files(home):
        # A crash before the rename leaves the temporary file: never readable by others, never
        # taken for auth.json, and replaced by the next write like any other.
        assert stat.S_IMODE(leftover.stat().st_mode) == 0o600
    FileStore(home).save(AuthDotJson.from_json(new.decode()))
    assert target.read_bytes() == new


@pytest.mark.parametrize("point", ["mid_write", "before_rename"])
def test_kill_9_during_the_first_write_leaves_no_auth_json(tmp_path: Path, point: str) -> None:
    home = tmp_path / "home"
    target = home / "auth.json"
    source = tmp_path / "new.json"
    source.write_bytes(auth_bytes("new"))
    done = subprocess.run(
        [sys.executable, str(CHILD), point, str(target), str(source)], timeout=30, check=False
    )
    assert done.returncode == -signal.SIGKILL
    assert not target.exists(), "no credentials rather than damaged ones"
    assert FileStore(home).load() is None


def test_kill_9_at_random_moments_never_leaves_a_torn_file(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    target = home / "auth.json"
    small, large = auth_bytes("a"), auth_bytes("b", size=400_000)
    write_atomic(target, small)
    (tmp_path / "a").write_bytes(small)
    (tmp_path / "b").write_bytes(large)
    rng = random.Random(4)
    seen = set()
    for _ in range(25):
        child = subprocess.Popen(
            [
                sys.executable,
                str(CHILD),
                "loop",
                str(target),
                str(tmp_path / "a"),
                str(tmp_path / "b"),
            ],
            stdout=subprocess.PIPE,
        )
        assert child.stdout is not None
        assert child.stdout.readline() == b"ready\n"
        time.sleep(rng.uniform(0.0, 0.03))
        child.send_signal(signal.SIGKILL)
        child.wait(10)
        child.stdout.close()
        content = target.read_bytes()
        assert content in (small, large), "a torn auth.json"
        seen.add(content == large)
    assert seen == {True, False}, "the kills landed on both kinds of write"


def test_the_order_of_operations_survives_power_loss(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Data reaches the disk before the rename makes it visible; the rename reaches it after."""
    home = tmp_path / "home"
    home.mkdir()
    target = home / "auth.json"
    write_atomic(target, auth_bytes("old"))
    log: list[str] = []
    real = {name: getattr(os, name) for name in ("fchmod", "fsync", "replace")}

    def fchmod(fd: int, mode: int) -> None:
        log.append(f"fchmod {oct(mode)} size={os.fstat(fd).st_size}")
        real["fchmod"](fd, mode)

    def fsync(fd: int) -> None:
        kind = "dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file"
        log.append(f"fsync {kind} size={os.fstat(fd).st_size if kind == 'file' else '-'}")
        real["fsync"](fd)

    def replace(src: Any, dst: Any) -> None:
        same_dir = Path(src).parent == Path(dst).parent
        log.append(f"replace same_dir={same_dir}")
        real["replace"](src, dst)

    monkeypatch.setattr(os, "fchmod", fchmod)
    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    new = auth_bytes("new")
    write_atomic(target, new)
    assert log == [
        "fchmod 0o600 size=0",
        f"fsync file size={len(new)}",
        "replace same_dir=True",
        "fsync dir size=-",
    ]


# -- the real CLI, killed while it saves a sign-in ------------------------------------------------

HOOK = (
    "import sys, crash_child; crash_child.install(sys.argv.pop(1));"
    " from loginkit.cli._main import main; sys.exit(main(sys.argv[1:]))"
)


def login_args(home: Path, issuer: Issuer) -> tuple[str, ...]:
    return (
        "login",
        "--codex-home",
        str(home),
        "--issuer",
        issuer.url,
        "--port",
        "0",
        "--no-browser",
    )


@pytest.mark.parametrize("point", ["mid_write", "before_rename", "after_rename"])
def test_kill_9_while_loginkit_login_saves_credentials(
    home: Path, issuer: Issuer, point: str
) -> None:
    old = b'{\n  "auth_mode": "apikey",\n  "OPENAI_API_KEY": "sk-old-key"\n}'
    (home / "auth.json").write_bytes(old)
    command = loginkit_command(
        *login_args(home, issuer), program=(sys.executable, "-c", HOOK, point)
    )
    env = {"PYTHONPATH": str(CHILD.parent)}
    with spawn(command, env=env) as run:
        callback = f"GET /auth/callback?code=c&state={run.state} HTTP/1.1\r\nHost: localhost:{run.port}\r\n\r\n"
        answer = exchange(run.port, callback.encode(), until_close=True)
        run.proc.wait(10)
        assert answer.status is None, "the process died before it could answer"
        assert run.proc.returncode == -signal.SIGKILL
    if point in NEW_FROM:
        saved = json.loads((home / "auth.json").read_text())
        assert saved["tokens"]["refresh_token"] == issuer.fake.refresh_token
        assert saved["auth_mode"] == "chatgpt"
    else:
        assert (home / "auth.json").read_bytes() == old

    # The lock died with the process: the next sign-in saves at once.
    issuer.randomize()
    with spawn(loginkit_command(*login_args(home, issuer))) as again:
        callback = f"GET /auth/callback?code=c&state={again.state} HTTP/1.1\r\nHost: localhost:{again.port}\r\n\r\n"
        assert exchange(again.port, callback.encode()).status == 302
        success = f"GET /success HTTP/1.1\r\nHost: localhost:{again.port}\r\n\r\n"
        assert exchange(again.port, success.encode()).status == 200
        code, _, err = again.finish()
    assert code == 0, err
    assert json.loads((home / "auth.json").read_text())["tokens"]["refresh_token"] == (
        issuer.fake.refresh_token
    )
