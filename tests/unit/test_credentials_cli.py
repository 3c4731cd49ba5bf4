"""Every user-facing text of the credentials commands and the device flow, snapshotted, plus the
behaviour behind them (exit codes, what lands on stdout, pty detection, config rules)."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support.cli_runner import run_loginkit
from syrupy.assertion import SnapshotAssertion

from loginkit.cli._credentials import status_lines
from loginkit.cli._device import device_prompt, use_color
from loginkit.core._categories import (
    DeviceFailureCategory,
    DeviceFailurePhase,
    LoginFailureCategory,
)
from loginkit.core._device_phases import PollingForApproval, PollRetrying, RequestingDeviceCode
from loginkit.core._phases import Failed, LoginPhase, PersistingCredentials
from loginkit.core._profiles import OPENAI, generic_profile
from loginkit.store._credentials import LoginStatus, mask_api_key

from .fake_issuer import id_token_for, make_jwt
from .snapshot_ext import TextSnapshot

KEY = "sk-proj-1234567890ABCDE"


def run(
    home: Path, *args: str, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return run_loginkit(*args, home=home, stdin=stdin, env=env)


def transcript(done: subprocess.CompletedProcess[str], home: Path) -> str:
    text = f"$ exit {done.returncode}\n--- stdout\n{done.stdout}--- stderr\n{done.stderr}"
    return text.replace(str(home), "<HOME>")


def test_masking() -> None:
    assert mask_api_key(KEY) == "sk-proj-***ABCDE"
    assert mask_api_key("sk-1234567890") == "***"
    assert mask_api_key("sk-12345678901") == "sk-12345***78901"


def test_api_key_login_status_token_logout(home: Path, snapshot: SnapshotAssertion) -> None:
    steps = [
        run(home, "login", "--with-api-key", stdin=KEY + "\n"),
        run(home, "login", "status"),
        run(home, "token"),
        run(home, "logout"),
        run(home, "logout"),
        run(home, "login", "status"),
        run(home, "token"),
    ]
    assert [s.returncode for s in steps] == [0, 0, 0, 0, 0, 1, 1]
    assert steps[2].stdout == KEY + "\n", "token prints the key and nothing else"
    assert all(s.stdout == "" for i, s in enumerate(steps) if i != 2)
    combined = "\n".join(transcript(s, home) for s in steps)
    assert combined == snapshot(extension_class=TextSnapshot, name="api_key_lifecycle")
    log = (home / "log" / "codex-login.log").read_text()
    assert "starting api key login flow" in log and KEY not in log


def test_api_key_refusals(home: Path, snapshot: SnapshotAssertion) -> None:
    empty = run(home, "login", "--with-api-key", stdin="  \n")
    flag = run(home, "login", "--api-key", KEY)
    (home / "config.toml").write_text('forced_login_method = "chatgpt"\n')
    disabled = run(home, "login", "--with-api-key", stdin=KEY)
    (home / "config.toml").write_text('forced_login_method = "api"\n')
    browser_disabled = run(home, "login", "--no-browser", "--port", "0")
    device_disabled = run(home, "login", "--device-auth")
    results = [empty, flag, disabled, browser_disabled, device_disabled]
    assert [r.returncode for r in results] == [1, 1, 1, 1, 1]
    assert not (home / "auth.json").exists()
    combined = "\n".join(transcript(r, home) for r in results)
    assert combined == snapshot(extension_class=TextSnapshot, name="api_key_refusals")


def test_with_api_key_refuses_a_terminal_on_stdin(home: Path, snapshot: SnapshotAssertion) -> None:
    primary, secondary = pty.openpty()
    try:
        done = run_loginkit("login", "--with-api-key", home=home, stdin=secondary)
    finally:
        os.close(primary)
        os.close(secondary)
    assert done.returncode == 1
    assert done.stderr == snapshot(extension_class=TextSnapshot, name="api_key_tty")


def test_status_of_a_chatgpt_sign_in(home: Path, snapshot: SnapshotAssertion) -> None:
    access = make_jwt({"exp": int(time.time()) + 3600 + 30})
    auth = {
        "auth_mode": "chatgpt",
        "OPENAI_API_KEY": None,
        "tokens": {
            "id_token": id_token_for(),
            "access_token": access,
            "refresh_token": "rt",
            "account_id": "org-alice",
        },
        "last_refresh": "2026-11-29T02:40:42.123456Z",
    }
    (home / "auth.json").write_text(json.dumps(auth))
    (home / "auth.json").chmod(0o600)  # as Codex and loginkit write it (0644 gets a warning)
    done = run(home, "login", "status")
    assert done.returncode == 0
    masked = "\n".join(
        line.split(" (in ")[0] + " (in <N> min)" if "valid until" in line else line
        for line in done.stderr.replace(str(home), "<HOME>").splitlines()
    )
    masked = re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", "<WHEN>", masked)
    assert masked == snapshot(extension_class=TextSnapshot, name="status_chatgpt")
    as_json = json.loads(run(home, "login", "status", "--json").stdout)
    assert as_json["logged_in"] is True and as_json["account_id"] == "org-alice"
    assert "rt" not in json.dumps(as_json).split('"'), "no token in status output"


def test_status_line_variants(snapshot: SnapshotAssertion) -> None:
    now = 1_800_000_000.0
    cases = {
        "not_logged_in": LoginStatus(mode=None, store="file /h/auth.json"),
        "api_key": LoginStatus(
            mode="apikey",
            store="keyring (service 'Codex Auth', account 'cli|0123456789abcdef')",
            masked_api_key="sk-proj-***ABCDE",
        ),
        "expired": LoginStatus(
            mode="chatgpt",
            store="auto: file /h/auth.json (keyring unavailable: no usable OS keyring (backend keyring.backends.fail.Keyring))",
            email="a@b.c",
            account_id="org-1",
            plan="pro",
            access_token_expires_at=int(now) - 5,
        ),
        "long_lived": LoginStatus(
            mode="chatgpt",
            store="file /h/auth.json",
            access_token_expires_at=int(now) + 3 * 3600 + 120,
        ),
        "opaque_token": LoginStatus(
            mode="chatgpt",
            store="file /h/auth.json",
            email="a@b.c",
            last_refresh="2026-11-29T02:40:42.123456Z",
        ),
    }
    text = "\n\n".join(
        f"[{name}]\n" + "\n".join(status_lines(status, now)) for name, status in cases.items()
    )
    assert text == snapshot(extension_class=TextSnapshot, name="status_variants")


def test_status_exit_code_for_unreadable_credentials(home: Path) -> None:
    (home / "auth.json").write_text("{not json")
    (home / "auth.json").chmod(0o600)
    done = run(home, "login", "status")
    assert done.returncode == 2
    assert done.stderr.startswith("Error checking login status: auth.json is not valid JSON")


def test_device_prompt_texts(snapshot: SnapshotAssertion) -> None:
    plain = device_prompt(OPENAI, "https://auth.openai.com/codex/device", "ABCD-EFGH", color=False)
    colored = device_prompt(OPENAI, "https://auth.openai.com/codex/device", "ABCD-EFGH", color=True)
    generic = device_prompt(
        generic_profile("https://idp", "c"), "https://idp/device", "WXYZ-1234", color=False
    )
    assert "\x1b[" not in plain and "\x1b[94mABCD-EFGH\x1b[0m" in colored
    assert plain == snapshot(extension_class=TextSnapshot, name="device_prompt")
    assert colored == snapshot(extension_class=TextSnapshot, name="device_prompt_color")
    assert generic == snapshot(extension_class=TextSnapshot, name="device_prompt_generic")


def test_color_rules() -> None:
    class Tty:
        def isatty(self) -> bool:
            return True

    tty = Tty()
    assert use_color(tty, {}) is True  # type: ignore[arg-type]
    assert use_color(tty, {"NO_COLOR": "1"}) is False  # type: ignore[arg-type]
    assert use_color(tty, {"TERM": "dumb"}) is False  # type: ignore[arg-type]
    assert use_color(sys.stderr if not sys.stderr.isatty() else tty, {"FORCE_COLOR": "1"}) is True  # type: ignore[arg-type]
    assert use_color(open(os.devnull, "w"), {}) is False  # noqa: SIM115


DEVICE_FAILURES = [
    (
        DeviceFailurePhase.REQUEST_DEVICE_CODE,
        DeviceFailureCategory.DEVICE_CODE_UNAVAILABLE,
        "device code login is not enabled for this Codex server. Use the browser login or verify the server URL.",
    ),
    (
        DeviceFailurePhase.REQUEST_DEVICE_CODE,
        DeviceFailureCategory.DEVICE_CODE_REQUEST_FAILED,
        "device code request failed with status 503 Service Unavailable: maintenance",
    ),
    (
        DeviceFailurePhase.WAIT_FOR_APPROVAL,
        DeviceFailureCategory.DEVICE_CODE_EXPIRED,
        "device auth timed out after 15 minutes",
    ),
    (
        DeviceFailurePhase.WAIT_FOR_APPROVAL,
        DeviceFailureCategory.DEVICE_AUTHORIZATION_FAILED,
        "device auth failed with status 400 Bad Request: access_denied",
    ),
    (
        DeviceFailurePhase.EXCHANGE_TOKEN,
        LoginFailureCategory.TOKEN_ENDPOINT_REJECTED,
        "device code exchange failed: token endpoint returned status 400 Bad Request from https://auth.openai.com/oauth/token: invalid_grant",
    ),
    (
        DeviceFailurePhase.VALIDATE,
        LoginFailureCategory.WORKSPACE_RESTRICTION,
        "Login is restricted to workspace id org-required.",
    ),
    (
        DeviceFailurePhase.PERSIST_CREDENTIALS,
        LoginFailureCategory.PERSIST_FAILED,
        "failed to write /h/auth.json: No space left on device",
    ),
]


@pytest.mark.parametrize(
    ("phase", "category", "message"), DEVICE_FAILURES, ids=[c.value for _, c, _ in DEVICE_FAILURES]
)
def test_device_failure_blocks(
    phase: DeviceFailurePhase,
    category: LoginFailureCategory | DeviceFailureCategory,
    message: str,
    snapshot: SnapshotAssertion,
) -> None:
    block = str(Failed(phase, category, message))
    assert block.splitlines()[3] == f"Details: {category.value} - {message}"
    assert block == snapshot(extension_class=TextSnapshot, name=f"device_failed_{category.value}")


def test_device_phase_texts(snapshot: SnapshotAssertion) -> None:
    phases: list[LoginPhase] = [
        RequestingDeviceCode(),
        PollingForApproval(1),
        PollingForApproval(2),
        PollRetrying(2.0, "connection failed: [Errno 111] Connection refused"),
        PersistingCredentials(),
    ]
    text = "\n".join(f"{p.id} visible={p.is_user_visible()}: {p}" for p in phases)
    assert text == snapshot(extension_class=TextSnapshot, name="device_phases")


def test_public_api_resolves_and_async_forms_work(home: Path) -> None:
    import asyncio

    import loginkit

    for name in loginkit.__all__:
        assert getattr(loginkit, name) is not None, name

    async def main() -> None:
        await loginkit.alogin_with_api_key(KEY, home, "file")
        assert await loginkit.aget_access_token(home) == KEY
        status = await loginkit.alogin_status(home)
        assert status.mode == "apikey" and status.masked_api_key == "sk-proj-***ABCDE"
        assert (await loginkit.alogout(home)).removed

    asyncio.run(main())
    assert loginkit.login_status(home).mode is None
