"""Outside text never reaches a terminal raw: ESC (OSC 8 links, OSC 52 clipboard writes), ``\\r``
overwrites, U+202E and the other controls and bidi/format characters are shown escaped, by one
sanitizer (loginkit.core._sanitize) applied where the text enters a message and again by the CLI
as it writes; ``loginkit token`` prints only an RFC 6750 bearer token."""

from __future__ import annotations

import io
import json
import time
import unicodedata
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from support.cli_runner import run_loginkit
from support.loopback import start_run
from syrupy.assertion import SnapshotAssertion
from unit.fake_issuer import Behaviour, FakeIssuer, id_token_for, make_jwt, running_fake_issuer
from unit.snapshot_ext import TextSnapshot

from loginkit.cli._device import GRAY, RESET, device_prompt_parts
from loginkit.cli._login import link_block
from loginkit.cli._render import Renderer, json_line
from loginkit.core._categories import LoginFailureCategory, LoginFailurePhase
from loginkit.core._phases import Failed
from loginkit.core._profiles import OPENAI
from loginkit.core._sanitize import for_terminal, sanitize, sanitize_link

#: What a provider sends to take over a terminal.
HOSTILE = (
    "\x1b]8;;https://evil.example/\x07click\x1b]8;;\x07"  # OSC 8 hyperlink
    "\x1b]52;c;ZWNobyBwd25lZA==\x07"  # OSC 52 clipboard write
    "\x1b[2J\rSigned in. You're good to go.\u202etxt.exe\u2028\x9b31m\x7f"
)
UNSAFE = {"Cc", "Cf", "Cs", "Zl", "Zp"}


def unsafe_in(text: str, allowed: str = "\n") -> list[str]:
    return [c for c in text if unicodedata.category(c) in UNSAFE and c not in allowed]


def test_the_sanitizer_escapes_visibly_and_cuts_with_a_count() -> None:
    assert sanitize("a\x1b[31mb\r\u202e\u2028") == "a\\x1b[31mb\\x0d\\u202e\\u2028"
    assert sanitize("x" * 600) == "x" * 500 + "... [100 more characters]"
    assert sanitize("\U000e0041") == "\\U000e0041"  # a tag character (Cf) outside the BMP
    assert for_terminal("line one\nline\x1b two") == "line one\nline\\x1b two"
    assert sanitize(sanitize(HOSTILE)) == sanitize(HOSTILE), "idempotent on its output"
    assert sanitize_link("https://a.example/x y\x1b") == "https://a.example/x\\x20y\\x1b"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec=None), max_size=80))
def test_no_control_or_bidi_character_is_ever_written(text: str) -> None:
    """Any code point (surrogates included) through the sanitizer and the real renderer: nothing
    unsafe reaches the stream but the renderer's own newlines and colour codes; JSON round-trips."""
    assert not unsafe_in(sanitize(text), allowed="")
    assert not unsafe_in(for_terminal(text))
    assert not unsafe_in(sanitize_link(text), allowed="")
    err, out = io.StringIO(), io.StringIO()
    human = Renderer(OPENAI, json_mode=False, err=err, out=out)
    human.text(text)
    human(
        Failed(LoginFailurePhase.EXCHANGE_TOKEN, LoginFailureCategory.TOKEN_ENDPOINT_REJECTED, text)
    )
    human.styled([(GRAY, text), ("", text)], RESET)
    assert not unsafe_in(err.getvalue().replace(GRAY, "").replace(RESET, ""))
    machine = Renderer(OPENAI, json_mode=True, err=err, out=out)
    machine.record({"type": "progress", "text": text, text: [text]})
    machine.succeeded(text)
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and not unsafe_in(out.getvalue())
    assert json.loads(lines[0]) == {"type": "progress", "text": text, text: [text]}
    assert json.loads(lines[1])["message"] == text
    assert json.loads(json_line(text)) == text


def test_callback_error_and_description_are_escaped_in_the_failure(tmp_path: Path) -> None:
    run = start_run(tmp_path, "http://127.0.0.1:9")
    try:
        from urllib.parse import quote

        run.callback(f"error={quote(HOSTILE)}&error_description={quote(HOSTILE)}&state={run.state}")
        error = run.finish_error()
    finally:
        run.cancel()
    err = io.StringIO()
    renderer = Renderer(OPENAI, json_mode=False, err=err, out=io.StringIO())
    for event in run.events:
        renderer(event)
    renderer.failed(error, "Error logging in")
    for text in (str(error), *(f.message for f in run.failures()), err.getvalue()):
        assert not unsafe_in(text), text
        assert "\\x1b]52;c;" in text and "\\u202e" in text


def _auth(home: Path, access: str, id_token: str | None = None) -> None:
    auth = {
        "auth_mode": "chatgpt",
        "OPENAI_API_KEY": None,
        "tokens": {
            "id_token": id_token or id_token_for(),
            "access_token": access,
            "refresh_token": "rt-refresh-token-value",
            "account_id": "org-alice",
        },
        "last_refresh": "2026-11-29T02:40:42.123456Z",
    }
    (home / "auth.json").write_text(json.dumps(auth))
    (home / "auth.json").chmod(0o600)  # as Codex writes it: 0644 would be tightened, with a warning


def test_status_escapes_the_id_token_claims(home: Path) -> None:
    claims = {"chatgpt_plan_type": HOSTILE, "chatgpt_account_id": HOSTILE}
    id_token = make_jwt({"email": HOSTILE, "https://api.openai.com/auth": claims, "exp": 1})
    _auth(home, make_jwt({"exp": int(time.time()) + 3600}), id_token)
    done = run_loginkit("login", "status", home=home, raw=True)
    assert done.returncode == 0
    assert not unsafe_in(done.stderr) and "\\x1b]8;;https://evil.example/" in done.stderr
    as_json = run_loginkit("login", "status", "--json", home=home, raw=True)
    assert not unsafe_in(as_json.stdout)
    assert json.loads(as_json.stdout)["email"] == HOSTILE, "--json stays exact"


def test_token_refuses_a_stored_token_with_control_characters_on_both_paths(
    home: Path, snapshot: SnapshotAssertion
) -> None:
    """The fast path (auth.json alone) and the full path (a config.toml sends it there)."""
    header_payload = make_jwt({"exp": int(time.time()) + 3600}).rsplit(".", 1)[0]
    _auth(home, header_payload + ".sig\x1b]52;c;cHduZWQ=\x07")
    for _ in ("fast", "full"):
        done = run_loginkit("token", home=home, raw=True)
        assert done.returncode == 1 and done.stdout == ""
        assert "access token from the auth server is malformed" in done.stderr
        assert "\\x1b at position" in done.stderr and not unsafe_in(done.stderr)
        assert done.stderr == snapshot(extension_class=TextSnapshot, name="token_malformed")
        (home / "config.toml").write_text("")


def test_token_refuses_a_refreshed_token_with_control_characters(home: Path) -> None:
    hostile = FakeIssuer(access_token="eyJhbGciOiJub25lIn0.e30.\x1b[2J\u202e")
    with running_fake_issuer(hostile) as fake:
        _auth(home, make_jwt({"exp": int(time.time()) - 10}))
        env = {"CODEX_REFRESH_TOKEN_URL_OVERRIDE": f"{fake.issuer}/oauth/token"}
        done = run_loginkit("token", home=home, env=env, raw=True)
    assert done.returncode == 1 and done.stdout == ""
    assert "malformed" in done.stderr and not unsafe_in(done.stderr)


def test_refresh_error_bodies_are_escaped(home: Path) -> None:
    body = json.dumps({"error": "server_error", "error_description": HOSTILE}).encode()
    with running_fake_issuer(FakeIssuer(script=[Behaviour("status", 500, body)])) as fake:
        _auth(home, make_jwt({"exp": int(time.time()) - 10}))
        env = {"CODEX_REFRESH_TOKEN_URL_OVERRIDE": f"{fake.issuer}/oauth/token"}
        done = run_loginkit("token", home=home, env=env, raw=True)
    assert done.returncode == 1
    assert "\\x1b]52;c;" in done.stderr and not unsafe_in(done.stderr)
    log = (home / "log" / "codex-login.log").read_text()
    assert "\x1b" not in log and "\u202e" not in log


def test_device_prompt_and_link_show_outside_text_escaped() -> None:
    parts = device_prompt_parts(OPENAI, "https://a.example/device \x1b]8;;x\x07", HOSTILE, True)
    err = io.StringIO()
    Renderer(OPENAI, json_mode=False, err=err, out=io.StringIO()).styled(parts, RESET)
    shown = err.getvalue()
    assert not unsafe_in(shown.replace("\x1b[90m", "").replace("\x1b[94m", "").replace(RESET, ""))
    assert "https://a.example/device\\x20\\x1b]8;;x\\x07" in shown
    block = link_block("https://idp.example/authorize?x=1 https://real.example/\u202e", OPENAI)
    assert "https://idp.example/authorize?x=1\\x20https://real.example/\\u202e" in block
