"""The browser flow through its real server and real HTTP, against a scripted token endpoint.

Every failure category is driven here through the real code path (a request to the loopback
server, a real exchange over HTTP, a real write to disk); the e2e suite repeats the main ones with
oidc-provider and Chromium.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import stat
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from joserfc.jwk import RSAKey
from support.loopback import Run, http_get

from loginkit.core._categories import LoginFailureCategory, LoginFailurePhase
from loginkit.core._exceptions import ErrorKind, LoginError
from loginkit.core._limits import ServerLimits, Timeouts
from loginkit.core._log import LoginLog
from loginkit.core._phases import LocalServerBound, LoginPhase
from loginkit.oauth._idtoken import decode_jwt_payload
from loginkit.oauth._pkce import challenge_for
from loginkit.signin._api import run_login_server_with_progress, start_login_server
from loginkit.signin._options import ServerOptions

from .fake_issuer import KID, Behaviour, FakeIssuer, id_token_for, make_jwt
from .helpers import STATE, free_port, start_run

C = LoginFailureCategory


def expect_failure(run: Run, category: LoginFailureCategory, kind: ErrorKind) -> LoginError:
    error = run.finish_error(timeout=30)
    assert error.kind is kind
    assert error.failure is not None
    assert error.failure.category is category
    assert error.failure in run.failures(), "the terminal failure must have been emitted"
    assert error.failure.message == str(error)
    return error


def test_success_persists_codex_layout_and_redirects(
    home: Path, fake_issuer: FakeIssuer, login_log: LoginLog
) -> None:
    run = start_run(home, fake_issuer.issuer)
    callback = run.callback(f"code=authz-code-secret-1234&state={STATE}")
    assert callback.status == 302
    location = callback.headers["location"]
    assert location.startswith(f"http://localhost:{run.port}/success?")
    query = parse_qs(urlsplit(location).query, keep_blank_values=True)
    assert query["needs_setup"] == ["false"]
    assert query["plan_type"] == ["plus"]
    assert query["platform_url"] == ["https://platform.api.openai.org"]
    assert query["id_token"] == [""], "no token in browser history unless the page needs it"

    page = run.get("/success")
    assert page.status == 200
    assert "Signed in to Codex" in page.text
    run.finish_ok()

    # What was sent: a form body in Codex's order, with the verifier matching the challenge.
    exchange = fake_issuer.requests[0]
    assert list(exchange) == ["grant_type", "code", "redirect_uri", "client_id", "code_verifier"]
    assert exchange["code"] == "authz-code-secret-1234"
    assert exchange["redirect_uri"] == f"http://localhost:{run.port}/auth/callback"
    challenge = parse_qs(urlsplit(run.server.auth_url).query)["code_challenge"][0]
    assert challenge_for(exchange["code_verifier"]) == challenge
    assert len(exchange["code_verifier"]) == 86

    auth_path = home / "auth.json"
    assert stat.S_IMODE(auth_path.stat().st_mode) == 0o600
    data = json.loads(auth_path.read_text())
    assert list(data) == ["auth_mode", "OPENAI_API_KEY", "tokens", "last_refresh"]
    assert data["auth_mode"] == "chatgpt"
    assert data["OPENAI_API_KEY"] == fake_issuer.api_key
    assert data["tokens"] == {
        "id_token": fake_issuer.id_token,
        "access_token": fake_issuer.access_token,
        "refresh_token": fake_issuer.refresh_token,
        "account_id": "org-alice",
    }
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", data["last_refresh"])

    kinds = [type(e).__name__ for e in run.events]
    assert kinds == [
        "BindingLocalServer",
        "LocalServerBound",
        "WaitingForCallback",
        "CallbackReceived",
        "ExchangingToken",
        "PersistingCredentials",
        "Succeeded",
    ]
    login_log.handler.flush()
    log = login_log.path.read_text()
    for milestone in (
        "binding local callback server",
        "received login callback",
        "starting oauth token exchange",
        "oauth token exchange succeeded",
        "persisting login credentials",
        "login credentials persisted",
        "browser login flow completed",
    ):
        assert milestone in log
    secrets = [
        "authz-code-secret-1234",
        STATE,
        exchange["code_verifier"],
        fake_issuer.id_token,
        fake_issuer.access_token,
        fake_issuer.refresh_token,
        fake_issuer.api_key,
        run.server.auth_url,
    ]
    for secret in secrets:
        assert secret not in log
        for event in run.events:
            assert secret not in str(event)


def test_reload_after_success_shows_success_again_without_reexchange(
    home: Path, fake_issuer: FakeIssuer
) -> None:
    run = start_run(home, fake_issuer.issuer)
    first = run.callback(f"code=one-time-code&state={STATE}")
    again = run.callback(f"code=one-time-code&state={STATE}")
    assert first.status == again.status == 302
    assert first.headers["location"] == again.headers["location"]
    assert len([r for r in fake_issuer.requests if r["grant_type"] == "authorization_code"]) == 1
    run.get("/success")
    run.finish_ok()


def test_success_page_cannot_be_faked_before_credentials_are_saved(
    home: Path, fake_issuer: FakeIssuer
) -> None:
    run = start_run(home, fake_issuer.issuer)
    assert run.get("/success").status == 404
    assert run.callback(f"code=c&state={STATE}").status == 302
    assert run.get("/success").status == 200
    run.finish_ok()


def test_state_mismatch_keeps_waiting_then_a_good_callback_succeeds(
    home: Path, fake_issuer: FakeIssuer
) -> None:
    run = start_run(home, fake_issuer.issuer)
    bad = run.callback("code=c&state=not-the-state")
    assert (bad.status, bad.text) == (400, "State mismatch")
    assert [f.category for f in run.failures()] == [C.CALLBACK_STATE_MISMATCH]
    mismatch = run.events[-2]
    assert isinstance(mismatch, LoginPhase.CallbackReceived)
    assert not mismatch.state_valid and not mismatch.is_user_visible()
    assert run.callback(f"code=c&state={STATE}").status == 302
    run.get("/success")
    run.finish_ok()
    exchanges = [r for r in fake_issuer.requests if r["grant_type"] == "authorization_code"]
    assert len(exchanges) == 1, "the mismatched callback never reached the token endpoint"


def test_provider_error_ends_with_permission_denied(home: Path, fake_issuer: FakeIssuer) -> None:
    run = start_run(home, fake_issuer.issuer)
    page = run.callback(f"error=some_other_reason&state={STATE}")
    assert page.status == 200
    assert "Sign-in could not be completed" in page.text
    assert "Sign-in failed: some_other_reason" in page.text
    assert "Return to Codex to retry" in page.text
    error = expect_failure(run, C.PROVIDER_CALLBACK_ERROR, ErrorKind.PERMISSION_DENIED)
    assert str(error) == "Sign-in failed: some_other_reason"
    assert not (home / "auth.json").exists()


def test_missing_entitlement_page_hides_raw_description(
    home: Path, fake_issuer: FakeIssuer
) -> None:
    run = start_run(home, fake_issuer.issuer)
    raw = "account lacks MISSING_CODEX_ENTITLEMENT flag xyz"
    page = run.callback(
        f"error=access_denied&error_description={raw.replace(' ', '+')}&state={STATE}"
    )
    assert "You do not have access to Codex" in page.text
    assert "Contact your workspace administrator" in page.text
    assert "access_denied" in page.text
    assert raw not in page.text
    error = expect_failure(run, C.PROVIDER_CALLBACK_ERROR, ErrorKind.PERMISSION_DENIED)
    assert str(error).startswith("Codex is not enabled for your workspace.")


def test_missing_code_is_invalid_data(home: Path, fake_issuer: FakeIssuer) -> None:
    run = start_run(home, fake_issuer.issuer)
    page = run.callback(f"state={STATE}")
    assert "missing_authorization_code" in page.text
    expect_failure(run, C.MISSING_AUTHORIZATION_CODE, ErrorKind.INVALID_DATA)


@pytest.mark.parametrize(
    ("behaviour", "category", "fragment"),
    [
        (
            Behaviour("status", 403, b'{"error":"invalid_grant","error_description":"denied"}'),
            C.TOKEN_ENDPOINT_REJECTED,
            "token endpoint returned status 403 Forbidden from http://127.0.0.1:{port}/oauth/token: denied",
        ),
        (
            Behaviour("status", 500, b"upstream exploded"),
            C.TOKEN_ENDPOINT_REJECTED,
            "status 500 Internal Server Error from http://127.0.0.1:{port}/oauth/token: upstream exploded",
        ),
        (
            Behaviour("status", 302, b""),
            C.TOKEN_ENDPOINT_REJECTED,
            "status 302 Found",
        ),
        (Behaviour("garbage"), C.TOKEN_RESPONSE_MALFORMED, "could not be parsed: expected JSON"),
        (
            Behaviour("status", 200, b'{"access_token":"a"}'),
            C.TOKEN_RESPONSE_MALFORMED,
            "missing field `id_token`",
        ),
        (
            Behaviour("stall", seconds=3.0),
            C.TOKEN_EXCHANGE_TIMEOUT,
            "timed out waiting for a response",
        ),
        (
            Behaviour("reset"),
            C.TOKEN_EXCHANGE_REQUEST,
            "(endpoint: http://127.0.0.1:{port}/oauth/token)",
        ),
    ],
    ids=[
        "rejected-403",
        "rejected-500-plain",
        "redirect",
        "garbage",
        "missing-field",
        "stall",
        "reset",
    ],
)
def test_token_endpoint_failures_are_classified(
    home: Path,
    fake_issuer: FakeIssuer,
    behaviour: Behaviour,
    category: LoginFailureCategory,
    fragment: str,
) -> None:
    fake_issuer.script.append(behaviour)
    run = start_run(home, fake_issuer.issuer, timeouts=Timeouts.uniform(1.0))
    page = run.callback(f"code=the-code-value&state={STATE}")
    assert "token_exchange_failed" in page.text
    error = expect_failure(run, category, ErrorKind.OTHER)
    assert fragment.format(port=fake_issuer.port) in str(error)
    assert error.failure is not None
    assert error.failure.phase is LoginFailurePhase.EXCHANGE_TOKEN
    assert "the-code-value" not in str(error)
    assert not (home / "auth.json").exists()


def test_unreachable_token_endpoint_is_a_connect_failure(home: Path) -> None:
    issuer = f"http://127.0.0.1:{free_port()}"
    run = start_run(home, issuer)
    run.callback(f"code=c&state={STATE}")
    error = expect_failure(run, C.TOKEN_EXCHANGE_CONNECT, ErrorKind.OTHER)
    assert "Connection refused" in str(error)


def test_bad_custom_ca_bundle_is_a_client_setup_failure(
    home: Path, fake_issuer: FakeIssuer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    bundle = tmp_path / "empty.pem"
    bundle.write_text("no certificates here\n")
    monkeypatch.setenv("CODEX_CA_CERTIFICATE", str(bundle))
    run = start_run(home, fake_issuer.issuer)
    run.callback(f"code=c&state={STATE}")
    error = expect_failure(run, C.TOKEN_EXCHANGE_REQUEST, ErrorKind.OTHER)
    assert str(error).startswith("failed to prepare HTTP client for")
    assert "selected by CODEX_CA_CERTIFICATE: no certificates found in PEM file" in str(error)
    assert not fake_issuer.requests


def test_id_token_that_is_not_a_jwt_is_malformed_not_persist_failed(
    home: Path, fake_issuer: FakeIssuer
) -> None:
    fake_issuer.id_token = "not-a-jwt"
    run = start_run(home, fake_issuer.issuer)
    run.callback(f"code=c&state={STATE}")
    error = expect_failure(run, C.TOKEN_RESPONSE_MALFORMED, ErrorKind.OTHER)
    assert "id_token is not a valid JWT" in str(error)


def test_id_token_signed_by_a_stranger_is_id_token_invalid_and_saves_nothing(
    home: Path, fake_issuer: FakeIssuer
) -> None:
    old = b'{\n  "OPENAI_API_KEY": "sk-old"\n}'
    (home / "auth.json").write_bytes(old)
    stranger = RSAKey.generate_key(2048, parameters={"kid": KID})
    fake_issuer.id_token = make_jwt(
        decode_jwt_payload(fake_issuer.id_token) | {"sub": "mallory"}, key=stranger
    )
    run = start_run(home, fake_issuer.issuer)
    page = run.callback(f"code=c&state={STATE}")
    assert "id_token verification failed: the signature does not match" in page.text
    error = expect_failure(run, C.ID_TOKEN_INVALID, ErrorKind.INVALID_DATA)
    assert error.failure is not None
    assert error.failure.phase is LoginFailurePhase.VALIDATE_CALLBACK
    assert (home / "auth.json").read_bytes() == old
    assert fake_issuer.get_paths == ["/.well-known/openid-configuration", "/.well-known/jwks.json"]
    assert len(fake_issuer.requests) == 1, "no API-key exchange with an unverified id_token"


def test_signing_keys_are_found_through_discovery_for_another_issuer(
    home: Path, fake_issuer: FakeIssuer
) -> None:
    # Codex's client id against another provider (the openai profile): the provider publishes
    # its keys where its discovery document says, not at auth.openai.com's path.
    fake_issuer.discovery = {"issuer": "{issuer}", "jwks_uri": "{issuer}/oauth/keys/jwks.json"}
    run = start_run(home, fake_issuer.issuer)
    assert run.callback(f"code=c&state={STATE}").status == 302
    run.get("/success")
    run.finish_ok()
    assert fake_issuer.get_paths == [
        "/.well-known/openid-configuration",
        "/oauth/keys/jwks.json",
    ]


def test_id_token_from_another_issuer_is_id_token_invalid(
    home: Path, fake_issuer: FakeIssuer
) -> None:
    fake_issuer.id_token = id_token_for(issuer="https://auth.openai.com")
    run = start_run(home, fake_issuer.issuer)
    run.callback(f"code=c&state={STATE}")
    error = expect_failure(run, C.ID_TOKEN_INVALID, ErrorKind.INVALID_DATA)
    assert str(error) == (
        "id_token verification failed: issued by 'https://auth.openai.com', "
        f"not by '{fake_issuer.issuer}'"
    )


@pytest.mark.parametrize(
    ("behaviour", "category", "detail"),
    [
        (
            Behaviour("status", 404, b"{}"),
            C.TOKEN_RESPONSE_MALFORMED,
            "could not be parsed: status 404",
        ),
        (Behaviour("garbage"), C.TOKEN_RESPONSE_MALFORMED, 'a JSON object with a "keys" list'),
        (Behaviour("reset"), C.TOKEN_EXCHANGE_REQUEST, "connection"),
    ],
    ids=["404", "garbage", "reset"],
)
def test_signing_keys_that_cannot_be_had_are_classified(
    home: Path, fake_issuer: FakeIssuer, behaviour: Behaviour, category: C, detail: str
) -> None:
    fake_issuer.jwks_behaviour = behaviour
    run = start_run(home, fake_issuer.issuer)
    run.callback(f"code=c&state={STATE}")
    error = expect_failure(run, category, ErrorKind.OTHER)
    assert f"{fake_issuer.issuer}/.well-known/jwks.json" in str(error), "names the key set URL"
    assert detail in str(error)
    assert not (home / "auth.json").exists()


def test_workspace_restriction_writes_nothing_and_keeps_old_credentials(
    home: Path, fake_issuer: FakeIssuer
) -> None:
    old = b'{\n  "OPENAI_API_KEY": "sk-old"\n}'
    (home / "auth.json").write_bytes(old)
    run = start_run(home, fake_issuer.issuer, forced_chatgpt_workspace_id=" org-required ")
    assert "allowed_workspace_id=org-required" in run.server.auth_url
    page = run.callback(f"code=c&state={STATE}")
    assert "Login is restricted to workspace id org-required" in page.text
    error = expect_failure(run, C.WORKSPACE_RESTRICTION, ErrorKind.PERMISSION_DENIED)
    assert error.failure is not None
    assert error.failure.phase is LoginFailurePhase.VALIDATE_CALLBACK
    assert (home / "auth.json").read_bytes() == old


def test_workspace_restriction_without_account_claim(home: Path, fake_issuer: FakeIssuer) -> None:
    fake_issuer.id_token = id_token_for(account_id=None, issuer=fake_issuer.issuer)
    run = start_run(home, fake_issuer.issuer, forced_chatgpt_workspace_id="org-required")
    run.callback(f"code=c&state={STATE}")
    error = expect_failure(run, C.WORKSPACE_RESTRICTION, ErrorKind.PERMISSION_DENIED)
    assert "did not include an chatgpt_account_id claim" in str(error)


def test_matching_workspace_is_allowed(home: Path, fake_issuer: FakeIssuer) -> None:
    run = start_run(home, fake_issuer.issuer, forced_chatgpt_workspace_id="org-alice")
    assert run.callback(f"code=c&state={STATE}").status == 302
    run.get("/success")
    run.finish_ok()


def test_unwritable_home_is_persist_failed(tmp_path: Path, fake_issuer: FakeIssuer) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the home directory should be")
    run = start_run(blocker / "home", fake_issuer.issuer)
    page = run.callback(f"code=c&state={STATE}")
    assert "Sign-in completed but credentials could not be saved locally." in page.text
    error = expect_failure(run, C.PERSIST_FAILED, ErrorKind.OTHER)
    assert "not-a-directory" in str(error)


def test_oversized_success_redirect_is_redirect_failed(home: Path, fake_issuer: FakeIssuer) -> None:
    # An owner who has not finished onboarding gets the id_token in the success URL; a provider
    # that stuffs huge claims into it makes that URL longer than browsers and proxies accept.
    fake_issuer.id_token = id_token_for(
        issuer=fake_issuer.issuer,
        is_org_owner=True,
        completed_platform_onboarding=False,
        groups=["g" * 40] * 500,
    )
    run = start_run(home, fake_issuer.issuer)
    page = run.callback(f"code=c&state={STATE}")
    assert "redirect_failed" in page.text
    error = expect_failure(run, C.REDIRECT_FAILED, ErrorKind.OTHER)
    assert str(error) == "Sign-in completed but redirecting back to Codex failed."
    assert (home / "auth.json").exists(), "credentials were saved before the redirect"


def test_needs_setup_redirect_carries_setup_claims(home: Path, fake_issuer: FakeIssuer) -> None:
    fake_issuer.id_token = id_token_for(
        issuer=fake_issuer.issuer,
        is_org_owner=True,
        completed_platform_onboarding=False,
        organization_id="org-9",
        project_id="p-1",
    )
    run = start_run(home, fake_issuer.issuer)
    location = run.callback(f"code=c&state={STATE}").headers["location"]
    query = parse_qs(urlsplit(location).query, keep_blank_values=True)
    assert query["needs_setup"] == ["true"]
    assert query["id_token"] == [fake_issuer.id_token]
    assert query["org_id"] == ["org-9"]
    assert query["project_id"] == ["p-1"]
    run.get("/success")
    run.finish_ok()


def test_failed_api_key_exchange_is_not_fatal(home: Path, fake_issuer: FakeIssuer) -> None:
    fake_issuer.api_key_behaviour = Behaviour("status", 500, b"nope")
    run = start_run(home, fake_issuer.issuer)
    assert run.callback(f"code=c&state={STATE}").status == 302
    run.get("/success")
    run.finish_ok()
    assert json.loads((home / "auth.json").read_text())["OPENAI_API_KEY"] is None


def test_success_without_success_page_visit_ends_after_grace(
    home: Path, fake_issuer: FakeIssuer
) -> None:
    run = start_run(home, fake_issuer.issuer, limits=ServerLimits(success_grace=0.3))
    assert run.callback(f"code=c&state={STATE}").status == 302
    run.finish_ok()


def test_cancel_ends_with_login_cancelled(home: Path, fake_issuer: FakeIssuer) -> None:
    run = start_run(home, fake_issuer.issuer)
    run.server.cancel_handle().shutdown()
    error = expect_failure(run, C.LOGIN_CANCELLED, ErrorKind.OTHER)
    assert str(error) == "Login was not completed"
    assert run.failures()[-1].phase is LoginFailurePhase.WAIT_FOR_CALLBACK


def test_overall_timeout_ends_as_timed_out_not_cancelled(
    home: Path, fake_issuer: FakeIssuer
) -> None:
    """Waiting is not cancelling: the timeout has its own category and words (the seed called it
    "cancelled", as for Ctrl-C)."""
    run = start_run(home, fake_issuer.issuer, login_timeout=0.3)
    error = expect_failure(run, C.LOGIN_TIMED_OUT, ErrorKind.TIMED_OUT)
    assert str(error) == "Sign-in timed out after 0.3 seconds without a completed browser sign-in"


def test_second_server_on_same_port_takes_over(home: Path, fake_issuer: FakeIssuer) -> None:
    port = free_port()
    first = start_run(home, fake_issuer.issuer, port=port)
    second = start_run(home, fake_issuer.issuer, port=port)
    error = first.finish_error()
    assert (str(error), error.kind) == ("Login cancelled", ErrorKind.INTERRUPTED)
    assert error.failure is None, "/cancel emits no Failed event (the seed's contract)"
    assert second.server.actual_port == port
    assert [type(e).__name__ for e in second.events[:4]] == [
        "BindingLocalServer",
        "PreviousLoginServerDetected",
        "BindingLocalServer",
        "LocalServerBound",
    ]
    assert second.events[2] == LoginPhase.BindingLocalServer(attempt=2)
    assert second.events[2].is_user_visible()
    assert second.callback(f"code=c&state={STATE}").status == 302
    second.get("/success")
    second.finish_ok()


def test_the_default_server_is_reachable_only_through_127_0_0_1(
    home: Path, fake_issuer: FakeIssuer
) -> None:
    # 127.0.0.2 stands in for any other interface: Linux routes 127/8 to the loopback device, but
    # a socket bound to 127.0.0.1 does not accept connections made to 127.0.0.2.
    run = start_run(home, fake_issuer.issuer)
    with pytest.raises(ConnectionRefusedError):
        http_get(run.port, "/", address="127.0.0.2")
    run.server.cancel()
    run.finish_error()


def test_bind_address_0_0_0_0_serves_other_interfaces_for_containers(
    home: Path, fake_issuer: FakeIssuer
) -> None:
    """Spec 16.9: in a container, the port published by `docker run -p` arrives on the
    container's own interface, not its loopback; the browser still says `localhost`."""
    run = start_run(home, fake_issuer.issuer, bind_address="0.0.0.0")
    port = run.port
    answer = http_get(
        port, f"/auth/callback?code=c&state={STATE}", host=f"localhost:{port}", address="127.0.0.2"
    )
    assert answer.status == 302
    http_get(port, "/success", host=f"localhost:{port}", address="127.0.0.2")
    run.finish_ok()
    assert (home / "auth.json").exists()


def test_a_foreign_host_name_is_refused_on_the_wildcard_address_too(
    home: Path, fake_issuer: FakeIssuer
) -> None:
    run = start_run(home, fake_issuer.issuer, bind_address="0.0.0.0")
    answer = http_get(
        run.port,
        f"/auth/callback?code=c&state={STATE}",
        host=f"127.0.0.2:{run.port}",
        address="127.0.0.2",
    )
    assert answer.status == 400, "only loopback names are served (DNS rebinding)"
    assert not fake_issuer.requests
    run.server.cancel()
    run.finish_error()


def test_a_newer_login_takes_over_a_server_on_the_wildcard_address(
    home: Path, fake_issuer: FakeIssuer
) -> None:
    port = free_port()
    first = start_run(home, fake_issuer.issuer, port=port, bind_address="0.0.0.0")
    second = start_run(home, fake_issuer.issuer, port=port, bind_address="0.0.0.0")
    assert str(first.finish_error()) == "Login cancelled"
    assert second.server.actual_port == port
    second.server.cancel()
    second.finish_error()


@pytest.mark.parametrize("address", ["localhost", "::1", "256.0.0.1", ""])
def test_bind_address_must_be_an_ipv4_address(home: Path, address: str) -> None:
    with pytest.raises(ValueError, match="bind_address must be an IPv4 address"):
        ServerOptions(codex_home=home, bind_address=address)


def test_port_held_by_something_else_gives_local_server_unavailable(home: Path) -> None:
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen(1)  # accepts into the backlog but never answers /cancel
    port = holder.getsockname()[1]
    events: list[LoginPhase] = []
    started = time.monotonic()
    try:
        with pytest.raises(LoginError) as info:
            run_login_server_with_progress(
                ServerOptions(codex_home=home, port=port, open_browser=False), events.append
            )
    finally:
        holder.close()
    assert time.monotonic() - started < 10
    error = info.value
    assert error.kind is ErrorKind.ADDR_IN_USE
    assert re.fullmatch(rf"Port 127\.0\.0\.1:{port} is already in use after \d+ ms", str(error))
    assert error.failure is not None and error.failure.category is C.LOCAL_SERVER_UNAVAILABLE
    assert sum(isinstance(e, LoginPhase.BindingLocalServer) for e in events) == 10
    assert sum(isinstance(e, LoginPhase.PreviousLoginServerDetected) for e in events) == 1


def test_unexpected_host_header_is_rejected(home: Path, fake_issuer: FakeIssuer) -> None:
    run = start_run(home, fake_issuer.issuer)
    attack = run.get(f"/auth/callback?code=c&state={STATE}", host="evil.example:80")
    assert attack.status == 400
    assert not fake_issuer.requests
    for host in (f"localhost:{run.port}", f"[::1]:{run.port}"):
        assert run.get("/favicon.ico", host=host).status == 404
    run.server.cancel()
    run.finish_error()


def test_only_get_reaches_the_callback(home: Path, fake_issuer: FakeIssuer) -> None:
    run = start_run(home, fake_issuer.issuer)
    assert run.get(f"/auth/callback?code=c&state={STATE}", method="POST").status == 405
    assert not fake_issuer.requests
    run.server.cancel()
    run.finish_error()


def test_browser_launch_failure_is_reported_and_not_fatal(
    home: Path, fake_issuer: FakeIssuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BROWSER", str(home / "no-such-browser"))
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    run = start_run(home, fake_issuer.issuer, open_browser=True)
    deadline = time.monotonic() + 10
    while not run.failures() and time.monotonic() < deadline:
        time.sleep(0.02)
    [failure] = run.failures()
    assert failure.category is C.BROWSER_LAUNCH_FAILED
    assert failure.phase is LoginFailurePhase.OPEN_BROWSER
    assert any(isinstance(e, LoginPhase.OpeningBrowser) for e in run.events)
    assert run.callback(f"code=c&state={STATE}").status == 302, "still waiting for the callback"
    run.get("/success")
    run.finish_ok()


def test_raising_sink_never_fails_the_sign_in(home: Path, fake_issuer: FakeIssuer) -> None:
    calls: list[LoginPhase] = []

    def sink(phase: LoginPhase) -> None:
        calls.append(phase)
        raise RuntimeError("UI went away")

    opts = ServerOptions(
        codex_home=home, issuer=fake_issuer.issuer, port=0, open_browser=False, force_state=STATE
    )
    server = run_login_server_with_progress(opts, sink)
    assert http_get(server.actual_port, f"/auth/callback?code=c&state={STATE}").status == 302
    http_get(server.actual_port, "/success")
    server.block_until_done(timeout=10)
    assert len(calls) == 1, "a raising sink is dropped after its first failure"


def test_async_api(home: Path, fake_issuer: FakeIssuer) -> None:
    async def main() -> None:
        events: list[LoginPhase] = []
        opts = ServerOptions(
            codex_home=home,
            issuer=fake_issuer.issuer,
            port=0,
            open_browser=False,
            force_state=STATE,
        )
        server = await start_login_server(opts, events.append)
        threading.Thread(
            target=lambda: (
                http_get(server.actual_port, f"/auth/callback?code=c&state={STATE}"),
                http_get(server.actual_port, "/success"),
            )
        ).start()
        await asyncio.wait_for(server.wait(), 10)
        assert isinstance(events[-1], LoginPhase.Succeeded)

    asyncio.run(main())
    assert (home / "auth.json").exists()


def test_missing_home_directory_is_created(tmp_path: Path, fake_issuer: FakeIssuer) -> None:
    home = tmp_path / "does" / "not" / "exist"
    run = start_run(home, fake_issuer.issuer)
    run.callback(f"code=c&state={STATE}")
    run.get("/success")
    run.finish_ok()
    assert (home / "auth.json").exists()
    assert stat.S_IMODE(home.stat().st_mode) == 0o700, "a created home is private"


def test_stale_auth_json_is_fully_replaced(home: Path, fake_issuer: FakeIssuer) -> None:
    (home / "auth.json").write_text(
        json.dumps({"auth_mode": "apikey", "OPENAI_API_KEY": "sk-stale", "tokens": None})
    )
    (home / "auth.json").chmod(0o644)
    run = start_run(home, fake_issuer.issuer)
    run.callback(f"code=c&state={STATE}")
    run.get("/success")
    run.finish_ok()
    data = json.loads((home / "auth.json").read_text())
    assert data["auth_mode"] == "chatgpt"
    assert data["OPENAI_API_KEY"] == fake_issuer.api_key
    assert stat.S_IMODE((home / "auth.json").stat().st_mode) == 0o600


def test_opaque_access_token_still_signs_in(home: Path, fake_issuer: FakeIssuer) -> None:
    fake_issuer.access_token = "opaque-access-token-value"
    run = start_run(home, fake_issuer.issuer)
    location = run.callback(f"code=c&state={STATE}").headers["location"]
    assert "plan_type=&" in location
    run.get("/success")
    run.finish_ok()


def test_generic_provider_endpoints_come_from_discovery(
    home: Path, fake_issuer: FakeIssuer
) -> None:
    fake_issuer.discovery = {
        "issuer": "{issuer}",
        "authorization_endpoint": "{issuer}/authorize/v2",
        "token_endpoint": "{issuer}/token/v2",
        "jwks_uri": "{issuer}/keys/v2/jwks.json",
    }
    run = start_run(home, fake_issuer.issuer, client_id="my-cli")
    assert run.server.auth_url.startswith(
        f"{fake_issuer.issuer}/authorize/v2?response_type=code&client_id=my-cli&"
    )
    (nonce,) = parse_qs(urlsplit(run.server.auth_url).query)["nonce"]
    fake_issuer.id_token = id_token_for(issuer=fake_issuer.issuer, client_id="my-cli", nonce=nonce)
    assert run.callback(f"code=c&state={STATE}").status == 302
    run.get("/success")
    run.finish_ok()
    assert fake_issuer.paths == ["/token/v2"], (
        "the code went to the discovered token endpoint, no API-key step"
    )
    assert fake_issuer.get_paths == [
        "/.well-known/openid-configuration",
        "/keys/v2/jwks.json",
    ], "the id_token was verified with the discovered key set"


def test_generic_provider_without_discovery_fails_before_any_link(
    home: Path, fake_issuer: FakeIssuer, login_log: LoginLog
) -> None:
    """No endpoint is ever guessed for a generic issuer (it printed a dead link to Codex's
    paths and waited the whole timeout): the run fails at its start, classified."""
    events: list[object] = []
    options = ServerOptions(
        codex_home=home, issuer=fake_issuer.issuer, client_id="my-cli", port=0, open_browser=False
    )
    with pytest.raises(LoginError) as info:
        run_login_server_with_progress(options, events.append)
    failure = info.value.failure
    assert failure is not None
    assert failure.category is C.PROVIDER_DISCOVERY_FAILED
    assert failure.phase is LoginFailurePhase.DISCOVER_PROVIDER
    assert str(info.value) == (
        f"{fake_issuer.issuer}/.well-known/openid-configuration answered 404 Not Found"
    )
    assert fake_issuer.paths == [], "nothing was sent anywhere else"
    assert not any(isinstance(e, LocalServerBound) for e in events), "no port was bound"
    login_log.handler.flush()
    assert "openid discovery failed" in login_log.path.read_text()
