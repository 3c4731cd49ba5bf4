"""Unit tests of the pure pieces: PKCE, state, URLs, redaction, error bodies, JWTs, storage, pages."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
import stat
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from syrupy.assertion import SnapshotAssertion

from loginkit.core._categories import LoginFailureCategory
from loginkit.core._exceptions import (
    CodexHomeError,
    CredentialStoreError,
    EndpointRejectedError,
    ErrorKind,
    HttpClientSetupError,
    HttpClientSetupFailure,
    JwtFormatError,
    ResponseMalformedError,
    TokenEndpointErrorDetail,
    TransportError,
    status_text,
)
from loginkit.core._log import LoginLogFormatter, install_login_log, log_event
from loginkit.core._pages import error_page, html_escape, success_page
from loginkit.core._phases import CallbackReceived, Failed
from loginkit.core._profiles import OPENAI, generic_profile, profile_for
from loginkit.core._redact import sanitize_url_for_logging, scrub, strip_urls
from loginkit.loopback._callback import CallbackContext, Exchange, Finish, Reply, Request, decide
from loginkit.oauth._authorize import build_authorize_url
from loginkit.oauth._errors import parse_token_endpoint_error
from loginkit.oauth._http import build_ssl_context, load_pem_certificates
from loginkit.oauth._idtoken import decode_jwt_payload, jwt_auth_claims, parse_id_token
from loginkit.oauth._pkce import PkceCodes, challenge_for, generate_pkce, generate_state
from loginkit.oauth._token import classify_transport, describe_transport_error, form_body
from loginkit.signin._finish import compose_success_url, workspace_violation
from loginkit.store._authfile import (
    AuthDotJson,
    EphemeralStore,
    FileStore,
    TokenData,
    find_codex_home,
    write_atomic,
)

from .fake_issuer import b64url, id_token_for, make_jwt
from .snapshot_ext import HtmlSnapshot

B64URL = re.compile(r"^[A-Za-z0-9_-]+$")


# -- PKCE and state ---------------------------------------------------------------------------


def test_pkce_shapes_and_s256() -> None:
    codes = generate_pkce()
    assert len(codes.code_verifier) == 86 and B64URL.match(codes.code_verifier)
    assert len(codes.code_challenge) == 43 and B64URL.match(codes.code_challenge)
    digest = hashlib.sha256(codes.code_verifier.encode()).digest()
    assert codes.code_challenge == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert codes.code_verifier not in repr(codes)
    assert generate_pkce().code_verifier != codes.code_verifier


def test_rfc7636_appendix_b_vector() -> None:
    assert (
        challenge_for("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
        == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    )


def test_state_is_43_random_chars() -> None:
    states = {generate_state() for _ in range(50)}
    assert len(states) == 50
    assert all(len(s) == 43 and B64URL.match(s) for s in states)


# -- URLs -------------------------------------------------------------------------------------


def test_authorize_url_matches_codex_byte_for_byte() -> None:
    pkce = PkceCodes(code_verifier="v", code_challenge="CHALLENGE")
    url = build_authorize_url(
        OPENAI,
        issuer="https://auth.openai.com",
        client_id="app_EMoamEEZ73f0CkXaXp7hrann",
        redirect_uri="http://localhost:1455/auth/callback",
        pkce=pkce,
        state="STATE",
        workspace_id=None,
    )
    assert url == (
        "https://auth.openai.com/oauth/authorize?response_type=code"
        "&client_id=app_EMoamEEZ73f0CkXaXp7hrann"
        "&redirect_uri=http%3A%2F%2Flocalhost%3A1455%2Fauth%2Fcallback"
        "&scope=openid%20profile%20email%20offline_access%20api.connectors.read%20api.connectors.invoke"
        "&code_challenge=CHALLENGE&code_challenge_method=S256"
        "&id_token_add_organizations=true&codex_cli_simplified_flow=true"
        "&state=STATE&originator=codex_cli_rs"
    )


def test_authorize_url_workspace_and_generic_profile() -> None:
    pkce = PkceCodes(code_verifier="v", code_challenge="C")
    url = build_authorize_url(
        OPENAI,
        issuer="https://auth.openai.com/",
        client_id="c",
        redirect_uri="r",
        pkce=pkce,
        state="s t",
        workspace_id="org 1",
    )
    assert url.startswith("https://auth.openai.com//oauth/authorize?"), "issuer used verbatim"
    assert url.endswith("&state=s%20t&originator=codex_cli_rs&allowed_workspace_id=org%201")
    generic = generic_profile("https://idp.example.com", "my-cli")
    plain = build_authorize_url(
        generic,
        issuer=generic.issuer,
        client_id="my-cli",
        redirect_uri="r",
        pkce=pkce,
        state="s",
        workspace_id=None,
    )
    keys = [k for k, _ in parse_qsl(urlsplit(plain).query)]
    assert keys == [
        "response_type",
        "client_id",
        "redirect_uri",
        "scope",
        "code_challenge",
        "code_challenge_method",
        "state",
    ]


def test_profile_selection() -> None:
    assert profile_for(None, None) is OPENAI
    assert profile_for("http://127.0.0.1:1", None).app_name == "Codex"
    assert profile_for("http://127.0.0.1:1", None).issuer == "http://127.0.0.1:1"
    assert profile_for("https://idp", "other").name == "generic"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            "https://user:pass@auth.openai.com/oauth/token?code=abc123&redirect_uri=http%3A%2F%2Flocalhost%3A1455%2Fauth%2Fcallback#frag",
            "https://auth.openai.com/oauth/token?code=%3Credacted%3E&redirect_uri=http%3A%2F%2Flocalhost%3A1455%2Fauth%2Fcallback",
        ),
        (
            "https://user:pass@example.com/base?token=abc123&env=prod",
            "https://example.com/base?token=%3Credacted%3E&env=prod",
        ),
        (
            "https://example.com/x?ACCESS_TOKEN=1&Api_Key=2&keep=3",
            "https://example.com/x?ACCESS_TOKEN=%3Credacted%3E&Api_Key=%3Credacted%3E&keep=3",
        ),
        ("https://example.com/path?", "https://example.com/path"),
        ("http://[::1]:8080/a?state=s", "http://[::1]:8080/a?state=%3Credacted%3E"),
        ("not a url", "<invalid-url>"),
        ("http://[bad", "<invalid-url>"),
    ],
)
def test_sanitize_url_for_logging(raw: str, expected: str) -> None:
    assert sanitize_url_for_logging(raw) == expected


def test_strip_urls_and_scrub() -> None:
    assert (
        strip_urls("failed for url (https://x.test/a?code=1) now") == "failed for url (<url>) now"
    )
    assert scrub("echo code-123456 back", ["code-123456", ""]) == "echo <redacted> back"


def test_success_url_shapes() -> None:
    id_token = id_token_for(organization_id="org-1", project_id="p")
    access = make_jwt({"https://api.openai.com/auth": {"chatgpt_plan_type": "pro"}})
    url = compose_success_url(1455, "https://auth.openai.com", OPENAI, id_token, access)
    assert url == (
        "http://localhost:1455/success?id_token=&needs_setup=false&org_id=org-1&project_id=p"
        "&plan_type=pro&platform_url=https%3A%2F%2Fplatform.openai.com"
    )
    generic = generic_profile("https://idp", "c")
    assert (
        compose_success_url(9, "https://idp", generic, id_token, access)
        == "http://localhost:9/success"
    )


# -- token endpoint errors --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            '{"error":"invalid_grant","error_description":"refresh token expired"}',
            ("invalid_grant", "refresh token expired", "refresh token expired"),
        ),
        (
            '{"error":{"code":"proxy_auth_required","message":"proxy authentication required"}}',
            (
                "proxy_auth_required",
                "proxy authentication required",
                "proxy authentication required",
            ),
        ),
        (
            '{"error":"temporarily_unavailable"}',
            ("temporarily_unavailable", None, "temporarily_unavailable"),
        ),
        ("service unavailable", (None, None, "service unavailable")),
        ("   ", (None, None, "unknown error")),
        (
            '{"error":"  ","error_description":" "}',
            (None, None, '{"error":"  ","error_description":" "}'),
        ),
        ("[1,2]", (None, None, "[1,2]")),
        ('{"unrelated":true}', (None, None, '{"unrelated":true}')),
    ],
)
def test_parse_token_endpoint_error(
    body: str, expected: tuple[str | None, str | None, str]
) -> None:
    assert parse_token_endpoint_error(body) == TokenEndpointErrorDetail(*expected)


def test_error_texts_and_categories() -> None:
    endpoint = "https://auth.openai.com/oauth/token"
    rejected = EndpointRejectedError(
        endpoint=endpoint,
        status=403,
        detail=parse_token_endpoint_error('{"error":"x","error_description":"denied"}'),
    )
    assert str(rejected) == f"token endpoint returned status 403 Forbidden from {endpoint}: denied"
    assert rejected.failure_category is LoginFailureCategory.TOKEN_ENDPOINT_REJECTED
    malformed = ResponseMalformedError(endpoint=endpoint, reason="missing field `id_token`")
    assert (
        str(malformed)
        == f"token response from {endpoint} could not be parsed: missing field `id_token`"
    )
    assert malformed.failure_category is LoginFailureCategory.TOKEN_RESPONSE_MALFORMED
    setup = HttpClientSetupError(endpoint=endpoint, message="bad CA")
    assert str(setup) == f"failed to prepare HTTP client for {endpoint}: bad CA"
    assert setup.failure_category is LoginFailureCategory.TOKEN_EXCHANGE_REQUEST
    transport = TransportError(
        endpoint=endpoint,
        description="timed out",
        category=LoginFailureCategory.TOKEN_EXCHANGE_TIMEOUT,
    )
    assert str(transport) == f"timed out (endpoint: {endpoint})"
    assert transport.is_timeout and not transport.is_connect
    assert status_text(599) == "599 <unknown status code>"


def test_transport_classification_keeps_the_cause_chain() -> None:
    import httpx2

    root = OSError(111, "Connection refused")
    try:
        try:
            raise root
        except OSError as exc:
            raise httpx2.ConnectError(
                "All connection attempts failed to https://x.test/?code=1"
            ) from exc
    except httpx2.ConnectError as top:
        text = describe_transport_error(top)
        assert classify_transport(top) is LoginFailureCategory.TOKEN_EXCHANGE_CONNECT
    assert (
        text
        == "connection failed: All connection attempts failed to <url>: [Errno 111] Connection refused"
    )
    assert classify_transport(httpx2.ReadTimeout("")) is LoginFailureCategory.TOKEN_EXCHANGE_TIMEOUT
    assert (
        classify_transport(httpx2.ConnectTimeout("")) is LoginFailureCategory.TOKEN_EXCHANGE_TIMEOUT
    )
    assert (
        classify_transport(httpx2.RemoteProtocolError("x"))
        is LoginFailureCategory.TOKEN_EXCHANGE_REQUEST
    )
    assert describe_transport_error(httpx2.ReadTimeout("")) == "timed out waiting for a response"


def test_form_body_order_and_encoding() -> None:
    assert form_body([("b", "x y/z"), ("a", "~._-")]) == b"b=x%20y%2Fz&a=~._-"


# -- JWT claims ---------------------------------------------------------------------------------


@pytest.mark.parametrize("pad", range(4))
def test_jwt_payload_without_padding_decodes(pad: int) -> None:
    # Four payload lengths: between them every padding remainder base64url can leave is hit.
    payload = {"email": "a@b.c", "x": "y" * pad}
    token = make_jwt(payload)
    assert "=" not in token
    assert decode_jwt_payload(token) == payload


def test_id_token_parse_and_profile_email_fallback() -> None:
    token = make_jwt(
        {
            "sub": "s",
            "exp": 10,
            "https://api.openai.com/profile": {"email": "p@x"},
            "https://api.openai.com/auth": {
                "chatgpt_plan_type": "enterprise",
                "user_id": "u",
                "chatgpt_account_id": "org",
            },
        }
    )
    info = parse_id_token(token)
    assert (info.email, info.plan_type, info.user_id, info.account_id, info.expires_at) == (
        "p@x",
        "enterprise",
        "u",
        "org",
        10,
    )
    assert info.plan_is_known


@pytest.mark.parametrize(
    "bad", ["", "a.b", "a..c", "a.!!!.c", f"a.{b64url(b'not json')}.c", f"a.{b64url(b'[1]')}.c"]
)
def test_malformed_jwts(bad: str, caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(JwtFormatError):
        decode_jwt_payload(bad)
    with caplog.at_level(logging.WARNING, logger="loginkit"):
        assert jwt_auth_claims(bad) == {}
    assert caplog.records, "a loose parse failure leaves a diagnostic"
    assert all(bad not in r.getMessage() or bad == "" for r in caplog.records)


def test_workspace_violation_messages() -> None:
    assert workspace_violation(None, "garbage") is None
    assert workspace_violation("org-alice", id_token_for("org-alice")) is None
    assert (
        workspace_violation("org-x", id_token_for("org-alice"))
        == "Login is restricted to workspace id org-x."
    )
    assert "did not include an chatgpt_account_id claim" in str(
        workspace_violation("org-x", id_token_for(None))
    )


# -- storage --------------------------------------------------------------------------------------


def test_auth_json_round_trip_and_layout(tmp_path: Path) -> None:
    auth = AuthDotJson(
        auth_mode="chatgpt",
        openai_api_key=None,
        tokens=TokenData("id", "access-secret", "refresh-secret", None),
        last_refresh="2026-03-19T02:40:42.123456Z",
    )
    store = FileStore(tmp_path)
    store.save(auth)
    text = (tmp_path / "auth.json").read_text()
    assert text == (
        '{\n  "auth_mode": "chatgpt",\n  "OPENAI_API_KEY": null,\n  "tokens": {\n    "id_token": "id",\n'
        '    "access_token": "access-secret",\n    "refresh_token": "refresh-secret",\n    "account_id": null\n  },\n'
        '  "last_refresh": "2026-03-19T02:40:42.123456Z"\n}'
    )
    assert stat.S_IMODE((tmp_path / "auth.json").stat().st_mode) == 0o600
    loaded = store.load()
    assert loaded is not None and loaded.to_json() == text
    assert "access-secret" not in repr(loaded) and "refresh-secret" not in repr(loaded)
    assert store.delete() and not store.delete()
    assert store.load() is None


def test_api_key_file_and_legacy_modes(tmp_path: Path) -> None:
    assert (
        AuthDotJson(auth_mode="apikey", openai_api_key="sk-1").to_json()
        == '{\n  "auth_mode": "apikey",\n  "OPENAI_API_KEY": "sk-1"\n}'
    )
    assert AuthDotJson.from_json('{"OPENAI_API_KEY": "sk"}').resolved_mode == "apikey"
    assert AuthDotJson.from_json('{"OPENAI_API_KEY": null}').resolved_mode == "chatgpt"
    with pytest.raises(CredentialStoreError, match=r"API key auth is missing a key\."):
        AuthDotJson.from_json('{"auth_mode": "apikey", "OPENAI_API_KEY": null}')
    with pytest.raises(CredentialStoreError):
        AuthDotJson.from_json("{not json")
    unknown = AuthDotJson.from_json('{"OPENAI_API_KEY": null, "future_field": 1}')
    assert '"future_field": 1' in unknown.to_json(), "fields Codex adds later survive a rewrite"


def test_atomic_write_leaves_no_temp_files_and_replaces(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "auth.json"
    write_atomic(target, b"one")
    write_atomic(target, b"two")
    assert target.read_bytes() == b"two"
    assert sorted(p.name for p in target.parent.iterdir()) == ["auth.json"]
    assert stat.S_IMODE(target.parent.stat().st_mode) == 0o700


def test_ephemeral_store_is_per_home(tmp_path: Path) -> None:
    a, b = EphemeralStore(tmp_path / "a"), EphemeralStore(tmp_path / "b")
    a.save(AuthDotJson(auth_mode="apikey", openai_api_key="k"))
    assert a.load() is not None and b.load() is None
    assert a.delete() and a.load() is None


def test_codex_home_rules(tmp_path: Path) -> None:
    assert find_codex_home({"CODEX_HOME": str(tmp_path)}) == tmp_path.resolve()
    assert find_codex_home({"CODEX_HOME": ""}) == Path.home() / ".codex"
    with pytest.raises(CodexHomeError, match="does not exist"):
        find_codex_home({"CODEX_HOME": str(tmp_path / "missing")})
    (tmp_path / "file").write_text("x")
    with pytest.raises(CodexHomeError, match="not a directory"):
        find_codex_home({"CODEX_HOME": str(tmp_path / "file")})


# -- pages ---------------------------------------------------------------------------------------


def test_html_escape() -> None:
    assert (
        html_escape("<a href=\"x\">'&'</a>")
        == "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
    )


def test_error_page_escapes_every_slot() -> None:
    page = error_page(
        "<script>alert(1)</script>", "<b>code</b>", "\"quoted\" & 'single' {{TITLE}}", OPENAI
    )
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;code&lt;/b&gt;" in page
    assert "&quot;quoted&quot; &amp; &#39;single&#39; {{TITLE}}" in page, (
        "values are never re-expanded"
    )
    assert "unknown_error" in error_page("m", None, None, OPENAI)


def test_pages_snapshots(snapshot: SnapshotAssertion) -> None:
    assert success_page(OPENAI) == snapshot(extension_class=HtmlSnapshot, name="success_openai")
    assert error_page(
        "Sign-in failed: some_other_reason", "some_other_reason", None, OPENAI
    ) == snapshot(extension_class=HtmlSnapshot, name="error_generic_variant")
    assert error_page(
        "Codex is not enabled for your workspace.",
        "access_denied",
        "missing_codex_entitlement",
        OPENAI,
    ) == snapshot(extension_class=HtmlSnapshot, name="error_entitlement_variant")
    generic = generic_profile("https://idp", "c")
    assert "Codex" not in success_page(generic) + error_page("m", "c", None, generic)


# -- sans-IO callback decisions ----------------------------------------------------------------------


CTX = CallbackContext(expected_state="S" * 43, port=1455)


def req(target: str, method: str = "GET", host: str | None = "127.0.0.1:1455") -> Request:
    return Request(method=method, target=target, host=host)


def test_decide_routes() -> None:
    assert isinstance(decide(req("/favicon.ico"), CTX), Reply)
    assert decide(req("/favicon.ico"), CTX).response.status == 404  # type: ignore[union-attr]
    cancel = decide(req("/cancel"), CTX)
    assert isinstance(cancel, Finish) and cancel.result.kind is ErrorKind.INTERRUPTED
    assert cancel.response.body == b"Login cancelled" and cancel.response.close
    assert decide(req("/success"), CTX).response.status == 404  # type: ignore[union-attr]
    assert decide(req("*", "OPTIONS"), CTX).response.status == 400  # type: ignore[union-attr]
    assert decide(req("/", host=None), CTX).response.status == 400  # type: ignore[union-attr]
    assert decide(req("/", host="127.0.0.1:1456"), CTX).response.status == 400  # type: ignore[union-attr]


def test_decide_callback_order() -> None:
    state = "S" * 43
    mismatch = decide(req("/auth/callback?error=access_denied&state=wrong"), CTX)
    assert isinstance(mismatch, Reply) and mismatch.response.status == 400, "state is checked first"
    error = decide(req(f"/auth/callback?error=&state={state}&code=c"), CTX)
    assert isinstance(error, Finish) and error.result.message == "Sign-in failed: ", (
        "any error value ends"
    )
    described = decide(req(f"/auth/callback?error=e&error_description=%20%20&state={state}"), CTX)
    assert isinstance(described, Finish) and described.result.message == "Sign-in failed: e"
    missing = decide(req(f"/auth/callback?code=&state={state}"), CTX)
    assert isinstance(missing, Finish) and missing.result.kind is ErrorKind.INVALID_DATA
    good = decide(req(f"/auth/callback?code=first&code=secret-code-value&state={state}"), CTX)
    assert isinstance(good, Exchange) and good.code == "secret-code-value", "the last value wins"
    assert good.events == (CallbackReceived(True, True, False, True),)
    assert "secret-code-value" not in repr(good)


def test_decide_after_success_redirects_again() -> None:
    done = CallbackContext(
        expected_state="S", port=1455, success_location="http://localhost:1455/success?x=1"
    )
    again = decide(req("/auth/callback?code=used&state=S"), done)
    assert isinstance(again, Reply) and again.response.location == done.success_location
    assert not again.events
    page = decide(req("/success"), done)
    assert isinstance(page, Finish) and b"Signed in to Codex" in page.response.body


# -- HTTP client set-up ----------------------------------------------------------------------------


def test_trusted_certificate_blocks_are_trimmed_and_crls_skipped() -> None:
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    pem = ca.cert_pem.bytes().decode()
    der = base64.b64decode("".join(pem.strip().splitlines()[1:-1]))
    trusted = base64.b64encode(der + b"\x30\x03\x02\x01\x00").decode()  # cert + aux trust data
    bundle = (
        "-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n"
        f"-----BEGIN TRUSTED CERTIFICATE-----\n{trusted}\n-----END TRUSTED CERTIFICATE-----\n"
    )
    assert load_pem_certificates(bundle) == [der]


def test_custom_ca_errors(tmp_path: Path) -> None:
    with pytest.raises(
        HttpClientSetupFailure,
        match=r"Failed to read CA certificate file .* selected by SSL_CERT_FILE",
    ):
        build_ssl_context({"SSL_CERT_FILE": str(tmp_path / "missing.pem")})
    empty = tmp_path / "empty.pem"
    empty.write_text("")
    with pytest.raises(
        HttpClientSetupFailure, match=r"no certificates found in PEM file\. If you set"
    ):
        build_ssl_context({"CODEX_CA_CERTIFICATE": str(empty), "SSL_CERT_FILE": "/ignored"})
    build_ssl_context({"CODEX_CA_CERTIFICATE": "", "SSL_CERT_FILE": ""})


def test_custom_ca_is_added_to_system_roots(tmp_path: Path) -> None:
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    context = build_ssl_context({"CODEX_CA_CERTIFICATE": str(bundle)})
    subjects = [c.get("subject") for c in context.get_ca_certs()]
    assert len(subjects) > 1, "system roots are kept"


# -- login log -------------------------------------------------------------------------------------


def test_login_log_format_and_permissions(tmp_path: Path) -> None:
    log = install_login_log(tmp_path / "log")
    assert log is not None
    try:
        log_event(
            logging.getLogger("loginkit.server"),
            logging.WARNING,
            "hello world",
            a=True,
            b="x y",
            c=None,
        )
    finally:
        log.close()
    line = log.path.read_text().strip()
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z  WARN loginkit\.server: hello world a=true b=\"x y\" c=null",
        line,
    ), line
    assert stat.S_IMODE(log.path.stat().st_mode) == 0o600
    assert not logging.getLogger().handlers or all(
        not getattr(h, "baseFilename", "").endswith("codex-login.log")
        for h in logging.getLogger().handlers
    ), "the root logger is never configured"


def test_login_log_setup_failure_only_warns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert install_login_log(blocker / "log") is None
    assert "Warning: failed to create login log directory" in capsys.readouterr().err


def test_log_formatter_without_fields() -> None:
    record = logging.LogRecord("loginkit.x", logging.INFO, __file__, 1, "plain", None, None)
    assert LoginLogFormatter().format(record).endswith("  INFO loginkit.x: plain")


def test_failed_event_fields_are_json_ready() -> None:
    from loginkit.core._categories import LoginFailurePhase

    fields = Failed(
        LoginFailurePhase.OPEN_BROWSER, LoginFailureCategory.BROWSER_LAUNCH_FAILED, "m"
    ).fields()
    assert json.loads(json.dumps(fields)) == {
        "failure_phase": "open_browser",
        "category": "browser_launch_failed",
        "title": "Couldn't open your browser",
        "message": "m",
    }
