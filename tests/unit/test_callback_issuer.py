"""RFC 9207 (``iss`` on the callback) and the OpenID Connect ``nonce``, through a real run's
loopback server against the scripted issuer.

A callback whose ``iss`` is not the run's issuer is refused and its code never reaches the token
endpoint (a mix-up attack sends the person's code to the wrong one); the run keeps waiting, as
for a state mismatch, so the genuine callback still signs in. A generic profile sends a fresh
``nonce`` and accepts only an id_token that carries it.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from support.loopback import Run

from loginkit.core._categories import LoginFailureCategory
from loginkit.core._exceptions import ErrorKind
from loginkit.core._log import LoginLog
from loginkit.loopback._callback import CallbackContext, Reply, Request, decide

from .fake_issuer import FakeIssuer, make_jwt
from .helpers import STATE, start_run

C = LoginFailureCategory
CLIENT = "my-cli"


def generic_id_token(issuer: str, nonce: str | None, client_id: str = CLIENT) -> str:
    now = int(time.time())
    payload: dict[str, Any] = {
        "iss": issuer,
        "sub": "alice",
        "aud": client_id,
        "iat": now,
        "exp": now + 3600,
    }
    if nonce is not None:
        payload["nonce"] = nonce
    return make_jwt(payload)


def discovering(fake: FakeIssuer, *, iss_supported: bool) -> None:
    fake.discovery = {
        "issuer": "{issuer}",
        "authorization_endpoint": "{issuer}/authorize",
        "token_endpoint": "{issuer}/token",
        "jwks_uri": "{issuer}/.well-known/jwks.json",
    }
    if iss_supported:
        fake.discovery["authorization_response_iss_parameter_supported"] = True


def sent_nonce(run: Run) -> str:
    query = parse_qs(urlsplit(run.server.auth_url).query)
    (nonce,) = query["nonce"]
    return nonce


def exchanges(fake: FakeIssuer) -> int:
    return sum(1 for r in fake.requests if r.get("grant_type") == "authorization_code")


def test_a_callback_from_another_issuer_is_refused_and_the_run_keeps_waiting(
    home: Path, fake_issuer: FakeIssuer, login_log: LoginLog
) -> None:
    discovering(fake_issuer, iss_supported=True)
    run = start_run(home, fake_issuer.issuer, client_id=CLIENT)
    fake_issuer.id_token = generic_id_token(fake_issuer.issuer, sent_nonce(run))
    evil = "https://evil.example/issuer-SECRETISH"
    for query in (
        f"code=c1&state={STATE}&iss={quote(evil, safe='')}",
        f"code=c2&state={STATE}",  # announced, so required
        f"error=access_denied&state={STATE}&iss={quote(evil, safe='')}",
    ):
        refused = run.callback(query)
        assert (refused.status, refused.text) == (400, "Issuer mismatch")
    failures = run.failures()
    assert [f.category for f in failures] == [C.CALLBACK_ISSUER_MISMATCH] * 3
    assert failures[0].message == (
        f"The sign-in response names another issuer (iss) than {fake_issuer.issuer}; its code"
        " was not used"
    )
    assert failures[1].message.startswith("The sign-in response did not name its issuer (iss)")
    assert exchanges(fake_issuer) == 0, "no refused code reached the token endpoint"
    good = run.callback(f"code=c3&state={STATE}&iss={quote(fake_issuer.issuer, safe='')}")
    assert good.status == 302
    run.get("/success")
    run.finish_ok()
    assert exchanges(fake_issuer) == 1
    login_log.handler.flush()
    log = login_log.path.read_text()
    assert "login callback issuer mismatch" in log
    assert "evil.example" not in log, "the received iss is untrusted: never logged"


def test_without_the_announcement_iss_is_checked_only_when_present(
    home: Path, fake_issuer: FakeIssuer
) -> None:
    discovering(fake_issuer, iss_supported=False)
    run = start_run(home, fake_issuer.issuer, client_id=CLIENT)
    fake_issuer.id_token = generic_id_token(fake_issuer.issuer, sent_nonce(run))
    other = quote("http://127.0.0.1:1/", safe="")
    assert run.callback(f"code=c1&state={STATE}&iss={other}").status == 400
    assert run.callback(f"code=c2&state={STATE}").status == 302, "no iss, not announced: fine"
    run.get("/success")
    run.finish_ok()


def test_the_openai_profile_checks_iss_when_the_callback_carries_it(
    home: Path, fake_issuer: FakeIssuer
) -> None:
    run = start_run(home, fake_issuer.issuer)
    assert "nonce=" not in run.server.auth_url, "Codex sends no nonce; its URL stays Codex's"
    other = quote("https://auth.openai.com", safe="")
    assert run.callback(f"code=c1&state={STATE}&iss={other}").status == 400
    assert [f.category for f in run.failures()] == [C.CALLBACK_ISSUER_MISMATCH]
    same = quote(fake_issuer.issuer + "/", safe="")  # one trailing slash is forgiven
    assert run.callback(f"code=c2&state={STATE}&iss={same}").status == 302
    run.get("/success")
    run.finish_ok()
    assert exchanges(fake_issuer) == 1


def test_a_wrong_state_is_still_reported_as_a_state_mismatch_first() -> None:
    ctx = CallbackContext("s", 1234, expected_issuer="https://idp.example", issuer_required=True)
    decision = decide(Request("GET", "/auth/callback?code=c&state=x", "127.0.0.1:1234"), ctx)
    assert isinstance(decision, Reply)
    assert decision.response.body == b"State mismatch"


def test_refused_issuers_are_reported_a_few_times_then_only_counted() -> None:
    ctx = CallbackContext("s", 1234, expected_issuer="https://idp.example")
    reported = 0
    for _ in range(20):
        decision = decide(
            Request("GET", "/auth/callback?code=c&state=s&iss=x", "127.0.0.1:1234"), ctx
        )
        assert isinstance(decision, Reply) and decision.response.status == 400
        reported += bool(decision.events)
    assert reported == 5


def test_a_generic_run_sends_a_fresh_nonce_after_the_state(
    home: Path, fake_issuer: FakeIssuer
) -> None:
    discovering(fake_issuer, iss_supported=False)
    first = start_run(home, fake_issuer.issuer, client_id=CLIENT)
    second = start_run(home, fake_issuer.issuer, client_id=CLIENT)
    try:
        assert f"&state={STATE}&nonce=" in first.server.auth_url
        assert len(sent_nonce(first)) == 43
        assert sent_nonce(first) != sent_nonce(second)
    finally:
        first.cancel()
        second.cancel()


def test_an_id_token_with_another_nonce_is_refused_and_nothing_is_saved(
    home: Path, fake_issuer: FakeIssuer, login_log: LoginLog
) -> None:
    discovering(fake_issuer, iss_supported=False)
    for nonce, reason in (
        ("another-nonce-value", "its nonce is not the one this sign-in sent"),
        (None, "no 'nonce' claim, although this sign-in sent one"),
    ):
        run = start_run(home, fake_issuer.issuer, client_id=CLIENT)
        fake_issuer.id_token = generic_id_token(fake_issuer.issuer, nonce)
        page = run.callback(f"code=c&state={STATE}")
        assert page.status == 200 and "id_token_invalid" in page.text
        error = run.finish_error(timeout=30)
        assert error.kind is ErrorKind.INVALID_DATA
        assert error.failure is not None and error.failure.category is C.ID_TOKEN_INVALID
        assert reason in str(error)
        assert not (home / "auth.json").exists(), "nothing saved from a replayed id_token"
        login_log.handler.flush()
        assert sent_nonce(run) not in login_log.path.read_text(), "the nonce is never logged"
