"""The home directory is not trusted: symbolic links, FIFOs, other users' files, loose modes.

Everything runs the real ``loginkit`` process. Tests run as root here, so root-owned is "ours";
"another user" is uid 65534 (``nobody``), given the file with ``chown``.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

from support.cli_runner import run_loginkit
from syrupy.assertion import SnapshotAssertion
from unit.fake_issuer import make_jwt
from unit.snapshot_ext import TextSnapshot

KEY = "sk-proj-home-trust-key-0123456789"
NOBODY = 65534


def run(home: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return run_loginkit(*args, home=home, stdin=stdin, timeout=20)


def shown(done: subprocess.CompletedProcess[str], home: Path, title: str) -> str:
    text = f"$ {title}\nexit {done.returncode}\n--- stderr\n{done.stderr}"
    return text.replace(str(home.resolve()), "<HOME>").replace(str(home), "<HOME>")


def chatgpt_auth(home: Path) -> None:
    tokens = {
        "id_token": make_jwt({"iss": "http://127.0.0.1:9", "aud": ["x"]}),
        "access_token": make_jwt({"exp": int(time.time()) + 3600}),
        "refresh_token": "rt",
        "account_id": None,
    }
    (home / "auth.json").write_text(json.dumps({"OPENAI_API_KEY": None, "tokens": tokens}))
    (home / "auth.json").chmod(0o600)


def test_a_symlinked_log_is_refused_with_a_warning_and_the_sign_in_goes_on(home: Path) -> None:
    victim = home.parent / "victim.txt"
    victim.write_text("keep\n")
    (home / "log").mkdir(mode=0o700)
    (home / "log" / "codex-login.log").symlink_to(victim)
    done = run(home, "login", "--with-api-key", stdin=KEY)
    assert done.returncode == 0, done.stderr
    assert "is a symbolic link; refusing to follow it" in done.stderr
    assert victim.read_text() == "keep\n"
    # A symlinked log directory: nothing is created where it points.
    elsewhere = home.parent / "elsewhere"
    elsewhere.mkdir()
    (home / "log" / "codex-login.log").unlink()
    (home / "log").rmdir()
    (home / "log").symlink_to(elsewhere)
    done = run(home, "login", "--with-api-key", stdin=KEY)
    assert done.returncode == 0, done.stderr
    assert list(elsewhere.iterdir()) == []


def test_symlinked_lock_files_are_never_followed(home: Path) -> None:
    for name in ("auth.lock", "auth.json.lock"):
        target = home.parent / f"created-through-{name}"
        (home / name).symlink_to(target)
        done = run(home, "login", "--with-api-key", stdin=KEY)
        assert done.returncode == 1, done.stderr
        assert f"failed to open {home.resolve() / name}: is a symbolic link" in done.stderr
        assert not target.exists(), "a lock file was created through a planted symlink"
        assert not (home / "auth.json").exists()
        (home / name).unlink()


def test_a_fifo_never_hangs_login_or_token(home: Path) -> None:
    """Before: ``login`` and ``token`` blocked forever opening the FIFO (here: a 20 s timeout)."""
    (home / "log").mkdir(mode=0o700)
    os.mkfifo(home / "log" / "codex-login.log")
    done = run(home, "login", "--with-api-key", stdin=KEY)
    assert done.returncode == 0, done.stderr
    assert "a FIFO or socket, not a regular file; refusing to use it" in done.stderr
    (home / "config.toml").write_text('cli_auth_credentials_store = "file"\n')  # the full CLI
    done = run(home, "token")
    assert (done.returncode, done.stdout) == (0, KEY + "\n"), done.stderr
    assert "refusing to use it" in done.stderr
    os.unlink(home / "auth.json")
    os.mkfifo(home / "auth.json")
    done = run(home, "login", "status")
    assert done.returncode != 0
    assert "a FIFO, not a regular file; refusing to use it" in done.stderr


def test_a_home_or_auth_json_another_user_could_write_is_refused(
    home: Path, snapshot: SnapshotAssertion
) -> None:
    chatgpt_auth(home)
    steps = []
    home.chmod(0o777)
    steps.append(shown(run(home, "login", "status"), home, "(home 0777) loginkit login status"))
    home.chmod(0o770)
    steps.append(shown(run(home, "token"), home, "(home 0770) loginkit token"))
    home.chmod(0o700)
    os.chown(home, NOBODY, NOBODY)
    steps.append(shown(run(home, "token"), home, "(home owned by nobody) loginkit token"))
    os.chown(home, os.geteuid(), os.getegid())
    (home / "auth.json").chmod(0o666)
    steps.append(shown(run(home, "token"), home, "(auth.json 0666) loginkit token"))
    (home / "auth.json").chmod(0o600)
    os.chown(home / "auth.json", NOBODY, NOBODY)
    steps.append(
        shown(
            run(home, "login", "status"), home, "(auth.json owned by nobody) loginkit login status"
        )
    )
    for step in steps:
        assert "\nexit 0\n" not in step, step
        assert "refusing to" in step, step
        assert "Traceback" not in step, step
    assert "\n".join(steps) == snapshot(extension_class=TextSnapshot)


def test_a_0644_auth_json_of_ours_is_tightened_with_a_warning(
    home: Path, snapshot: SnapshotAssertion
) -> None:
    chatgpt_auth(home)
    (home / "auth.json").chmod(0o644)
    done = run(home, "token")
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE((home / "auth.json").stat().st_mode) == 0o600
    assert shown(done, home, "(auth.json 0644) loginkit token") == snapshot(
        extension_class=TextSnapshot
    )


def test_every_created_directory_is_0700_under_umask_000(tmp_path: Path) -> None:
    home = tmp_path / "a" / "b" / "codex-home"
    program = ["sh", "-c", 'umask 000; exec "$@"', "sh", sys.executable, "-m", "loginkit"]
    done = run_loginkit(
        "login", "--with-api-key", home=home, stdin=KEY, program=program, timeout=20
    )
    assert done.returncode == 0, done.stderr
    for directory in (tmp_path / "a", tmp_path / "a" / "b", home, home / "log"):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700, directory
    for name in ("auth.json", "log/codex-login.log", "auth.lock", "auth.json.lock"):
        assert stat.S_IMODE((home / name).stat().st_mode) == 0o600, name


def test_the_link_first_start_never_waits_on_a_fifo_or_prints_a_link_for_an_unsafe_home(
    home: Path,
) -> None:
    """The link-first start (before the CLI loads) applies the same distrust: a FIFO as
    config.toml does not hang it, and a home another user could write is refused by the full CLI
    before any link is printed."""
    os.mkfifo(home / "config.toml")
    done = run_loginkit("login", "--port", "0", "--no-browser", "--timeout", "0.5", home=home)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    (home / "config.toml").unlink()
    home.chmod(0o777)
    try:
        done = run_loginkit("login", "--port", "0", "--no-browser", "--timeout", "0.5", home=home)
    finally:
        home.chmod(0o700)
    assert done.returncode == 1
    assert "refusing to use" in done.stderr
    assert "use this link to sign in" not in done.stderr
