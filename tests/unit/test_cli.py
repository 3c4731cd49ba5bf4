"""The ``loginkit login`` command as a person runs it: a real process, real stderr, exit codes."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

from support.cli_runner import cli, run_loginkit
from support.loopback import http_get
from syrupy.assertion import SnapshotAssertion

from .fake_issuer import Behaviour, FakeIssuer
from .helpers import free_port, normalise
from .snapshot_ext import TextSnapshot


def test_success_transcript(
    home: Path, fake_issuer: FakeIssuer, snapshot: SnapshotAssertion
) -> None:
    with cli(home, "--issuer", fake_issuer.issuer, "--port", "0", "--no-browser") as run:
        assert http_get(run.port, f"/auth/callback?code=c0de&state={run.state}").status == 302
        assert http_get(run.port, "/success").status == 200
        code, out, err = run.finish()
    assert code == 0
    assert out == "", "stdout stays clean"
    assert err.endswith("Signed in. You're good to go.\n")
    assert normalise(err, run.port) == snapshot(extension_class=TextSnapshot, name="cli_success")
    assert json.loads((home / "auth.json").read_text())["auth_mode"] == "chatgpt"
    log = (home / "log" / "codex-login.log").read_text()
    assert "starting browser login flow" in log and "browser login flow completed" in log
    for secret in ("c0de", run.state, fake_issuer.refresh_token, fake_issuer.api_key, run.url):
        assert secret not in log


def test_rejected_exchange_prints_one_block_and_no_duplicate_error(
    home: Path, fake_issuer: FakeIssuer, snapshot: SnapshotAssertion
) -> None:
    fake_issuer.script.append(
        Behaviour("status", 403, b'{"error":"access_denied","error_description":"denied"}')
    )
    with cli(home, "--issuer", fake_issuer.issuer, "--port", "0", "--no-browser") as run:
        http_get(run.port, f"/auth/callback?code=c&state={run.state}")
        code, _, err = run.finish()
    assert code == 1
    assert "Error logging in" not in err
    assert normalise(err, run.port) == snapshot(extension_class=TextSnapshot, name="cli_rejected")


def test_terminal_error_is_shown_even_after_an_earlier_failure_block(
    home: Path, fake_issuer: FakeIssuer, snapshot: SnapshotAssertion
) -> None:
    """Spec 16.4: a state-mismatch block must not hide the final /cancel error."""
    with cli(home, "--issuer", fake_issuer.issuer, "--port", "0", "--no-browser") as run:
        assert http_get(run.port, "/auth/callback?code=c&state=stale-tab").status == 400
        assert http_get(run.port, "/cancel").status == 200
        code, _, err = run.finish()
    assert code == 1
    assert "Couldn't verify this sign-in attempt" in err
    assert err.endswith("Error logging in: Login cancelled\n")
    assert normalise(err, run.port) == snapshot(
        extension_class=TextSnapshot, name="cli_mismatch_then_cancel"
    )


def test_second_login_on_the_same_port_takes_over(home: Path, fake_issuer: FakeIssuer) -> None:
    port = str(free_port())
    args = ("--issuer", fake_issuer.issuer, "--port", port, "--no-browser")
    with cli(home, *args) as first, cli(home, *args) as second:
        code, _, err = first.finish()
        assert code == 1
        assert err.endswith("Error logging in: Login cancelled\n")
        assert (
            "Cleaning up an old login session first...\nRetrying the local sign-in listener... (attempt 2)\n"
            in "".join(second.head)
        )
        assert http_get(second.port, f"/auth/callback?code=c&state={second.state}").status == 302
        http_get(second.port, "/success")
        code2, _, err2 = second.finish()
    assert code2 == 0, err2


def test_timeout_ends_with_a_timed_out_block(
    home: Path, fake_issuer: FakeIssuer, snapshot: SnapshotAssertion
) -> None:
    with cli(
        home, "--issuer", fake_issuer.issuer, "--port", "0", "--no-browser", "--timeout", "0.5"
    ) as run:
        code, _, err = run.finish()
    assert code == 1
    assert normalise(err, run.port) == snapshot(extension_class=TextSnapshot, name="cli_timeout")


def test_ctrl_c_cancels_cleanly(
    home: Path, fake_issuer: FakeIssuer, snapshot: SnapshotAssertion
) -> None:
    with cli(home, "--issuer", fake_issuer.issuer, "--port", "0", "--no-browser") as run:
        run.proc.send_signal(signal.SIGINT)
        code, _, err = run.finish()
    assert code == 130
    assert "Traceback" not in err
    assert normalise(err, run.port) == snapshot(
        extension_class=TextSnapshot, name="cli_interrupted"
    )


def test_bind_beyond_the_loopback_warns_before_the_link(
    home: Path, fake_issuer: FakeIssuer, snapshot: SnapshotAssertion
) -> None:
    args = ("--issuer", fake_issuer.issuer, "--port", "0", "--no-browser", "--bind", "0.0.0.0")
    with cli(home, *args) as run:
        host = f"localhost:{run.port}"
        http_get(
            run.port, f"/auth/callback?code=c&state={run.state}", host=host, address="127.0.0.2"
        )
        http_get(run.port, "/success", host=host, address="127.0.0.2")
        code, _, err = run.finish()
    assert code == 0, err
    assert err.index("Warning: listening on 0.0.0.0:") < err.index("If a browser window")
    assert normalise(err, run.port) == snapshot(extension_class=TextSnapshot, name="cli_bind_all")


def test_bind_rejects_what_is_not_an_ipv4_address(home: Path, snapshot: SnapshotAssertion) -> None:
    done = run_loginkit("login", "--codex-home", str(home), "--bind", "::", timeout=30)
    assert done.returncode == 1
    assert done.stderr == snapshot(extension_class=TextSnapshot, name="cli_bind_invalid")


def test_json_mode(home: Path, fake_issuer: FakeIssuer) -> None:
    with cli(
        home, "--issuer", fake_issuer.issuer, "--port", "0", "--no-browser", json_mode=True
    ) as run:
        http_get(run.port, f"/auth/callback?code=c&state={run.state}")
        http_get(run.port, "/success")
        code, out, err = run.finish()
    assert code == 0
    assert err == ""
    records = [json.loads(line) for line in out.splitlines()]
    phases = [r["phase"] for r in records if r["type"] == "progress"]
    assert phases == [
        "binding_local_server",
        "local_server_bound",
        "waiting_for_callback",
        "callback_received",
        "exchanging_token",
        "persisting_credentials",
        "succeeded",
    ]
    assert records[-1] == {"type": "result", "ok": True, "message": "Signed in. You're good to go."}
    received = next(r for r in records if r.get("phase") == "callback_received")
    assert (
        received["state_valid"] is True
        and received["text"] == "Browser sign-in received. Finishing up..."
    )


def test_bad_codex_home_env(tmp_path: Path) -> None:
    done = run_loginkit(
        "login",
        "--no-browser",
        "--port",
        "0",
        env={"CODEX_HOME": str(tmp_path / "missing")},
        timeout=30,
    )
    assert done.returncode == 1
    assert done.stderr.startswith("Error loading configuration: CODEX_HOME points to")


def test_link_is_out_before_heavy_modules_load(tmp_path: Path) -> None:
    """The design's start-up rule: bind, PKCE, state and the URL need only light stdlib modules."""
    code = (
        "import sys\n"
        "from loginkit.cli._main import main\n"
        "from loginkit.signin._browser import LoginRun, ServerOptions\n"
        f"run = LoginRun(ServerOptions(codex_home={str(tmp_path)!r}, port=0, open_browser=False))\n"
        "run.bind()\n"
        "assert run.auth_url.startswith('https://auth.openai.com/oauth/authorize?')\n"
        "heavy = ['asyncio', 'h11', 'httpx2', 'httpcore2', 'ssl', 'keyring', 'joserfc', 'cryptography', 'loginkit.oauth._idverify', 'webbrowser', 'loginkit.loopback._server', 'loginkit.oauth._token']\n"
        "print(','.join(m for m in heavy if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=True
    )
    assert done.stdout.strip() == ""
