"""A rotated refresh token is never lost: a disk that fills up during the refresh, a disk with no
room before it, and Ctrl-C while the token endpoint's answer is in flight.

The scripted token endpoint rotates: every answer carries a new refresh token (``issuer.fake``'s,
fresh per test), so keeping the old one in ``auth.json`` after the request means a new sign-in.
"""

from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path

import pytest
from support.cli_runner import loginkit_command, run_loginkit, start

from faults.test_disk_faults import check_unshare

from security.harness import Issuer, random_jwt  # isort: skip
from unit.fake_issuer import OPENAI_CLIENT_ID, make_jwt  # isort: skip

OLD_REFRESH = "rt-old-refresh-token-before-rotation"

IN_TMPFS = """set -e
mount -t tmpfs -o size=1m,mode=0700 tmpfs "$HOME_DIR"
cp "$OLD_FILE" "$HOME_DIR/auth.json"
chmod 600 "$HOME_DIR/auth.json"
mkdir -m 700 "$HOME_DIR/log"
set +e
"""
AFTER = """cp "$HOME_DIR/auth.json" "$OUT_DIR/after.json"
ls -a "$HOME_DIR" > "$OUT_DIR/listing.txt"
exit $rc
"""
#: The disk fills up while the request is in flight (after the refresh began, before the answer).
FILL_DURING = (
    IN_TMPFS
    + """"$@" &
pid=$!
i=0
until grep -q "refreshing access token" "$HOME_DIR/log/codex-login.log" 2>/dev/null; do
  sleep 0.05; i=$((i+1)); [ $i -gt 400 ] && break
done
dd if=/dev/zero of="$HOME_DIR/filler" bs=4096 2>/dev/null
wait $pid
rc=$?
"""
    + AFTER
)
#: No room at all before the refresh.
FULL_BEFORE = (
    IN_TMPFS
    + """dd if=/dev/zero of="$HOME_DIR/filler" bs=4096 2>/dev/null
"$@"
rc=$?
"""
    + AFTER
)


def stale_record(issuer: Issuer) -> bytes:
    tokens = {
        "id_token": make_jwt({"iss": issuer.url, "aud": [OPENAI_CLIENT_ID]}),
        "access_token": make_jwt({"exp": int(time.time()) - 10}),
        "refresh_token": OLD_REFRESH,
        "account_id": None,
    }
    record = {"auth_mode": "chatgpt", "OPENAI_API_KEY": None, "tokens": tokens}
    return json.dumps(record, indent=2).encode()


def refresh_token_in(path: Path) -> str:
    value: str = json.loads(path.read_text())["tokens"]["refresh_token"]
    return value


@pytest.fixture
def out(tmp_path: Path) -> Path:
    path = tmp_path / "out"
    path.mkdir()
    return path


def token_in_tmpfs(home: Path, out: Path, issuer: Issuer, script: str) -> tuple[int, str, str]:
    check_unshare()
    (out / "old.json").write_bytes(stale_record(issuer))
    program = ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh"]
    program += [sys.executable, "-m", "loginkit"]
    env = {"HOME_DIR": str(home), "OUT_DIR": str(out), "OLD_FILE": str(out / "old.json")}
    done = run_loginkit("token", home=home, program=program, env=env, timeout=60)
    return done.returncode, done.stdout, done.stderr


def test_a_disk_that_fills_during_the_refresh_keeps_the_new_refresh_token(
    home: Path, out: Path, issuer: Issuer
) -> None:
    issuer.fake.access_token = random_jwt(padding="p" * 40_000)  # a ~40 KB record to save
    issuer.proxy.arm("delay", seconds=2.0)
    code, stdout, stderr = token_in_tmpfs(home, out, issuer, FILL_DURING)
    assert code == 0, stderr
    assert stdout == issuer.fake.access_token + "\n"
    assert refresh_token_in(out / "after.json") == issuer.fake.refresh_token
    assert len(issuer.proxy.token_calls()) == 1
    names = (out / "listing.txt").read_text().split()
    assert not [n for n in names if n.endswith((".tmp", ".reserved"))], names


def test_no_room_before_the_refresh_sends_nothing_and_keeps_the_old_token(
    home: Path, out: Path, issuer: Issuer
) -> None:
    code, stdout, stderr = token_in_tmpfs(home, out, issuer, FULL_BEFORE)
    assert code == 1 and stdout == ""
    assert "no room to save refreshed credentials" in stderr, stderr
    assert "No space left on device" in stderr
    assert issuer.proxy.token_calls() == [], "the old token was spent with nowhere to keep the new"
    assert refresh_token_in(out / "after.json") == OLD_REFRESH


def test_ctrl_c_while_the_answer_is_in_flight_waits_for_the_save(
    home: Path, issuer: Issuer
) -> None:
    (home / "auth.json").write_bytes(stale_record(issuer))
    (home / "auth.json").chmod(0o600)
    issuer.proxy.arm("delay", seconds=1.5)
    proc = start(loginkit_command("token", home=home))
    log = home / "log" / "codex-login.log"
    deadline = time.monotonic() + 20
    while not (log.exists() and "refreshing access token" in log.read_text()):
        assert time.monotonic() < deadline and proc.poll() is None, "the refresh never began"
        time.sleep(0.02)
    time.sleep(0.3)  # the request is at the proxy, its answer held back
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode != 0, "the interrupt is delivered once the save is done"
    assert refresh_token_in(home / "auth.json") == issuer.fake.refresh_token, stderr
    assert len(issuer.proxy.token_calls()) == 1
    assert issuer.fake.refresh_token not in stdout + stderr
