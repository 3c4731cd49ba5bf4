"""Issue 4.5: a full disk, a file-size limit, a read-only or unwritable home while saving.

Each case is the real ``loginkit login`` signing in (scripted token endpoint), with the fault set
up for real before it starts, because as root ``chmod`` stops nothing:

- full disk: a 1 MiB tmpfs mounted on the home in a private mount namespace (``unshare -m``),
  filled to the last three pages; the write gets ENOSPC;
- file-size limit: ``RLIMIT_FSIZE`` below the size of ``auth.json`` (EFBIG, no privileges needed);
- read-only home: the tmpfs remounted read-only (EROFS);
- unwritable home: the CLI without ``CAP_DAC_OVERRIDE`` (``setpriv``) on a 0500 home (EACCES).

Every case must end as ``persist_failed`` with the OS's reason, leave the old ``auth.json``
byte for byte, and leave no temporary file behind.
"""

from __future__ import annotations

import os
import resource
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from support.loopback import exchange

from security.harness import Issuer, cli_command, limit, random_jwt, spawn_cli  # isort: skip

OLD = b'{\n  "auth_mode": "apikey",\n  "OPENAI_API_KEY": "sk-old-key-keep-me"\n}'
MOUNT_SETUP = """set -e
mount -t tmpfs -o size=1m,mode=0700 tmpfs "$HOME_DIR"
cp "$OLD_FILE" "$HOME_DIR/auth.json"
chmod 600 "$HOME_DIR/auth.json"
mkdir -m 700 "$HOME_DIR/log"
"""
FILL_DISK = """dd if=/dev/zero of="$HOME_DIR/reserve" bs=4096 count=3 2>/dev/null
dd if=/dev/zero of="$HOME_DIR/filler" bs=4096 2>/dev/null || true
rm "$HOME_DIR/reserve"
"""
READ_ONLY = """mount -o remount,ro "$HOME_DIR"
"""
AFTER = """set +e
"$@"
rc=$?
cp "$HOME_DIR/auth.json" "$OUT_DIR/after.json"
ls -a "$HOME_DIR" > "$OUT_DIR/listing.txt"
exit $rc
"""


def big_tokens(issuer: Issuer) -> None:
    """An access token large enough that auth.json (~40 KB) cannot fit where the log still does."""
    issuer.fake.access_token = random_jwt(padding="p" * 40_000)


def check_unshare() -> None:
    for tool in ("unshare", "mount", "setpriv"):
        if shutil.which(tool) is None:
            raise AssertionError(f"`{tool}` (util-linux) is needed for the disk fault tests")


def sign_in_expecting_persist_failure(
    command: list[str], env: dict[str, str] | None = None, preexec: Callable[[], None] | None = None
) -> str:
    """Run the CLI, deliver the callback, return stderr; the run must end as persist_failed."""
    with spawn_cli(command, env=env, preexec=preexec) as run:
        assert run.url, "".join(run.head)
        callback = f"GET /auth/callback?code=c&state={run.state} HTTP/1.1\r\nHost: localhost:{run.port}\r\n\r\n"
        page = exchange(run.port, callback.encode())
        code, _, err = run.finish()
    assert page.status == 200 and "persist_failed" in page.text, page
    assert "Sign-in completed but credentials could not be saved locally." in page.text
    assert code == 1, err
    assert "Details: persist_failed - " in err
    assert "Signed in" not in err
    return err


def in_private_mount(
    home: Path, out: Path, setup: str, *cli_args: str
) -> tuple[list[str], dict[str, str]]:
    check_unshare()
    old_file = out / "old.json"
    old_file.write_bytes(OLD)
    script = MOUNT_SETUP + setup + AFTER
    command = ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh"]
    env = {"HOME_DIR": str(home), "OUT_DIR": str(out), "OLD_FILE": str(old_file)}
    return [*command, *cli_command(home, *cli_args)], env


@pytest.fixture
def out(tmp_path: Path) -> Path:
    path = tmp_path / "out"
    path.mkdir()
    return path


def test_full_disk_is_persist_failed_and_keeps_old_credentials(
    home: Path, out: Path, issuer: Issuer
) -> None:
    big_tokens(issuer)
    args = ("--issuer", issuer.url, "--port", "0", "--no-browser")
    command, env = in_private_mount(home, out, FILL_DISK, *args)
    err = sign_in_expecting_persist_failure(command, env)
    assert "No space left on device" in err
    assert (out / "after.json").read_bytes() == OLD
    assert not [n for n in (out / "listing.txt").read_text().split() if n.endswith(".tmp")]


def test_file_size_limit_is_persist_failed_and_keeps_old_credentials(
    home: Path, issuer: Issuer
) -> None:
    big_tokens(issuer)
    (home / "auth.json").write_bytes(OLD)
    command = cli_command(home, "--issuer", issuer.url, "--port", "0", "--no-browser")
    err = sign_in_expecting_persist_failure(command, preexec=limit(resource.RLIMIT_FSIZE, 16_384))
    assert "File too large" in err
    assert (home / "auth.json").read_bytes() == OLD
    assert not list(home.glob(".auth.json.*"))


def test_read_only_home_is_persist_failed_and_keeps_old_credentials(
    home: Path, out: Path, issuer: Issuer
) -> None:
    args = ("--issuer", issuer.url, "--port", "0", "--no-browser")
    command, env = in_private_mount(home, out, READ_ONLY, *args)
    err = sign_in_expecting_persist_failure(command, env)
    assert "Read-only file system" in err
    assert "failed to open login log file" in err, "the log could not be opened either: said once"
    assert (out / "after.json").read_bytes() == OLD


def test_unwritable_home_is_persist_failed_and_keeps_old_credentials(
    home: Path, issuer: Issuer
) -> None:
    check_unshare()
    (home / "auth.json").write_bytes(OLD)
    (home / "auth.json.lock").touch(mode=0o600)
    (home / "log").mkdir(mode=0o700)
    home.chmod(0o500)
    try:
        command = cli_command(home, "--issuer", issuer.url, "--port", "0", "--no-browser")
        if os.geteuid() == 0:
            caps = "-dac_override,-dac_read_search,-fowner"
            command = ["setpriv", f"--bounding-set={caps}", f"--inh-caps={caps}", *command]
        err = sign_in_expecting_persist_failure(command)
    finally:
        home.chmod(0o700)
    assert "Permission denied" in err
    assert (home / "auth.json").read_bytes() == OLD
    assert not list(home.glob(".auth.json.*.tmp"))


def test_a_completely_full_disk_prints_no_tracebacks(home: Path, out: Path, issuer: Issuer) -> None:
    no_room = 'dd if=/dev/zero of="$HOME_DIR/filler" bs=4096 2>/dev/null || true\n'
    args = ("--issuer", issuer.url, "--port", "0", "--no-browser")
    command, env = in_private_mount(home, out, no_room, *args)
    err = sign_in_expecting_persist_failure(command, env)
    assert (out / "after.json").read_bytes() == OLD
    assert "Traceback" not in err
