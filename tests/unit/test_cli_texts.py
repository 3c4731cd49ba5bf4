"""The CLI's remaining user-facing texts, each driven through the real code path and snapshotted.

Every test runs ``python -m loginkit`` as a real process (the entry point a person runs) and
compares what it printed, exit code included, to a plain-text snapshot. Only machine-specific
parts are normalised: the temporary directories (``<HOME>``, ``<TMP>``) and loopback ports
(``<PORT>``, ``<ISSUER_PORT>``).
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
from support.cli_runner import cli, loginkit_command, run_loginkit, spawn
from support.secret_service import SecretServiceMissing, check_secret_service_installed
from syrupy.assertion import SnapshotAssertion

from .device_server import DeviceServer
from .fake_issuer import Behaviour, FakeIssuer, id_token_for, make_jwt
from .helpers import free_port, normalise
from .snapshot_ext import TextSnapshot

KEY = "sk-proj-1234567890ABCDE"
#: Never a real keyring in these tests: a clean "no usable OS keyring" instead.
NO_KEYRING = {"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}


#: A clean environment: no CODEX_HOME (``env_for``), no colour forcing, no refresh override, and a
#: fixed terminal width so argparse wraps its help the same way everywhere.
UNSET = ("FORCE_COLOR", "NO_COLOR", "CODEX_REFRESH_TOKEN_URL_OVERRIDE")
COLUMNS = {"COLUMNS": "100"}


def run(
    home: Path,
    *args: str,
    stdin: str | bytes | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """``python -m loginkit ARGS`` in the clean environment, output decoded exactly as written
    (ARGS name the home themselves, if they want one)."""
    return run_loginkit(*args, stdin=stdin, env={**COLUMNS, **(env or {})}, unset=UNSET, raw=True)


def hide_paths(text: str, home: Path) -> str:
    for path, name in ((home, "<HOME>"), (home.parent, "<TMP>")):
        for spelling in {str(path.resolve()), str(path)}:
            text = text.replace(spelling, name)
    return text


def transcript(done: subprocess.CompletedProcess[str], home: Path, title: str = "") -> str:
    head = f"$ {title}\n" if title else ""
    text = f"{head}exit {done.returncode}\n--- stdout\n{done.stdout}--- stderr\n{done.stderr}"
    return hide_paths(text, home)


def assert_clean(*results: subprocess.CompletedProcess[str]) -> None:
    for done in results:
        assert "Traceback" not in done.stderr, done.stderr


# -- argparse and the top-level command ------------------------------------------------------------


def test_no_command_prints_the_help(home: Path, snapshot: SnapshotAssertion) -> None:
    done = run(home)
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.startswith("usage: loginkit [-h] [-V] COMMAND ...")
    assert transcript(done, home, "loginkit") == snapshot(
        extension_class=TextSnapshot, name="no_command_help"
    )


def test_argument_errors(home: Path, snapshot: SnapshotAssertion) -> None:
    steps = {
        "loginkit tokn": run(home, "tokn"),
        "loginkit login --store nowhere": run(home, "login", "--store", "nowhere"),
        "loginkit login --port many": run(home, "login", "--port", "many"),
    }
    assert [d.returncode for d in steps.values()] == [2, 2, 2]
    assert_clean(*steps.values())
    text = "\n".join(transcript(d, home, title) for title, d in steps.items())
    assert text == snapshot(extension_class=TextSnapshot, name="argument_errors")


def test_invalid_port(home: Path, snapshot: SnapshotAssertion) -> None:
    steps = {
        f"loginkit login --port {port} --no-browser": run(
            home, "login", "--port", port, "--no-browser", "--codex-home", str(home)
        )
        for port in ("70000", "-1")
    }
    assert [d.returncode for d in steps.values()] == [1, 1]
    assert all(d.stdout == "" for d in steps.values())
    text = "\n".join(transcript(d, home, title) for title, d in steps.items())
    assert text == snapshot(extension_class=TextSnapshot, name="invalid_port")


# -- configuration -----------------------------------------------------------------------------------


def test_configuration_errors(home: Path, snapshot: SnapshotAssertion) -> None:
    missing = home.parent / "missing"
    regular_file = home.parent / "a-file"
    regular_file.write_text("x")
    at = ("--codex-home", str(home))
    steps: dict[str, subprocess.CompletedProcess[str]] = {}
    steps["CODEX_HOME=<TMP>/missing loginkit login --no-browser --port 0"] = run(
        home, "login", "--no-browser", "--port", "0", env={"CODEX_HOME": str(missing)}
    )
    steps["CODEX_HOME=<TMP>/a-file loginkit token"] = run(
        home, "token", env={"CODEX_HOME": str(regular_file)}
    )
    steps["loginkit login status --codex-home <TMP>/a-file"] = run(
        home, "login", "status", "--codex-home", str(regular_file)
    )
    (home / "config.toml").write_text("store file\n")
    steps["(config.toml: not TOML) loginkit logout"] = run(home, "logout", *at)
    steps["(config.toml: not TOML) loginkit login status"] = run(home, "login", "status", *at)
    (home / "config.toml").write_text('cli_auth_credentials_store = "vault"\n')
    steps["(config.toml: unknown store) loginkit token"] = run(home, "token", *at)
    (home / "config.toml").write_text('forced_login_method = "sso"\n')
    steps["(config.toml: unknown login method) loginkit login --device-auth"] = run(
        home, "login", "--device-auth", *at
    )
    steps["(config.toml: unknown login method) loginkit login --with-api-key"] = run(
        home, "login", "--with-api-key", *at, stdin=KEY + "\n"
    )
    (home / "config.toml").unlink()
    (home / "config.toml").mkdir()
    steps["(config.toml: a directory) loginkit login --no-browser --port 0"] = run(
        home, "login", "--no-browser", "--port", "0", *at
    )
    codes = [d.returncode for d in steps.values()]
    assert codes == [1, 1, 2, 1, 2, 1, 1, 1, 1]
    assert all(d.stdout == "" for d in steps.values())
    assert_clean(*steps.values())
    assert not (home / "auth.json").exists()
    text = "\n".join(transcript(d, home, title) for title, d in steps.items())
    assert text == snapshot(extension_class=TextSnapshot, name="configuration_errors")


# -- login --with-api-key, login status, logout, token ---------------------------------------------


def test_api_key_login_failures(home: Path, snapshot: SnapshotAssertion) -> None:
    at = ("--codex-home", str(home))
    undecodable = run(
        home,
        "login",
        "--with-api-key",
        *at,
        stdin=b"\xff\xfesk-key\n",
        env={"PYTHONIOENCODING": "utf-8:strict", "PYTHONUTF8": "0", "LC_ALL": "C.UTF-8"},
    )
    (home / "auth.json").mkdir()
    (home / "auth.json" / "keep").write_text("x")
    unwritable = run(home, "login", "--with-api-key", *at, stdin=KEY + "\n")
    assert [undecodable.returncode, unwritable.returncode] == [1, 1]
    assert_clean(undecodable, unwritable)
    for done in (undecodable, unwritable):
        assert KEY not in done.stderr + done.stdout
    text = "\n".join(
        [
            transcript(
                undecodable, home, "printf '\\xff\\xfesk-key' | loginkit login --with-api-key"
            ),
            transcript(unwritable, home, "(auth.json: a directory) loginkit login --with-api-key"),
        ]
    )
    assert text == snapshot(extension_class=TextSnapshot, name="api_key_login_failures")


def test_status_of_unreadable_credentials(home: Path, snapshot: SnapshotAssertion) -> None:
    at = ("--codex-home", str(home))
    steps: dict[str, subprocess.CompletedProcess[str]] = {}
    steps["(empty home) loginkit login status --json"] = run(home, "login", "status", "--json", *at)
    contents = {
        "not JSON": "{not json",
        "not an object": "[1, 2]",
        "incomplete tokens": '{"auth_mode": "chatgpt", "tokens": {"id_token": "x"}}',
        "API key mode without a key": '{"auth_mode": "apikey"}',
    }
    for label, content in contents.items():
        (home / "auth.json").write_text(content)
        (home / "auth.json").chmod(0o600)  # as Codex writes it (0644 gets a warning)
        steps[f"(auth.json: {label}) loginkit login status"] = run(home, "login", "status", *at)
    (home / "auth.json").unlink()
    (home / "auth.json").mkdir()
    steps["(auth.json: a directory) loginkit login status"] = run(home, "login", "status", *at)
    assert [d.returncode for d in steps.values()] == [1, 2, 2, 2, 2, 2]
    assert_clean(*steps.values())
    text = "\n".join(transcript(d, home, title) for title, d in steps.items())
    assert text == snapshot(extension_class=TextSnapshot, name="status_errors")


def test_logout_that_cannot_remove_anything(home: Path, snapshot: SnapshotAssertion) -> None:
    (home / "auth.json").mkdir()
    (home / "auth.json" / "keep").write_text("x")
    done = run(home, "logout", "--codex-home", str(home), env=NO_KEYRING)
    assert done.returncode == 1
    assert done.stdout == ""
    assert_clean(done)
    assert transcript(done, home, "(auth.json: a directory) loginkit logout") == snapshot(
        extension_class=TextSnapshot, name="logout_error"
    )


def test_logout_warns_about_a_locked_keyring(home: Path, snapshot: SnapshotAssertion) -> None:
    """A real Secret Service whose collection is locked: ``auth.json`` goes, the keyring entry
    cannot be checked, and logout says so without failing."""
    try:
        check_secret_service_installed()
    except SecretServiceMissing as exc:
        pytest.skip(str(exc))
    assert (
        run(home, "login", "--with-api-key", "--codex-home", str(home), stdin=KEY).returncode == 0
    )
    out_file, err_file = home.parent / "logout.stdout", home.parent / "logout.stderr"
    # dbus-run-session's daemons write to the inherited stdout and stderr: loginkit's own go to
    # files.
    script = 'exec "$@" >"$LOGINKIT_STDOUT" 2>"$LOGINKIT_STDERR"'
    done = run_loginkit(
        "logout",
        "--codex-home",
        str(home),
        program=["dbus-run-session", "--", "sh", "-c", script, "sh", *loginkit_command()],
        env={
            **COLUMNS,
            "HOME": str(home.parent),
            "LOGINKIT_STDOUT": str(out_file),
            "LOGINKIT_STDERR": str(err_file),
        },
        unset=(*UNSET, "DBUS_SESSION_BUS_ADDRESS"),
        timeout=120,
    )
    result = subprocess.CompletedProcess(
        done.args, done.returncode, out_file.read_text(), err_file.read_text()
    )
    assert result.returncode == 0, done.stderr
    assert result.stdout == ""
    assert not (home / "auth.json").exists()
    assert result.stderr.startswith("Warning: failed to delete auth from keyring: ")
    assert_clean(result)
    assert transcript(result, home, "(keyring locked) loginkit logout") == snapshot(
        extension_class=TextSnapshot, name="logout_keyring_warning"
    )


def _write_expired_sign_in(home: Path, issuer: str) -> None:
    auth = {
        "auth_mode": "chatgpt",
        "OPENAI_API_KEY": None,
        "tokens": {
            "id_token": id_token_for(issuer=issuer),
            "access_token": make_jwt({"exp": int(time.time()) - 60}),
            "refresh_token": "rt-secret-refresh-token-value",
            "account_id": "org-alice",
        },
        "last_refresh": "2026-11-29T02:40:42.123456Z",
    }
    (home / "auth.json").write_text(json.dumps(auth))
    (home / "auth.json").chmod(0o600)  # as Codex writes it (0644 gets a warning)


def test_token_errors(home: Path, fake_issuer: FakeIssuer, snapshot: SnapshotAssertion) -> None:
    at = ("--codex-home", str(home))
    steps: dict[str, subprocess.CompletedProcess[str]] = {}
    (home / "auth.json").write_text("{not json")
    (home / "auth.json").chmod(0o600)
    steps["(auth.json: not JSON) loginkit token"] = run(home, "token", *at)
    dead_port = free_port()
    _write_expired_sign_in(home, f"http://127.0.0.1:{dead_port}")
    steps["(expired; token endpoint unreachable) loginkit token"] = run(home, "token", *at)
    _write_expired_sign_in(home, fake_issuer.issuer)
    fake_issuer.script += [
        Behaviour("status", 503, b'{"error": {"message": "upstream down"}}'),
        Behaviour("status", 401, b'{"error": "refresh_token_expired"}'),
    ]
    steps["(expired; token endpoint answers 503) loginkit token"] = run(home, "token", *at)
    steps["(expired; refresh token expired) loginkit token"] = run(home, "token", *at)
    steps["(the same refresh token again) loginkit token"] = run(home, "token", *at)
    assert [d.returncode for d in steps.values()] == [1, 1, 1, 1, 1]
    assert all(d.stdout == "" for d in steps.values()), "stdout carries only a token"
    assert len(fake_issuer.requests) == 2, "a permanent failure is not retried"
    assert_clean(*steps.values())
    text = "\n".join(transcript(d, home, title) for title, d in steps.items())
    assert "rt-secret-refresh-token-value" not in text
    text = text.replace(str(dead_port), "<PORT>").replace(str(fake_issuer.port), "<ISSUER_PORT>")
    assert text == snapshot(extension_class=TextSnapshot, name="token_errors")


# -- the login log ---------------------------------------------------------------------------------


def test_login_log_warnings_never_stop_a_sign_in(home: Path, snapshot: SnapshotAssertion) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("needs /dev/full for a log file that cannot be written")
    log_dir = home / "log"
    login = ("login", "--with-api-key", "--codex-home", str(home))
    steps: dict[str, subprocess.CompletedProcess[str]] = {}
    log_dir.write_text("a regular file where the log directory should be")
    steps["(log: a regular file) loginkit login --with-api-key"] = run(home, *login, stdin=KEY)
    log_dir.unlink()
    (log_dir / "codex-login.log").mkdir(parents=True)
    steps["(log/codex-login.log: a directory) loginkit login --with-api-key"] = run(
        home, *login, stdin=KEY
    )
    shutil.rmtree(log_dir)
    log_dir.mkdir()
    (log_dir / "codex-login.log").symlink_to("/dev/full")
    steps["(log/codex-login.log: a full disk) loginkit login --with-api-key"] = run(
        home, *login, stdin=KEY
    )
    codes = [d.returncode for d in steps.values()]
    assert codes == [0, 0, 0]
    assert_clean(*steps.values())
    assert json.loads((home / "auth.json").read_text())["OPENAI_API_KEY"] == KEY
    text = "\n".join(transcript(d, home, title) for title, d in steps.items())
    assert text == snapshot(extension_class=TextSnapshot, name="login_log_warnings")


# -- the browser flow in --json mode -----------------------------------------------------------------


def test_json_mode_failure_result(
    home: Path, fake_issuer: FakeIssuer, snapshot: SnapshotAssertion
) -> None:
    args = ("--issuer", fake_issuer.issuer, "--port", "0", "--no-browser", "--timeout", "0.5")
    with cli(home, *args, json_mode=True) as login:
        code, out, err = login.finish()
    assert code == 1
    assert err == ""
    records = [json.loads(line) for line in out.splitlines()]
    assert records[-1]["type"] == "result" and records[-1]["ok"] is False
    # The link is one JSON string here: replace it up to its closing quote only.
    out = re.sub(r'http://127\.0\.0\.1:\d+/oauth/authorize\?[^"\s]+', "<AUTH_URL>", out)
    text = normalise(out, login.port)
    assert text == snapshot(extension_class=TextSnapshot, name="json_timeout")


# -- the device flow -----------------------------------------------------------------------------------


def device_transcript(
    done: subprocess.CompletedProcess[str], home: Path, server: DeviceServer
) -> str:
    return transcript(done, home).replace(str(server.port), "<ISSUER_PORT>")


def test_device_login_transcript(
    home: Path, device_server: DeviceServer, snapshot: SnapshotAssertion
) -> None:
    device_server.polls = [(403, {})]
    device_server.usercode = (
        200,
        {"device_auth_id": "dev-secret-id", "user_code": "ABCD-1234", "interval": "1"},
    )
    done = run(
        home, "login", "--device-auth", "--issuer", device_server.issuer, "--codex-home", str(home)
    )
    assert done.returncode == 0, done.stderr
    assert "\x1b[" not in done.stderr, "no colour when stderr is not a terminal"
    assert "dev-secret-id" not in done.stderr
    assert json.loads((home / "auth.json").read_text())["auth_mode"] == "chatgpt"
    assert device_transcript(done, home, device_server) == snapshot(
        extension_class=TextSnapshot, name="device_login_success"
    )


def test_device_login_failure(
    home: Path, device_server: DeviceServer, snapshot: SnapshotAssertion
) -> None:
    device_server.usercode = (503, {"error": "maintenance"})
    done = run(
        home, "login", "--device-auth", "--issuer", device_server.issuer, "--codex-home", str(home)
    )
    assert done.returncode == 1
    assert "Error logging in with device code" not in done.stderr, "the block already said it"
    assert device_transcript(done, home, device_server) == snapshot(
        extension_class=TextSnapshot, name="device_login_failure"
    )


def test_device_auto_falls_back_to_the_browser(
    home: Path, device_server: DeviceServer, snapshot: SnapshotAssertion
) -> None:
    device_server.usercode = (404, {"error": "not_found"})
    args = ("--issuer", device_server.issuer, "--port", "0", "--timeout", "0.5")
    done = run(home, "login", "--device-auth=auto", *args, "--codex-home", str(home))
    assert done.returncode == 1
    assert done.stderr.startswith(
        "Device code login is not enabled; falling back to browser login.\n"
    )
    match = re.search(r"redirect_uri=http%3A%2F%2Flocalhost%3A(\d+)", done.stderr)
    assert match is not None, done.stderr
    text = normalise(transcript(done, home), int(match.group(1)))
    assert text == snapshot(extension_class=TextSnapshot, name="device_auto_fallback")


@pytest.mark.parametrize(
    "answer",
    [[], {"device_auth_id": 5}, {"user_code": "ABCD-1234"}],
    ids=["array", "wrong-type", "missing-field"],
)
def test_device_auto_falls_back_on_an_unusable_device_answer(
    home: Path, device_server: DeviceServer, answer: object, snapshot: SnapshotAssertion
) -> None:
    """``--device-auth=auto`` falls back to the browser on any malformed device response (it
    only did on a 404), with its own notice after the block that says what was wrong."""
    device_server.usercode = (200, answer)  # type: ignore[assignment]
    args = ("--issuer", device_server.issuer, "--port", "0", "--timeout", "0.5")
    done = run(home, "login", "--device-auth=auto", *args, "--codex-home", str(home))
    assert_clean(done)
    assert done.returncode == 1  # the browser sign-in then times out: nobody completes it
    match = re.search(r"redirect_uri=http%3A%2F%2Flocalhost%3A(\d+)", done.stderr)
    assert match is not None, done.stderr
    text = normalise(transcript(done, home), int(match.group(1)))
    assert text == snapshot(extension_class=TextSnapshot, name="device_auto_fallback_unusable")


def test_device_auto_checks_the_browser_options_first(
    home: Path, device_server: DeviceServer
) -> None:
    """``--device-auth=auto`` builds its fallback with the browser flow's own rules: an invalid
    --port or --bind is the same one-line error as for ``login``, before anything starts (it
    was a traceback at fallback time), and the device endpoint is not even asked."""
    for flag, value in (("--port", "70000"), ("--bind", "999.1.1.1")):
        args = (flag, value, "--codex-home", str(home), "--issuer", device_server.issuer)
        auto = run(home, "login", "--device-auth=auto", *args)
        browser = run(home, "login", "--no-browser", *args)
        assert_clean(auto, browser)
        assert (auto.returncode, auto.stdout, auto.stderr) == (
            browser.returncode,
            browser.stdout,
            browser.stderr,
        )
        assert auto.returncode == 1
        assert auto.stderr.startswith("Error logging in: invalid")
    assert device_server.requests == []


def test_device_auto_fallback_listens_where_bind_says(
    home: Path, device_server: DeviceServer
) -> None:
    """The fallback honours --bind (it rebuilt its options and dropped it): with 127.0.0.1:PORT
    held by someone else, ``--bind 127.0.0.2`` still gets its own listener and waits, where a
    fallback on 127.0.0.1 would have reported the port as taken."""
    device_server.usercode = (404, {"error": "not_found"})
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        args = ("--issuer", device_server.issuer, "--port", str(port), "--timeout", "0.5")
        done = run(
            home,
            "login",
            "--device-auth=auto",
            "--bind",
            "127.0.0.2",
            *args,
            "--codex-home",
            str(home),
        )
    assert_clean(done)
    assert done.returncode == 1
    assert "falling back to browser login" in done.stderr
    assert "already in use" not in done.stderr
    assert "Sign-in timed out after 0.5 seconds" in done.stderr


def test_device_login_ctrl_c(
    home: Path, device_server: DeviceServer, snapshot: SnapshotAssertion
) -> None:
    device_server.polls = [(403, {})] * 1000
    command = loginkit_command(
        "login", "--device-auth", "--issuer", device_server.issuer, "--codex-home", str(home)
    )
    with spawn(
        command, env=COLUMNS, unset=UNSET, until="Waiting for you to approve", wait=30
    ) as login:
        head = "".join(login.head)
        assert "Waiting for you to approve" in head, head
        login.proc.send_signal(signal.SIGINT)
        done = subprocess.CompletedProcess(login.proc.args, *login.finish(timeout=30))
    assert done.returncode == 130
    assert_clean(done)
    assert not (home / "auth.json").exists()
    assert device_transcript(done, home, device_server) == snapshot(
        extension_class=TextSnapshot, name="device_login_interrupted"
    )


# -- options before and after `status` ---------------------------------------------------------


def test_options_given_before_status_are_kept(home: Path) -> None:
    """argparse copies a subparser's defaults over the parent's values; `login status` has none
    of its own, so `login --codex-home X --json status` reads X and prints JSON."""
    assert (
        run(home, "login", "--with-api-key", "--codex-home", str(home), stdin=KEY).returncode == 0
    )
    empty = home.parent / "elsewhere"
    empty.mkdir()
    before = run(empty, "login", "--codex-home", str(home), "--json", "status")
    after = run(empty, "login", "status", "--codex-home", str(home), "--json")
    assert before.returncode == after.returncode == 0, before.stderr
    assert json.loads(before.stdout) == json.loads(after.stdout)
    assert json.loads(before.stdout)["mode"] == "apikey"


@pytest.mark.parametrize(
    ("command", "code"), [(("login", "status"), 1), (("token",), 1), (("logout",), 0)]
)
def test_only_a_sign_in_creates_a_missing_codex_home(
    home: Path, command: tuple[str, ...], code: int
) -> None:
    typo = home.parent / "typo-home"
    done = run(home, *command, "--codex-home", str(typo))
    assert done.returncode == code
    assert "Not logged in" in done.stderr
    assert not typo.exists(), "a typo must not become a new, empty home"
