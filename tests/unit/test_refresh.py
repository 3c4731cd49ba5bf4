"""Refresh decisions and the error mapping (spec 9), with httpx2's MockTransport standing in for the
token endpoint; the real provider and 20 real processes are in tests/e2e/test_refresh.py."""

from __future__ import annotations

import json
from pathlib import Path

import httpx2
import pytest

from loginkit.core._exceptions import RefreshError
from loginkit.core._limits import Timeouts
from loginkit.store._refresh import (
    EXHAUSTED,
    EXPIRED,
    OTHER,
    REVOKED,
    forget_failure,
    needs_refresh,
    refresh_endpoint,
    remember_failure,
    remembered_failure,
    request_refresh,
)

from .fake_issuer import make_jwt

OPENAI_ID = make_jwt({"iss": "https://auth.openai.com", "aud": "app_EMoamEEZ73f0CkXaXp7hrann"})
GENERIC_ID = make_jwt({"iss": "http://127.0.0.1:9999", "aud": ["generic-cli"]})


def client(handler: object) -> httpx2.Client:
    return httpx2.Client(transport=httpx2.MockTransport(handler))  # type: ignore[arg-type]


def test_needs_refresh_uses_exp_then_the_eight_day_rule() -> None:
    now = 1_800_000_000.0
    assert needs_refresh(make_jwt({"exp": int(now) + 30}), None, now=now, min_validity=60)
    assert not needs_refresh(make_jwt({"exp": int(now) + 120}), None, now=now, min_validity=60)
    assert needs_refresh("opaque", "2026-11-01T00:00:00Z", now=now, min_validity=60)
    assert not needs_refresh("opaque", "2027-01-15T07:00:00.5Z", now=now, min_validity=60)
    assert needs_refresh("opaque", None, now=now, min_validity=60)


def test_endpoint_follows_the_sign_in_issuer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CODEX_REFRESH_TOKEN_URL_OVERRIDE", raising=False)
    assert refresh_endpoint(GENERIC_ID) == ("http://127.0.0.1:9999/oauth/token", "generic-cli")
    assert refresh_endpoint("garbage") == (
        "https://auth.openai.com/oauth/token",
        "app_EMoamEEZ73f0CkXaXp7hrann",
    )
    monkeypatch.setenv("CODEX_REFRESH_TOKEN_URL_OVERRIDE", "http://override.test/token")
    assert refresh_endpoint(OPENAI_ID)[0] == "http://override.test/token"


def test_openai_sends_json_and_generic_sends_a_form() -> None:
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        if request.method == "GET":  # the generic client reads the discovery document first
            return httpx2.Response(
                200,
                json={
                    "issuer": "http://127.0.0.1:9999",
                    "token_endpoint": "http://127.0.0.1:9999/oauth/token",
                },
            )
        seen.append(request)
        return httpx2.Response(200, json={"access_token": "new-at", "refresh_token": "new-rt"})

    with client(handler) as http:
        assert request_refresh("rt-1", OPENAI_ID, timeouts=Timeouts(), client=http) == {
            "access_token": "new-at",
            "refresh_token": "new-rt",
        }
        assert request_refresh("rt-2", GENERIC_ID, timeouts=Timeouts(), client=http) == {
            "access_token": "new-at",
            "refresh_token": "new-rt",
        }
    assert seen[0].headers["content-type"] == "application/json"
    assert json.loads(seen[0].content) == {
        "client_id": "app_EMoamEEZ73f0CkXaXp7hrann",
        "grant_type": "refresh_token",
        "refresh_token": "rt-1",
    }
    assert seen[0].headers["originator"] == "codex_cli_rs"
    assert seen[1].headers["content-type"] == "application/x-www-form-urlencoded"
    assert seen[1].content == b"grant_type=refresh_token&refresh_token=rt-2&client_id=generic-cli"
    assert str(seen[1].url) == "http://127.0.0.1:9999/oauth/token"


@pytest.mark.parametrize(
    ("status", "body", "permanent", "reason", "message"),
    [
        (401, {"error": "refresh_token_expired"}, True, "expired", EXPIRED),
        (401, {"error": {"code": "REFRESH_TOKEN_REUSED"}}, True, "exhausted", EXHAUSTED),
        (401, {"code": "refresh_token_invalidated"}, True, "revoked", REVOKED),
        (401, {"error": "something_else"}, True, "other", OTHER),
        (
            400,
            {"error": "invalid_grant", "error_description": "grant request is invalid"},
            True,
            "other",
            OTHER,
        ),
        (
            500,
            {"error": {"message": "backend down"}},
            False,
            "transient",
            "Failed to refresh token: 500: backend down",
        ),
        (502, "bad gateway", False, "transient", "Failed to refresh token: 502: bad gateway"),
    ],
)
def test_error_mapping(
    status: int, body: object, permanent: bool, reason: str, message: str
) -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        if isinstance(body, str):
            return httpx2.Response(status, text=body)
        return httpx2.Response(status, json=body)

    with client(handler) as http, pytest.raises(RefreshError) as info:
        request_refresh("rt", OPENAI_ID, timeouts=Timeouts(), client=http)
    assert (info.value.permanent, info.value.reason, str(info.value)) == (
        permanent,
        reason,
        message,
    )


def test_transport_error_is_transient() -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ConnectError("connection refused")

    with client(handler) as http, pytest.raises(RefreshError) as info:
        request_refresh("rt", OPENAI_ID, timeouts=Timeouts(), client=http)
    assert not info.value.permanent
    assert str(info.value).startswith("Failed to refresh token: connection failed")


def test_failure_marker_is_keyed_by_the_refresh_token(tmp_path: Path) -> None:
    error = RefreshError(EXHAUSTED, permanent=True, reason="exhausted")
    remember_failure(tmp_path, "rt-old", error)
    marker = (tmp_path / "auth.json.refresh-failed").read_text()
    assert "rt-old" not in marker, "only a hash of the token is kept"
    known = remembered_failure(tmp_path, "rt-old")
    assert known is not None and known.message == EXHAUSTED and known.permanent
    assert remembered_failure(tmp_path, "rt-new") is None, "a new sign-in clears the block"
    forget_failure(tmp_path)
    assert remembered_failure(tmp_path, "rt-old") is None


def test_generic_refresh_goes_to_the_discovered_token_endpoint() -> None:
    seen: list[str] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(f"{request.method} {request.url}")
        if request.method == "GET":
            return httpx2.Response(
                200,
                json={
                    "issuer": "http://127.0.0.1:9999",
                    "token_endpoint": "http://127.0.0.1:9999/realms/x/token",
                },
            )
        return httpx2.Response(200, json={"access_token": "new-at"})

    with client(handler) as http:
        assert request_refresh("rt", GENERIC_ID, timeouts=Timeouts(), client=http) == {
            "access_token": "new-at"
        }
    assert seen == [
        "GET http://127.0.0.1:9999/.well-known/openid-configuration",
        "POST http://127.0.0.1:9999/realms/x/token",
    ]


def test_generic_refresh_never_guesses_a_token_endpoint() -> None:
    """Without a usable discovery document the refresh fails, transient, saying why; nothing is
    posted to a made-up ``{issuer}/oauth/token``."""
    seen: list[str] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(f"{request.method} {request.url}")
        return httpx2.Response(404)

    with client(handler) as http, pytest.raises(RefreshError) as info:
        request_refresh("rt", GENERIC_ID, timeouts=Timeouts(), client=http)
    assert seen == ["GET http://127.0.0.1:9999/.well-known/openid-configuration"]
    assert not info.value.permanent
    assert "the token endpoint could not be found" in str(info.value)
    assert "404 Not Found" in str(info.value)
