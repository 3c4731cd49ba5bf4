"""Keyring and auto stores against a real Secret Service (gnome-keyring on a private D-Bus), and
the "keyring unavailable" paths: no bus at all, and a locked keyring."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from support.cli_runner import env_for, run_loginkit
from support.secret_service import run_in_secret_service

from loginkit.store._keyring import keyring_account

KEY = "sk-proj-1234567890ABCDE"

# Runs inside the session: drives the real CLI and reads the keyring back with the keyring package.
SCENARIO = r"""
import json, subprocess, sys
import keyring
home, store, key = sys.argv[1], sys.argv[2], sys.argv[3]
def cli(*args, stdin=None):
    done = subprocess.run([sys.executable, "-m", "loginkit", *args, "--codex-home", home],
                          input=stdin, capture_output=True, text=True)
    return {"code": done.returncode, "out": done.stdout, "err": done.stderr}
from loginkit.store._keyring import keyring_account
from pathlib import Path
account = keyring_account(Path(home))
def read():
    try:
        return keyring.get_password("Codex Auth", account)
    except Exception as exc:  # a locked keyring: report, do not crash the scenario
        return "ERROR: " + type(exc).__name__
steps = {}
steps["login"] = cli("login", "--with-api-key", "--store", store, stdin=key + "\n")
steps["entry_after_login"] = read()
steps["file_after_login"] = (Path(home) / "auth.json").exists()
steps["status"] = cli("login", "status", "--store", store)
steps["token"] = cli("token", "--store", store)
steps["logout"] = cli("logout", "--store", store)
steps["entry_after_logout"] = read()
print(json.dumps(steps))
"""


def scenario(tmp_path: Path, store: str, *, unlocked: bool = True) -> dict[str, object]:
    home = tmp_path / "codex"
    home.mkdir()
    done = run_in_secret_service(
        [sys.executable, "-c", SCENARIO, str(home), store, KEY],
        home=tmp_path,
        env=env_for(home),
        unlocked=unlocked,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.parametrize("store", ["keyring", "auto"])
def test_real_secret_service_round_trip(tmp_path: Path, store: str) -> None:
    steps = scenario(tmp_path, store)
    login = steps["login"]
    assert isinstance(login, dict) and login["code"] == 0, login
    entry = steps["entry_after_login"]
    assert isinstance(entry, str)
    assert json.loads(entry) == {"auth_mode": "apikey", "OPENAI_API_KEY": KEY}
    assert " " not in entry, "the keyring entry is compact JSON, like Codex's"
    assert steps["file_after_login"] is False, "no plain-text copy next to the keyring entry"
    status = steps["status"]
    assert isinstance(status, dict) and status["code"] == 0
    assert status["err"].startswith("Logged in using an API key - sk-proj-***ABCDE\n")
    account = keyring_account((tmp_path / "codex").resolve())
    assert (
        f"Store: {'auto: ' if store == 'auto' else ''}keyring (service 'Codex Auth', account '{account}')"
        in status["err"]
    )
    token = steps["token"]
    assert isinstance(token, dict) and token["out"] == KEY + "\n"
    logout = steps["logout"]
    assert isinstance(logout, dict) and logout["err"] == "Successfully logged out\n"
    assert steps["entry_after_logout"] is None


def test_locked_keyring_in_auto_mode_falls_back_to_file_and_says_so(tmp_path: Path) -> None:
    steps = scenario(tmp_path, "auto", unlocked=False)
    assert str(steps["entry_after_login"]).startswith("ERROR: "), "the keyring really is locked"
    login = steps["login"]
    assert isinstance(login, dict) and login["code"] == 0, login
    assert steps["file_after_login"] is True
    status = steps["status"]
    assert isinstance(status, dict)
    assert "Store: auto: file " in status["err"] and "(keyring unavailable: " in status["err"]
    logout = steps["logout"]
    assert isinstance(logout, dict) and logout["code"] == 0
    assert "Successfully logged out" in logout["err"]
    assert not (tmp_path / "codex" / "auth.json").exists()
    log = (tmp_path / "codex" / "log" / "codex-login.log").read_text()
    assert "falling back to file storage" in log


def run_cli(home: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """No D-Bus session bus at all: an address where nothing listens."""
    bus = {"DBUS_SESSION_BUS_ADDRESS": "unix:path=/nonexistent/bus"}
    return run_loginkit(*args, home=home, stdin=stdin, env=bus)


def test_no_keyring_at_all(tmp_path: Path) -> None:
    home = tmp_path / "codex"
    home.mkdir()
    keyring_only = run_cli(home, "login", "--with-api-key", "--store", "keyring", stdin=KEY)
    assert keyring_only.returncode == 1
    assert keyring_only.stderr.endswith(
        "Error logging in: no usable OS keyring (backend keyring.backends.fail.Keyring)\n"
    )
    assert not (home / "auth.json").exists(), "keyring mode never writes plain text"
    auto = run_cli(home, "login", "--with-api-key", "--store", "auto", stdin=KEY)
    assert auto.returncode == 0, auto.stderr
    assert (home / "auth.json").exists()
    assert os.stat(home / "auth.json").st_mode & 0o777 == 0o600
    status = run_cli(home, "login", "status", "--store", "auto")
    assert status.returncode == 0 and "(keyring unavailable: " in status.stderr
    # Logout must clear auth.json even though the keyring cannot be reached (spec 16.11).
    logout = run_cli(home, "logout", "--store", "keyring")
    assert (logout.returncode, logout.stderr) == (0, "Successfully logged out\n")
    assert not (home / "auth.json").exists()
    again = run_cli(home, "logout")
    assert (again.returncode, again.stderr) == (0, "Not logged in\n")


def test_config_toml_selects_the_store(tmp_path: Path) -> None:
    home = tmp_path / "codex"
    home.mkdir()
    (home / "config.toml").write_text('cli_auth_credentials_store = "ephemeral"\n')
    done = run_cli(home, "login", "--with-api-key", stdin=KEY)
    assert done.returncode == 0
    assert not (home / "auth.json").exists(), "ephemeral: nothing outlives the process"
    (home / "config.toml").write_text('cli_auth_credentials_store = "vault"\n')
    bad = run_cli(home, "login", "status")
    assert bad.returncode == 2
    assert bad.stderr.startswith("Error loading configuration: ")
    assert "is not one of file, keyring, auto, ephemeral" in bad.stderr
