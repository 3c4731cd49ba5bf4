"""A generic provider's record, first class (issue "any real OpenID provider", items 1-3, 9):
its own home (never ~/.codex), never silently replacing another provider's record, knowing its
issuer, client id, scope and the access token's true expiry, refreshed before an opaque token
expires (with a margin of at most half its lifetime), and shown in its own words."""

from __future__ import annotations

import json
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from support.cli_runner import run_loginkit
from support.loopback import Run
from syrupy.assertion import SnapshotAssertion

from loginkit.core._categories import LoginFailureCategory as C
from loginkit.store._authfile import AuthDotJson
from loginkit.store._home import provider_home
from loginkit.store._refresh import needs_refresh

from .fake_issuer import FakeIssuer, id_token_for, make_jwt
from .helpers import STATE, start_run
from .snapshot_ext import TextSnapshot

DISCOVERY = {
    "issuer": "{issuer}",
    "authorization_endpoint": "{issuer}/authorize",
    "token_endpoint": "{issuer}/token",
    "jwks_uri": "{issuer}/.well-known/jwks.json",
}


def generic_issuer(fake: FakeIssuer, client_id: str = "my-cli") -> None:
    fake.discovery = dict(DISCOVERY)
    fake.id_token = id_token_for(issuer=fake.issuer, client_id=client_id)
    fake.access_token = "opaque-access-token-1"
    fake.extra_token_fields = {"expires_in": 120, "scope": "openid email offline_access"}


def with_nonce(run: Run, fake: FakeIssuer) -> None:
    """The id_token a generic provider returns carries the run's nonce (known only now)."""
    (nonce,) = parse_qs(urlsplit(run.server.auth_url).query)["nonce"]
    fake.id_token = id_token_for(issuer=fake.issuer, client_id="my-cli", nonce=nonce)


def sign_in(home: Path, fake: FakeIssuer, **overrides: object) -> None:
    run = start_run(home, fake.issuer, client_id="my-cli", **overrides)
    with_nonce(run, fake)
    assert run.callback(f"code=c&state={STATE}").status == 302
    run.get("/success")
    run.finish_ok()


def test_the_record_knows_its_provider_and_true_expiry(home: Path, fake_issuer: FakeIssuer) -> None:
    generic_issuer(fake_issuer)
    before = int(time.time())
    sign_in(home, fake_issuer)
    record = json.loads((home / "auth.json").read_text())
    kept = record["loginkit"]
    assert kept["issuer"] == fake_issuer.issuer
    assert kept["client_id"] == "my-cli"
    assert kept["scope"] == "openid email offline_access"
    assert before + 120 <= kept["access_token_expires_at"] <= int(time.time()) + 120
    assert kept["access_token_lifetime"] == 120
    auth = AuthDotJson.from_json((home / "auth.json").read_text())
    assert auth.provenance is not None
    assert auth.provenance.expiry_for("opaque-access-token-1") is not None
    assert auth.provenance.expiry_for("another-token") is None, "a stale expiry is never trusted"


def test_codex_records_keep_codexs_exact_layout(home: Path, fake_issuer: FakeIssuer) -> None:
    run = start_run(home, fake_issuer.issuer)
    assert run.callback(f"code=c&state={STATE}").status == 302
    run.get("/success")
    run.finish_ok()
    record = json.loads((home / "auth.json").read_text())
    assert list(record) == ["auth_mode", "OPENAI_API_KEY", "tokens", "last_refresh"]


def test_a_sign_in_never_silently_replaces_another_providers_record(
    home: Path, fake_issuer: FakeIssuer
) -> None:
    """Codex's record in a home; a generic sign-in pointed at it is refused, the record kept
    byte for byte; ``replace_other_record`` (``--replace``) replaces it."""
    codex = start_run(home, fake_issuer.issuer)
    assert codex.callback(f"code=c&state={STATE}").status == 302
    codex.get("/success")
    codex.finish_ok()
    before = (home / "auth.json").read_bytes()
    generic_issuer(fake_issuer)
    run = start_run(home, fake_issuer.issuer, client_id="my-cli")
    with_nonce(run, fake_issuer)
    run.callback(f"code=c&state={STATE}")
    error = run.finish_error()
    assert error.failure is not None
    assert error.failure.category is C.ANOTHER_PROVIDERS_RECORD
    assert "client app_EMoamEEZ73f0CkXaXp7hrann" in str(error)
    assert (home / "auth.json").read_bytes() == before
    sign_in(home, fake_issuer, replace_other_record=True)
    assert json.loads((home / "auth.json").read_text())["loginkit"]["client_id"] == "my-cli"


def test_an_opaque_token_is_refreshed_before_its_stored_expiry() -> None:
    now = 1_000_000.0
    expiry = (int(now) + 30, 120)
    assert needs_refresh("opaque", "2026-12-01T00:00:00Z", now=now, min_validity=60, expiry=expiry)
    later = (int(now) + 90, 120)
    assert not needs_refresh(
        "opaque", "2026-12-01T00:00:00Z", now=now, min_validity=60, expiry=later
    )


@pytest.mark.parametrize(("lifetime", "left", "stale"), [(60, 40, False), (60, 20, True)])
def test_the_margin_is_at_most_half_the_lifetime(lifetime: int, left: int, stale: bool) -> None:
    """A 60-second token with min_validity 60 is not refreshed on every call: the margin is 30 s."""
    now = 1_000_000
    jwt = make_jwt({"iat": now + left - lifetime, "exp": now + left})
    assert needs_refresh(jwt, None, now=now, min_validity=60) is stale
    assert (
        needs_refresh("opaque", None, now=now, min_validity=60, expiry=(now + left, lifetime))
        is stale
    )


def test_generic_credentials_live_in_their_own_home(tmp_path: Path) -> None:
    env = {"XDG_CONFIG_HOME": str(tmp_path / "config")}
    one = provider_home("https://idp.example.com", "my-cli", env)
    assert one.parent == tmp_path / "config" / "loginkit" / "providers"
    assert one.name.startswith("idp.example.com--my-cli-")
    assert provider_home("https://idp.example.com/", "my-cli", env) == one
    assert provider_home("https://idp.example.com", "other-cli", env) != one
    assert provider_home("https://idp.example.com/realms/a", "my-cli", env) != one


def test_the_cli_never_touches_codex_home_for_another_provider(
    tmp_path: Path, fake_issuer: FakeIssuer, snapshot: SnapshotAssertion
) -> None:
    """``loginkit login status`` (and login, token, logout) with --issuer/--client-id look in
    the provider's own home; Codex's ~/.codex is not read, created or written."""
    codex_home = tmp_path / "codex"
    codex_home.mkdir(mode=0o700)
    (codex_home / "auth.json").write_text(json.dumps({"OPENAI_API_KEY": "sk-keep-me-12345"}))
    (codex_home / "auth.json").chmod(0o600)
    env = {"CODEX_HOME": str(codex_home), "XDG_CONFIG_HOME": str(tmp_path / "config")}
    done = run_loginkit(
        "login", "status", "--issuer", "https://idp.example.com", "--client-id", "my-cli", env=env
    )
    assert done.returncode == 1
    text = done.stderr.replace(str(tmp_path), "<TMP>")
    assert "Not logged in" in text
    assert "<TMP>/config/loginkit/providers/idp.example.com--my-cli-" in text
    assert json.loads((codex_home / "auth.json").read_text()) == {
        "OPENAI_API_KEY": "sk-keep-me-12345"
    }
    assert text == snapshot(
        extension_class=TextSnapshot, name="status_other_provider_not_signed_in"
    )


def test_status_of_a_generic_record_in_its_own_words(
    home: Path, fake_issuer: FakeIssuer, snapshot: SnapshotAssertion
) -> None:
    generic_issuer(fake_issuer)
    sign_in(home, fake_issuer)
    done = run_loginkit("login", "status", "--codex-home", str(home))
    assert done.returncode == 0, done.stderr
    text = done.stderr.replace(str(home), "<HOME>").replace(fake_issuer.issuer, "<ISSUER>")
    for word in ("Codex", "ChatGPT", "OpenAI", "codex"):
        assert word not in text
    lines = text.splitlines()
    assert lines[0] == "Signed in to <ISSUER>"
    assert lines[2].startswith("  Access token: valid until ")
    lines[2] = "  Access token: valid until <WHEN>"
    assert "\n".join(lines) + "\n" == snapshot(extension_class=TextSnapshot, name="status_generic")


@pytest.mark.parametrize("whose", ["codex", "generic"])
def test_status_says_signed_out_after_the_refresh_token_was_rejected_for_good(
    home: Path, fake_issuer: FakeIssuer, whose: str, snapshot: SnapshotAssertion
) -> None:
    """After a permanent refresh failure `login status` no longer says "Logged in": it says
    signed out, with its own exit code (3), in the record's own words."""
    from loginkit.core._exceptions import RefreshError
    from loginkit.store._refresh import EXHAUSTED, remember_failure

    if whose == "generic":
        generic_issuer(fake_issuer)
        sign_in(home, fake_issuer)
    else:
        run = start_run(home, fake_issuer.issuer)
        assert run.callback(f"code=c&state={STATE}").status == 302
        run.get("/success")
        run.finish_ok()
    refresh_token = json.loads((home / "auth.json").read_text())["tokens"]["refresh_token"]
    remember_failure(
        home, refresh_token, RefreshError(EXHAUSTED, permanent=True, reason="exhausted")
    )
    done = run_loginkit("login", "status", "--codex-home", str(home))
    assert done.returncode == 3, done.stderr
    text = done.stderr.replace(str(home), "<HOME>").replace(fake_issuer.issuer, "<ISSUER>")
    assert text == snapshot(extension_class=TextSnapshot, name=f"status_signed_out_{whose}")
    as_json = json.loads(
        run_loginkit("login", "status", "--json", "--codex-home", str(home)).stdout
    )
    assert as_json["signed_out"] is True and as_json["logged_in"] is False
