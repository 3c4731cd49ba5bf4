"""The standard (RFC 8628) device flow of a generic profile against the scripted device server:
the id_token optional (identity from userinfo, else the issuer only), a present id_token still
verified, the provider's own expiry, ``verification_uri_complete``, ``slow_down``, the words of
its failures, and a record without an id_token that ``login status`` and ``token`` handle."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from loginkit.core._categories import (
    DeviceFailureCategory,
    DeviceFailurePhase,
    LoginFailureCategory,
)
from loginkit.core._device_phases import ShowingDeviceCode, expiry_words
from loginkit.core._exceptions import DeviceLoginError
from loginkit.core._limits import Timeouts
from loginkit.core._log import LoginLog
from loginkit.core._phases import Failed, LoginPhase, Succeeded
from loginkit.core._profiles import OPENAI, generic_profile
from loginkit.signin._device import (
    DeviceLoginOptions,
    complete_device_code_login,
    request_device_code,
)
from loginkit.store._credentials import get_access_token, login_status

from .device_server import GENERIC_CLIENT, DeviceServer
from .fake_issuer import id_token_for

PENDING = (400, {"error": "authorization_pending"})
SLOW_DOWN = (400, {"error": "slow_down"})


def options(home: Path, server: DeviceServer, **kw: Any) -> DeviceLoginOptions:
    return DeviceLoginOptions(
        codex_home=home,
        issuer=server.issuer,
        client_id=GENERIC_CLIENT,
        timeouts=Timeouts.uniform(5),
        **kw,
    )


def sign_in(
    home: Path, server: DeviceServer, sleeps: list[float] | None = None, **kw: Any
) -> list[LoginPhase]:
    events: list[LoginPhase] = []
    opts = options(home, server, **kw)
    code = request_device_code(opts, events.append)
    complete_device_code_login(
        code, opts, events.append, sleep=(sleeps.append if sleeps is not None else lambda s: None)
    )
    return events


def record(home: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((home / "auth.json").read_text())
    return data


def test_expiry_words() -> None:
    assert expiry_words(900) == "15 minutes"
    assert expiry_words(1800) == "30 minutes"
    assert expiry_words(60) == "1 minute"
    assert expiry_words(90) == "90 seconds"
    assert expiry_words(1) == "1 second"
    assert expiry_words(150) == "2 minutes", "rounded down: never promised longer than it lives"


def test_the_code_carries_the_providers_expiry_and_complete_link(
    home: Path, device_server: DeviceServer
) -> None:
    events: list[LoginPhase] = []
    code = request_device_code(options(home, device_server), events.append)
    try:
        assert code.standard
        assert code.expires_in == 1800, "the provider said 30 minutes: not capped at 15"
        assert code.verification_url == f"{device_server.issuer}/device"
        assert (
            code.verification_url_complete == f"{device_server.issuer}/device?user_code=WDJB-MJHT"
        )
        shown = [e for e in events if isinstance(e, ShowingDeviceCode)]
        assert shown[0].fields() == {
            "verification_url": f"{device_server.issuer}/device",
            "user_code": "WDJB-MJHT",
            "expires_in": 1800,
            "verification_url_complete": f"{device_server.issuer}/device?user_code=WDJB-MJHT",
        }
        # A library caller may still wait less than the provider allows.
        short = request_device_code(options(home, device_server, max_wait=120))
        assert short.expires_in == 120
        assert short.provider is not None
        short.provider.close()
    finally:
        assert code.provider is not None
        code.provider.close()


def test_with_an_id_token_it_is_verified_and_saved(home: Path, device_server: DeviceServer) -> None:
    device_server.device_polls = [PENDING]
    events = sign_in(home, device_server)
    assert isinstance(events[-1], Succeeded)
    tokens = record(home)["tokens"]
    assert tokens["id_token"].count(".") == 2
    assert tokens["access_token"] == "opaque-device-access-token"
    assert device_server.userinfo_auth == [], "the id_token says who: no userinfo request"
    grant = next(body for path, body in device_server.requests if path == "/token")
    assert grant["device_code"] == "dc-secret-device-code"
    assert grant["client_id"] == GENERIC_CLIENT


def test_a_present_id_token_that_fails_verification_is_still_refused(
    home: Path, device_server: DeviceServer
) -> None:
    device_server.id_token = id_token_for(
        None, issuer=device_server.issuer, client_id="another-client"
    )
    with pytest.raises(DeviceLoginError) as info:
        sign_in(home, device_server)
    assert info.value.failure is not None
    assert info.value.failure.category is LoginFailureCategory.ID_TOKEN_INVALID
    assert info.value.failure.phase is DeviceFailurePhase.VALIDATE
    assert not (home / "auth.json").exists()


def test_without_an_id_token_the_identity_comes_from_userinfo(
    home: Path, device_server: DeviceServer, login_log: LoginLog
) -> None:
    device_server.device_id_token = False
    events = sign_in(home, device_server)
    assert isinstance(events[-1], Succeeded)
    assert device_server.userinfo_auth == ["Bearer opaque-device-access-token"]
    saved = record(home)
    assert saved["tokens"]["id_token"] == ""
    assert saved["tokens"]["refresh_token"] == "rt-device"
    # Whose record it is, and who as userinfo said, next to Codex's fields ("loginkit").
    assert saved["loginkit"]["issuer"] == device_server.issuer
    assert saved["loginkit"]["client_id"] == GENERIC_CLIENT
    assert saved["loginkit"]["identity"] == {"sub": "user-dave", "email": "dave@example.com"}
    # `login status` names the person; `token` hands out the access token.
    assert login_status(home).email == "dave@example.com"
    assert get_access_token(home) == "opaque-device-access-token"
    log = (home / "log" / "codex-login.log").read_text()
    assert "identity read from userinfo" in log
    for secret in ("opaque-device-access-token", "rt-device", "dc-secret-device-code"):
        assert secret not in log
        assert all(secret not in repr(e) for e in events)


def test_without_an_id_token_or_userinfo_the_subject_is_unknown(
    home: Path, device_server: DeviceServer
) -> None:
    device_server.device_id_token = False
    device_server.announce_userinfo = False
    sign_in(home, device_server)
    saved = record(home)
    assert "identity" not in saved["loginkit"], "nobody said who"
    assert saved["loginkit"]["issuer"] == device_server.issuer
    assert device_server.userinfo_auth == []
    status = login_status(home)
    assert status.logged_in and status.email is None


def test_a_failing_userinfo_leaves_the_subject_unknown_and_signs_in(
    home: Path, device_server: DeviceServer
) -> None:
    device_server.device_id_token = False
    device_server.userinfo = (500, {"error": "server_error"})
    events = sign_in(home, device_server)
    assert isinstance(events[-1], Succeeded)
    assert "identity" not in record(home)["loginkit"], "nobody said who"


def test_a_record_without_an_id_token_refreshes_at_its_own_provider(
    home: Path, device_server: DeviceServer
) -> None:
    """The record has no id_token to name the issuer: the refresh must still go to this
    provider's token endpoint (from discovery) with this client id, never to Codex's issuer."""
    device_server.device_id_token = False
    sign_in(home, device_server)
    saved = record(home)
    saved["last_refresh"] = "2020-01-01T00:00:00.000000Z"  # an opaque token, refreshed long ago
    saved["loginkit"]["access_token_expires_at"] = int(time.time()) - 5  # and expired
    (home / "auth.json").write_text(json.dumps(saved))
    device_server.requests.clear()
    get_access_token(home)
    refreshes = [
        (path, body)
        for path, body in device_server.requests
        if body.get("grant_type") == "refresh_token"
    ]
    assert refreshes == [
        (
            "/token",
            {
                "grant_type": "refresh_token",
                "refresh_token": "rt-device",
                "client_id": GENERIC_CLIENT,
            },
        )
    ]
    assert record(home)["loginkit"]["issuer"] == device_server.issuer, (
        "the refresh keeps whose record it is"
    )


def test_slow_down_adds_five_seconds_for_every_later_poll(
    home: Path, device_server: DeviceServer
) -> None:
    """RFC 8628 3.5: "the interval MUST be increased by 5 seconds for this and all subsequent
    requests"."""
    device_server.device_polls = [PENDING, SLOW_DOWN, PENDING, SLOW_DOWN, PENDING]
    sleeps: list[float] = []
    sign_in(home, device_server, sleeps)
    assert sleeps == [1, 6, 6, 11, 11]


def test_slow_down_really_slows_the_polls(home: Path, device_server: DeviceServer) -> None:
    """The same with the real clock (interval 1 s, one slow_down: the next gap is 6 s)."""
    device_server.device_polls = [SLOW_DOWN]
    started = time.monotonic()
    events: list[LoginPhase] = []
    opts = options(home, device_server)
    complete_device_code_login(request_device_code(opts), opts, events.append)
    gaps = [
        b - a for a, b in zip(device_server.poll_times, device_server.poll_times[1:], strict=False)
    ]
    assert len(gaps) == 1 and 5.9 <= gaps[0] < 8, gaps
    assert time.monotonic() - started >= 6


def test_expired_token_and_the_deadline_say_the_device_code_expired(
    home: Path, device_server: DeviceServer
) -> None:
    device_server.device_polls = [(400, {"error": "expired_token"})]
    with pytest.raises(DeviceLoginError) as info:
        sign_in(home, device_server)
    assert info.value.failure is not None
    assert info.value.failure.category is DeviceFailureCategory.DEVICE_CODE_EXPIRED
    assert str(info.value) == "the device code expired before it was approved"

    device_server.device_polls = [PENDING] * 50
    opts = options(home, device_server, max_wait=1)
    code = request_device_code(opts)
    with pytest.raises(DeviceLoginError) as info:
        complete_device_code_login(code, opts, sleep=lambda s: time.sleep(min(s, 0.05)))
    assert str(info.value) == "the device code expired after 1 second without being approved"


def test_a_token_answer_without_an_access_token_is_worded_as_the_device_code_exchange(
    home: Path, device_server: DeviceServer
) -> None:
    device_server.device_polls = [(200, {"token_type": "Bearer", "refresh_token": "rt"})]
    events: list[LoginPhase] = []
    with pytest.raises(DeviceLoginError):
        opts = options(home, device_server)
        complete_device_code_login(request_device_code(opts), opts, events.append)
    failed = events[-1]
    assert isinstance(failed, Failed)
    assert failed.phase is DeviceFailurePhase.EXCHANGE_TOKEN
    assert failed.category is LoginFailureCategory.TOKEN_RESPONSE_MALFORMED
    text = failed.render(generic_profile(device_server.issuer, GENERIC_CLIENT))
    assert "while exchanging the device code for tokens" in text
    assert "authorization code" not in text
    assert "missing field `access_token`" in text
    # The seed's Codex words stay as they were.
    assert "exchanging authorization code for tokens" in failed.render(OPENAI)


def test_a_malformed_id_token_field_is_not_taken_for_a_missing_one(
    home: Path, device_server: DeviceServer
) -> None:
    device_server.device_polls = [
        (200, {"access_token": "at", "refresh_token": "rt", "id_token": 5})
    ]
    with pytest.raises(DeviceLoginError) as info:
        sign_in(home, device_server)
    assert info.value.failure is not None
    assert info.value.failure.category is LoginFailureCategory.TOKEN_RESPONSE_MALFORMED
    assert "invalid field `id_token`" in str(info.value)
    assert not (home / "auth.json").exists()


def test_a_provider_without_the_device_grant_is_unavailable_in_its_own_words(
    home: Path, device_server: DeviceServer
) -> None:
    device_server.announce_device = False
    events: list[LoginPhase] = []
    with pytest.raises(DeviceLoginError) as info:
        request_device_code(options(home, device_server), events.append)
    assert info.value.not_enabled
    failed = events[-1]
    assert isinstance(failed, Failed)
    assert failed.category is DeviceFailureCategory.DEVICE_CODE_UNAVAILABLE
    text = failed.render(generic_profile(device_server.issuer, GENERIC_CLIENT))
    assert "ChatGPT" not in text and "Codex" not in text
    assert "announces no device_authorization_endpoint" in text


def test_a_workspace_restriction_is_never_met_by_userinfo(
    home: Path, device_server: DeviceServer
) -> None:
    """Userinfo is the provider's unverified text: even one that claims the workspace cannot
    satisfy ``forced_chatgpt_workspace_id`` without a verified id_token."""
    device_server.device_id_token = False
    device_server.userinfo = (
        200,
        {"sub": "mallory", "https://api.openai.com/auth": {"chatgpt_account_id": "org-x"}},
    )
    with pytest.raises(DeviceLoginError) as info:
        sign_in(home, device_server, forced_chatgpt_workspace_id="org-x")
    assert info.value.failure is not None
    assert info.value.failure.category is LoginFailureCategory.WORKSPACE_RESTRICTION
    assert not (home / "auth.json").exists()
