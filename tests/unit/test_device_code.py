"""The Codex device flow against a scripted loopback server: intervals, pending answers, transport
errors retried with backoff, the 15-minute limit, and the exchange with the server's PKCE pair."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from loginkit.core._categories import (
    DeviceFailureCategory,
    DeviceFailurePhase,
    LoginFailureCategory,
)
from loginkit.core._device_phases import PollRetrying
from loginkit.core._exceptions import DeviceLoginError
from loginkit.core._limits import Timeouts
from loginkit.core._phases import Failed, Succeeded
from loginkit.signin._device import (
    DeviceLoginOptions,
    _interval,
    complete_device_code_login,
    request_device_code,
)

from .device_server import DeviceServer
from .fake_issuer import id_token_for


def options(home: Path, server: DeviceServer, **kw: Any) -> DeviceLoginOptions:
    return DeviceLoginOptions(
        codex_home=home, issuer=server.issuer + "/", timeouts=Timeouts.uniform(5), **kw
    )


def test_interval_accepts_strings_and_numbers_and_never_busy_polls() -> None:
    assert _interval("5") == 5.0
    assert _interval(7) == 7.0
    assert _interval("0") == 1.0
    assert _interval(None) == 1.0
    assert _interval("soon") == 1.0
    # Malformed numbers fall back to the default instead of crashing the flow (sleep(nan)).
    assert _interval("nan") == 1.0
    assert _interval(float("inf")) == 1.0
    assert _interval(True) == 1.0
    assert _interval(-3) == 1.0


def test_pending_then_approved_exchanges_with_the_server_pkce_pair(
    home: Path, device_server: DeviceServer
) -> None:
    device_server.usercode = (
        200,
        {"device_auth_id": "dev-secret-id", "usercode": "WXYZ-9876", "interval": 3},
    )
    device_server.polls = [(403, {"error": "deviceauth_authorization_pending"}), (404, {})]
    events: list[object] = []
    sleeps: list[float] = []
    opts = options(home, device_server)
    code = request_device_code(opts, events.append)
    assert (code.user_code, code.interval) == ("WXYZ-9876", 3.0), "usercode alias, numeric interval"
    assert code.verification_url == f"{device_server.issuer}/codex/device", "trailing slash trimmed"
    assert "dev-secret-id" not in repr(code)
    complete_device_code_login(code, opts, events.append, sleep=sleeps.append)
    assert sleeps == [3.0, 3.0]
    paths = [p for p, _ in device_server.requests]
    assert paths == ["/api/accounts/deviceauth/usercode"] + [
        "/api/accounts/deviceauth/token"
    ] * 3 + ["/oauth/token"]
    assert device_server.requests[0][1] == {"client_id": "app_EMoamEEZ73f0CkXaXp7hrann"}
    exchange = device_server.requests[-1][1]
    assert exchange["code_verifier"] == "server-verifier"
    assert exchange["redirect_uri"] == f"{device_server.issuer}/deviceauth/callback"
    assert isinstance(events[-1], Succeeded)
    auth = json.loads((home / "auth.json").read_text())
    assert auth["tokens"]["account_id"] == "org-dev" and auth["OPENAI_API_KEY"] is None


def test_transport_errors_while_polling_are_retried_with_backoff(
    home: Path, device_server: DeviceServer
) -> None:
    device_server.polls = ["reset", "reset", "reset", (403, {})]
    events: list[object] = []
    sleeps: list[float] = []
    opts = options(home, device_server)
    code = request_device_code(opts, events.append)
    complete_device_code_login(code, opts, events.append, sleep=sleeps.append)
    assert sleeps == [1.0, 2.0, 4.0, 5.0], "exponential backoff, then the normal interval"
    retries = [e for e in events if isinstance(e, PollRetrying)]
    assert len(retries) == 3 and all(r.is_user_visible() for r in retries)


def test_unexpected_poll_status_shows_the_server_text(
    home: Path, device_server: DeviceServer
) -> None:
    device_server.polls = [
        (401, {"error": "unauthorized", "error_description": "device code was denied"})
    ]
    opts = options(home, device_server)
    code = request_device_code(opts)
    with pytest.raises(DeviceLoginError) as info:
        complete_device_code_login(code, opts, sleep=lambda _: None)
    assert info.value.failure.category is DeviceFailureCategory.DEVICE_AUTHORIZATION_FAILED
    assert (
        str(info.value) == "device auth failed with status 401 Unauthorized: device code was denied"
    )


def test_gives_up_after_the_code_lifetime(home: Path, device_server: DeviceServer) -> None:
    device_server.polls = [(403, {})] * 50
    opts = options(home, device_server, max_wait=0.05)
    code = request_device_code(opts)
    with pytest.raises(DeviceLoginError) as info:
        complete_device_code_login(code, opts, sleep=lambda s: time.sleep(min(s, 0.02)))
    assert info.value.failure.category is DeviceFailureCategory.DEVICE_CODE_EXPIRED
    assert str(info.value) == "device auth timed out after 15 minutes"


@pytest.mark.parametrize(
    ("status", "category", "message"),
    [
        (
            404,
            DeviceFailureCategory.DEVICE_CODE_UNAVAILABLE,
            "device code login is not enabled for this Codex server.",
        ),
        (
            503,
            DeviceFailureCategory.DEVICE_CODE_REQUEST_FAILED,
            "device code request failed with status 503 Service Unavailable",
        ),
    ],
)
def test_usercode_failures(
    home: Path,
    device_server: DeviceServer,
    status: int,
    category: DeviceFailureCategory,
    message: str,
) -> None:
    device_server.usercode = (status, {"error": "nope"})
    events: list[object] = []
    with pytest.raises(DeviceLoginError) as info:
        request_device_code(options(home, device_server), events.append)
    assert info.value.failure.category is category
    assert str(info.value).startswith(message)
    assert info.value.not_enabled is (status == 404)
    assert isinstance(events[-1], Failed)


def test_exchange_and_workspace_failures(home: Path, device_server: DeviceServer) -> None:
    device_server.token_status = 400
    opts = options(home, device_server)
    with pytest.raises(DeviceLoginError) as info:
        complete_device_code_login(request_device_code(opts), opts, sleep=lambda _: None)
    assert info.value.failure.category is LoginFailureCategory.TOKEN_ENDPOINT_REJECTED
    assert str(info.value).startswith(
        "device code exchange failed: token endpoint returned status 400"
    )
    device_server.token_status = 200
    restricted = options(home, device_server, forced_chatgpt_workspace_id="org-required")
    with pytest.raises(DeviceLoginError) as info:
        complete_device_code_login(
            request_device_code(restricted), restricted, sleep=lambda _: None
        )
    assert info.value.failure.category is LoginFailureCategory.WORKSPACE_RESTRICTION
    assert not (home / "auth.json").exists()


def test_an_id_token_for_another_client_is_id_token_invalid(
    home: Path, device_server: DeviceServer
) -> None:
    device_server.id_token = id_token_for(issuer=device_server.issuer, client_id="someone-else")
    opts = options(home, device_server)
    with pytest.raises(DeviceLoginError) as info:
        complete_device_code_login(request_device_code(opts), opts, sleep=lambda _: None)
    failure = info.value.failure
    assert failure.category is LoginFailureCategory.ID_TOKEN_INVALID
    assert failure.phase is DeviceFailurePhase.VALIDATE
    assert str(info.value) == (
        "id_token verification failed: issued for another client (aud ['someone-else']), "
        "not 'app_EMoamEEZ73f0CkXaXp7hrann'"
    )
    assert not (home / "auth.json").exists()


def test_poll_errors_that_echo_the_device_secrets_are_scrubbed(
    home: Path, device_server: DeviceServer
) -> None:
    """A poll error body that echoes the device_auth_id and user_code (both secrets: either one
    lets another device finish this sign-in) never reaches the message or an event."""
    device_server.polls = [
        (400, {"error": "bad", "error_description": "rejected dev-secret-id for ABCD-1234"})
    ]
    opts = options(home, device_server)
    events: list[object] = []
    code = request_device_code(opts)
    with pytest.raises(DeviceLoginError) as info:
        complete_device_code_login(code, opts, events.append, sleep=lambda _: None)
    shown = str(info.value) + " ".join(str(e) for e in events)
    assert "rejected" in shown
    for secret in ("dev-secret-id", "ABCD-1234"):
        assert secret not in shown


def test_exchange_errors_that_echo_the_code_and_verifier_are_scrubbed(
    home: Path, device_server: DeviceServer
) -> None:
    """The same scrubbing as the browser flow: the authorization code and PKCE verifier the
    server chose, echoed by the token endpoint, are removed once, in the finishing step."""
    approved = {"authorization_code": "ac-device-1", "code_verifier": "server-verifier"}
    device_server.polls = [(200, approved)]
    device_server.token_status = 400
    device_server.token_error = {
        "error": "invalid_grant",
        "error_description": "code ac-device-1 with verifier server-verifier for dev-secret-id",
    }
    opts = options(home, device_server)
    events: list[object] = []
    with pytest.raises(DeviceLoginError) as info:
        complete_device_code_login(
            request_device_code(opts), opts, events.append, sleep=lambda _: None
        )
    assert info.value.failure.category is LoginFailureCategory.TOKEN_ENDPOINT_REJECTED
    shown = str(info.value) + " ".join(str(e) for e in events)
    assert shown.count("device code exchange failed") >= 1
    for secret in ("ac-device-1", "server-verifier", "dev-secret-id"):
        assert secret not in shown
    assert not (home / "auth.json").exists()


@pytest.mark.parametrize("reply", [[], "a string", 42])
def test_a_reply_that_is_not_an_object_is_classified_even_under_python_O(
    home: Path, device_server: DeviceServer, reply: object
) -> None:
    """No assert decides anything: under ``python -O`` a ``[]`` reply is still the classified
    "not a JSON object" failure, not an AttributeError."""
    device_server.usercode = (200, reply)  # type: ignore[assignment]
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from loginkit import DeviceLoginError, DeviceLoginOptions, request_device_code\n"
        "try:\n"
        "    request_device_code(DeviceLoginOptions(codex_home=Path(sys.argv[1]), issuer=sys.argv[2]))\n"
        "except DeviceLoginError as exc:\n"
        "    print(exc.failure.category.value, exc)\n"
    )
    done = subprocess.run(
        [sys.executable, "-O", "-c", script, str(home), device_server.issuer],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == ("device_code_request_failed device code response is not a JSON object\n")
