"""``loginkit logout`` revokes a generic provider's tokens (RFC 7009) before deleting them, through
the real CLI process against the scripted issuer; the openai profile's logout asks nothing."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

from support.cli_runner import run_loginkit
from syrupy.assertion import SnapshotAssertion

from loginkit.core._profiles import OPENAI_CLIENT_ID
from loginkit.store._credentials import logout

from .fake_issuer import Behaviour, FakeIssuer, id_token_for
from .snapshot_ext import TextSnapshot

CLIENT = "my-cli"
REFRESH = "rt-secret-refresh-token-value-0123"
ACCESS = "opaque-secret-access-token-4567"


def write_record(home: Path, issuer: str, client_id: str = CLIENT) -> None:
    auth = {
        "auth_mode": "chatgpt",
        "OPENAI_API_KEY": None,
        "tokens": {
            "id_token": id_token_for(issuer=issuer, client_id=client_id),
            "access_token": ACCESS,
            "refresh_token": REFRESH,
            "account_id": None,
        },
        "last_refresh": "2026-11-29T02:40:42.123456Z",
    }
    (home / "auth.json").write_text(json.dumps(auth))
    (home / "auth.json").chmod(0o600)


def announce(fake: FakeIssuer, *, revocation: bool = True) -> None:
    fake.discovery = {
        "issuer": "{issuer}",
        "authorization_endpoint": "{issuer}/authorize",
        "token_endpoint": "{issuer}/token",
        "jwks_uri": "{issuer}/.well-known/jwks.json",
    }
    if revocation:
        fake.discovery["revocation_endpoint"] = "{issuer}/revoke"


def logout_cli(home: Path) -> subprocess.CompletedProcess[str]:
    return run_loginkit("logout", home=home)


def transcript(done: subprocess.CompletedProcess[str], fake: FakeIssuer) -> str:
    text = f"$ exit {done.returncode}\n--- stdout\n{done.stdout}--- stderr\n{done.stderr}"
    return re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:<PORT>", text.replace(str(fake.port), "<PORT>"))


def assert_no_token(done: subprocess.CompletedProcess[str]) -> None:
    for secret in (REFRESH, ACCESS):
        assert secret not in done.stdout + done.stderr


def test_logout_revokes_the_refresh_token_then_the_access_token(
    home: Path, fake_issuer: FakeIssuer
) -> None:
    announce(fake_issuer)
    fake_issuer.script = [Behaviour("status", 200, b""), Behaviour("status", 200, b"")]
    write_record(home, fake_issuer.issuer)
    done = logout_cli(home)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "Successfully logged out\n")
    assert fake_issuer.paths == ["/revoke", "/revoke"]
    assert fake_issuer.requests == [
        {"token": REFRESH, "token_type_hint": "refresh_token", "client_id": CLIENT},
        {"token": ACCESS, "token_type_hint": "access_token", "client_id": CLIENT},
    ]
    assert not (home / "auth.json").exists()


def test_a_failed_revocation_is_a_warning_exit_2_and_the_record_still_goes(
    home: Path, fake_issuer: FakeIssuer, snapshot: SnapshotAssertion
) -> None:
    announce(fake_issuer)
    echo = json.dumps({"error": "temporarily_unavailable", "error_description": REFRESH}).encode()
    fake_issuer.script = [Behaviour("status", 503, echo), Behaviour("status", 200, b"")]
    write_record(home, fake_issuer.issuer)
    refused = logout_cli(home)
    assert refused.returncode == 2
    assert not (home / "auth.json").exists(), "the local delete happens anyway"
    assert_no_token(refused)
    # The provider cannot be asked at all: discovery answers 404.
    fake_issuer.discovery = None
    write_record(home, fake_issuer.issuer)
    unreachable = logout_cli(home)
    assert unreachable.returncode == 2
    assert not (home / "auth.json").exists()
    assert_no_token(unreachable)
    text = "\n".join(
        [
            "(revocation endpoint answers 503) loginkit logout",
            transcript(refused, fake_issuer),
            "(discovery answers 404) loginkit logout",
            transcript(unreachable, fake_issuer),
        ]
    )
    assert text == snapshot(extension_class=TextSnapshot, name="logout_revocation_failed")


def test_no_revocation_endpoint_announced_means_nothing_is_sent(
    home: Path, fake_issuer: FakeIssuer
) -> None:
    announce(fake_issuer, revocation=False)
    write_record(home, fake_issuer.issuer)
    done = logout_cli(home)
    assert (done.returncode, done.stderr) == (0, "Successfully logged out\n")
    assert fake_issuer.paths == []
    assert not (home / "auth.json").exists()


def test_the_openai_profile_logout_asks_nothing_of_the_network(
    home: Path, fake_issuer: FakeIssuer
) -> None:
    announce(fake_issuer)
    write_record(home, fake_issuer.issuer, client_id=OPENAI_CLIENT_ID)
    done = logout_cli(home)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "Successfully logged out\n")
    assert fake_issuer.paths == [] and fake_issuer.get_paths == []


def test_the_library_reports_failures_and_can_skip_revocation(
    home: Path, fake_issuer: FakeIssuer
) -> None:
    announce(fake_issuer)
    fake_issuer.script = [Behaviour("status", 400, b'{"error":"invalid_client"}')] * 2
    write_record(home, fake_issuer.issuer)
    result = logout(home)
    assert result.removed
    assert [f.split(": ")[0] for f in result.revocation_failures] == [
        f"The refresh token could not be revoked at {fake_issuer.issuer}",
        f"The access token could not be revoked at {fake_issuer.issuer}",
    ]
    assert "(invalid_client)" in result.revocation_failures[0]
    write_record(home, fake_issuer.issuer)
    requests: list[Any] = list(fake_issuer.paths)
    skipped = logout(home, revoke=False)
    assert skipped.removed and skipped.revocation_failures == []
    assert fake_issuer.paths == requests, "revoke=False sends nothing"


def test_an_access_token_the_provider_does_not_revoke_is_not_a_failure(
    home: Path, fake_issuer: FakeIssuer
) -> None:
    """RFC 7009 2.2.1 ``unsupported_token_type`` (oidc-provider for its access tokens): the
    access token expires on its own; for the refresh token it is a failure."""
    announce(fake_issuer)
    unsupported = Behaviour("status", 400, b'{"error":"unsupported_token_type"}')
    fake_issuer.script = [Behaviour("status", 200, b""), unsupported]
    write_record(home, fake_issuer.issuer)
    assert logout(home).revocation_failures == []
    fake_issuer.script = [unsupported, unsupported]
    write_record(home, fake_issuer.issuer)
    (failure,) = logout(home).revocation_failures
    assert failure.startswith(f"The refresh token could not be revoked at {fake_issuer.issuer}")
    assert "does not revoke refresh tokens" in failure
