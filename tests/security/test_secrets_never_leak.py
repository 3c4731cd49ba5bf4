"""Issue 4.4: no secret of a run reaches the login log, stdout, stderr, an exception or an event.

One test drives every failure category of the browser flow and the success paths, each three
ways: through the library (exception and progress events), and through the CLI's renderer in
human and ``--json`` form (stdout and stderr captured at the file-descriptor level). Every run
installs the login log. The secrets of each run are collected from where they really are: the
state and PKCE verifier the flow generated (recorded by wrapping the generators), the code the
"browser" sent, and every code, verifier, token and API key that crossed the token endpoint (from
the fault proxy in front of it). A server that echoes the request back (codes and verifiers
included) and a provider that echoes the state are part of the drive.

A hit is the whole secret or any 16-character piece of it (JWTs: of their payload or signature).
The auth URL itself (it carries the state) may appear only as the link the person must open.
"""

from __future__ import annotations

import json
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from support.loopback import exchange

import loginkit.loopback._takeover as takeover
import loginkit.signin._browser as flow
from loginkit.cli._login import browser_login
from loginkit.core._categories import LoginFailureCategory
from loginkit.core._exceptions import LoginError
from loginkit.core._limits import Timeouts
from loginkit.core._log import install_login_log
from loginkit.core._phases import LoginPhase
from loginkit.core._profiles import profile_for
from loginkit.oauth._pkce import PkceCodes
from loginkit.signin._api import run_login_server_with_progress as start_library_run
from loginkit.signin._options import ServerOptions

from .harness import Issuer, random_jwt, random_token

C = LoginFailureCategory
WINDOW = 16
GENERIC = profile_for("http://127.0.0.1:1", "generic-cli")


# -- what a scenario can do ------------------------------------------------------------------------


@dataclass
class Live:
    """The running sign-in as the "browser" sees it."""

    port: int
    state: str

    def get(self, target: str) -> int | None:
        request = f"GET {target} HTTP/1.1\r\nHost: localhost:{self.port}\r\n\r\n"
        return exchange(self.port, request.encode(), timeout=15).status


@dataclass
class Env:
    issuer: Issuer
    tmp: Path
    code: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    extra_secrets: list[str] = field(default_factory=list)
    cleanup: list[Callable[[], None]] = field(default_factory=list)
    #: The run being driven (set once it serves), for scenarios that act on it directly.
    run: flow.LoginRun | None = None

    def callback(self, live: Live) -> int | None:
        return live.get(f"/auth/callback?code={self.code}&state={live.state}")

    def complete(self, live: Live) -> None:
        assert self.callback(live) == 302
        assert live.get("/success") == 200


@dataclass
class Scenario:
    name: str
    #: The category the run must end with (None: success, or /cancel which has none).
    ends_with: LoginFailureCategory | None
    drive: Callable[[Env, Live], object]
    prepare: Callable[[Env], dict[str, Any]] = lambda env: {}
    #: A non-terminal category the run must also have emitted.
    also: LoginFailureCategory | None = None


def held_port(env: Env) -> dict[str, Any]:
    """A port held by something that answers /cancel by hanging up but never lets go."""
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen(8)

    def refuse() -> None:
        while True:
            try:
                conn, _ = holder.accept()
            except OSError:
                return
            conn.close()

    threading.Thread(target=refuse, daemon=True).start()
    env.cleanup.append(holder.close)
    return {"port": holder.getsockname()[1]}


def dead_issuer(env: Env) -> dict[str, Any]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return {"issuer": f"http://127.0.0.1:{port}"}


def arm(kind: str, **options: Any) -> Callable[[Env], dict[str, Any]]:
    def prepare(env: Env) -> dict[str, Any]:
        env.issuer.proxy.arm(kind, grant_type="authorization_code", **options)
        return {}

    return prepare


def replace_id_token(make: Callable[[str], str]) -> Callable[[Env], dict[str, Any]]:
    """The token endpoint answers with ``make(issuer URL)`` as the id_token."""

    def prepare(env: Env) -> dict[str, Any]:
        token = make(env.issuer.url)
        env.extra_secrets.append(token)
        env.issuer.proxy.arm(
            "mutate", grant_type="authorization_code", transform=lambda a: {**a, "id_token": token}
        )
        return {}

    return prepare


def api_key_endpoint_echoes(env: Env) -> dict[str, Any]:
    env.issuer.proxy.arm(
        "echo",
        grant_type="urn:ietf:params:oauth:grant-type:token-exchange",
        status=500,
        body=b'{"error":"server_error","error_description":"cannot mint for {request}"}',
    )
    return {}


def unwritable_home(env: Env) -> dict[str, Any]:
    blocker = env.tmp / "a-file"
    blocker.write_text("not a directory")
    return {"codex_home": blocker / "home"}


def no_browser_anywhere(env: Env) -> dict[str, Any]:
    return {"open_browser": True}


def wait_then_complete(env: Env, live: Live) -> None:
    time.sleep(0.3)  # the launcher fails on its own thread
    env.complete(live)


def nothing(env: Env, live: Live) -> None:
    pass


def cancel(env: Env, live: Live) -> None:
    live.get("/cancel")


def forged_then_complete(env: Env, live: Live) -> None:
    assert live.get(f"/auth/callback?code={env.code}&state=forged-{live.state[:3]}") == 400
    env.complete(live)


def other_issuer_then_complete(env: Env, live: Live) -> None:
    other = "https%3A%2F%2Fauth.example%2F" + live.state  # an iss echoing the state
    assert live.get(f"/auth/callback?code={env.code}&state={live.state}&iss={other}") == 400
    env.complete(live)


def provider_error_echoing_state(env: Env, live: Live) -> None:
    live.get(
        f"/auth/callback?error=access_denied&state={live.state}"
        f"&error_description=request+for+state+{live.state}+was+denied"
    )


def cancel_during_the_exchange(env: Env, live: Live) -> None:
    """The program (or Ctrl-C) cancels while the code is at the token endpoint."""
    sent = threading.Thread(target=lambda: env.callback(live), daemon=True)
    sent.start()
    time.sleep(0.5)  # the exchange is stalled at the token endpoint
    assert env.run is not None
    env.run.cancel()
    sent.join(10)


def generic_without_discovery(env: Env) -> dict[str, Any]:
    """A generic client id: the issuer (which has no discovery document) is looked up first."""
    return {"client_id": "generic-cli"}


def another_providers_record(env: Env) -> dict[str, Any]:
    """The home holds a generic provider's sign-in; a Codex sign-in must not replace it."""
    home = env.tmp / "home"
    home.mkdir(mode=0o700, exist_ok=True)
    access, refresh = random_token(), random_token()
    record = {
        "auth_mode": "chatgpt",
        "OPENAI_API_KEY": None,
        "tokens": {
            "id_token": random_jwt("https://idp.example.com"),
            "access_token": access,
            "refresh_token": refresh,
            "account_id": None,
        },
        "loginkit": {"issuer": "https://idp.example.com", "client_id": "someone-else"},
    }
    (home / "auth.json").write_text(json.dumps(record))
    (home / "auth.json").chmod(0o600)
    env.extra_secrets += [access, refresh]
    return {}


def missing_code(env: Env, live: Live) -> None:
    live.get(f"/auth/callback?state={live.state}")


def stall(env: Env) -> dict[str, Any]:
    env.issuer.proxy.arm("stall", grant_type="authorization_code", seconds=3.0)
    return {"timeouts": Timeouts.uniform(0.5)}


SCENARIOS = [
    Scenario("success", None, Env.complete),
    Scenario(
        "success-needs-setup",
        None,
        Env.complete,
        replace_id_token(
            lambda iss: random_jwt(iss, is_org_owner=True, completed_platform_onboarding=False)
        ),
    ),
    Scenario("success-api-key-endpoint-echoes", None, Env.complete, api_key_endpoint_echoes),
    Scenario(
        "browser-launch-failed",
        None,
        wait_then_complete,
        no_browser_anywhere,
        also=C.BROWSER_LAUNCH_FAILED,
    ),
    Scenario("local-server-unavailable", C.LOCAL_SERVER_UNAVAILABLE, nothing, held_port),
    Scenario(
        "login-timeout",
        C.LOGIN_TIMED_OUT,
        nothing,
        lambda env: {"login_timeout": 0.3},
    ),
    Scenario("takeover-cancel", None, cancel),
    Scenario(
        "state-mismatch-then-success",
        None,
        forged_then_complete,
        also=C.CALLBACK_STATE_MISMATCH,
    ),
    Scenario(
        "issuer-mismatch-then-success",
        None,
        other_issuer_then_complete,
        also=C.CALLBACK_ISSUER_MISMATCH,
    ),
    Scenario(
        "provider-error-echoing-state", C.PROVIDER_CALLBACK_ERROR, provider_error_echoing_state
    ),
    Scenario("missing-code", C.MISSING_AUTHORIZATION_CODE, missing_code),
    Scenario("token-timeout", C.TOKEN_EXCHANGE_TIMEOUT, Env.callback, stall),
    Scenario("token-connect", C.TOKEN_EXCHANGE_CONNECT, Env.callback, dead_issuer),
    Scenario("token-reset", C.TOKEN_EXCHANGE_REQUEST, Env.callback, arm("reset")),
    Scenario("token-truncated", C.TOKEN_EXCHANGE_REQUEST, Env.callback, arm("truncate")),
    Scenario(
        "token-rejected-json-echo",
        C.TOKEN_ENDPOINT_REJECTED,
        Env.callback,
        arm(
            "echo",
            status=400,
            body=b'{"error":"invalid_grant","error_description":"bad grant: {request}"}',
        ),
    ),
    Scenario(
        "token-rejected-plain-echo",
        C.TOKEN_ENDPOINT_REJECTED,
        Env.callback,
        arm("echo", status=500, body=b"upstream choked on {request}", content_type="text/plain"),
    ),
    Scenario("token-redirect", C.TOKEN_ENDPOINT_REJECTED, Env.callback, arm("redirect")),
    Scenario(
        "token-garbage-echo",
        C.TOKEN_RESPONSE_MALFORMED,
        Env.callback,
        arm("echo", status=200, body=b"<html>{request}</html>", content_type="text/html"),
    ),
    Scenario(
        "id-token-not-a-jwt",
        C.TOKEN_RESPONSE_MALFORMED,
        Env.callback,
        replace_id_token(lambda iss: random_token("opaque-")),
    ),
    Scenario(
        "id-token-from-another-issuer",
        C.ID_TOKEN_INVALID,
        Env.callback,
        replace_id_token(lambda iss: random_jwt("https://auth.openai.com")),
    ),
    Scenario(
        "workspace-restriction",
        C.WORKSPACE_RESTRICTION,
        Env.callback,
        lambda env: {"forced_chatgpt_workspace_id": "org-someone-else"},
    ),
    Scenario("persist-failed", C.PERSIST_FAILED, Env.callback, unwritable_home),
    Scenario("cancelled-mid-exchange", C.LOGIN_CANCELLED, cancel_during_the_exchange, stall),
    Scenario("discovery-failed", C.PROVIDER_DISCOVERY_FAILED, nothing, generic_without_discovery),
    Scenario(
        "another-providers-record",
        C.ANOTHER_PROVIDERS_RECORD,
        Env.callback,
        another_providers_record,
    ),
    Scenario(
        "redirect-failed",
        C.REDIRECT_FAILED,
        Env.callback,
        replace_id_token(
            lambda iss: random_jwt(
                iss,
                is_org_owner=True,
                completed_platform_onboarding=False,
                groups=[secrets.token_urlsafe(30) for _ in range(500)],
            )
        ),
    ),
]


#: Driven elsewhere, in a process that lacks CAP_NET_BIND_SERVICE (the sweep runs as root in
#: process): test_loopback_listeners.py::test_a_port_reserved_by_the_os_is_reported_as_such. The
#: bind fails before any secret exists, and that test checks the whole output.
DRIVEN_ELSEWHERE = {C.LOCAL_PORT_FORBIDDEN}


def test_every_category_is_driven() -> None:
    driven = {s.ends_with for s in SCENARIOS} | {s.also for s in SCENARIOS} | DRIVEN_ELSEWHERE
    assert set(LoginFailureCategory) <= driven


# -- recording what the flow generated -------------------------------------------------------------


@dataclass
class Recorder:
    states: list[str] = field(default_factory=list)
    verifiers: list[str] = field(default_factory=list)
    runs: list[flow.LoginRun] = field(default_factory=list)
    events: list[LoginPhase] = field(default_factory=list)

    def reset(self) -> None:
        self.states.clear()
        self.verifiers.clear()
        self.runs.clear()
        self.events.clear()


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Iterator[Recorder]:
    rec = Recorder()
    from loginkit.oauth._pkce import generate_pkce as real_pkce
    from loginkit.oauth._pkce import generate_state as real_state

    real_init, real_emit = flow.LoginRun.__init__, flow.LoginRun.emit

    def state() -> str:
        rec.states.append(real_state())
        return rec.states[-1]

    def pkce() -> PkceCodes:
        codes = real_pkce()
        rec.verifiers.append(codes.code_verifier)
        return codes

    def init(self: flow.LoginRun, *args: Any, **kwargs: Any) -> None:
        real_init(self, *args, **kwargs)
        rec.runs.append(self)

    def emit(self: flow.LoginRun, phase: LoginPhase) -> None:
        rec.events.append(phase)
        real_emit(self, phase)

    monkeypatch.setattr("loginkit.signin._browser.generate_state", state)
    monkeypatch.setattr("loginkit.signin._browser.generate_pkce", pkce)
    monkeypatch.setattr(flow.LoginRun, "__init__", init)
    monkeypatch.setattr(flow.LoginRun, "emit", emit)
    # A held port is given up after two quick attempts instead of ten (the path is the same).
    monkeypatch.setattr(takeover, "BIND_ATTEMPTS", 2)
    monkeypatch.setattr(takeover, "BIND_RETRY_DELAY", 0.01)
    # No browser exists here: the launcher fails (browser_launch_failed), as on a bare server.
    monkeypatch.setenv("BROWSER", "/nonexistent/browser-for-loginkit-tests")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    yield rec


# -- one run, three ways ---------------------------------------------------------------------------


@dataclass
class Outcome:
    texts: dict[str, str]
    auth_url: str


def wait_until_serving(rec: Recorder, worker: threading.Thread) -> Live | None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if rec.runs and rec.runs[-1]._ready.is_set():
            run = rec.runs[-1]
            return Live(run.actual_port, rec.states[-1])
        if not worker.is_alive():
            return None  # ended before serving (the port could not be bound)
        time.sleep(0.005)
    raise AssertionError("the run never started serving")


def run_once(
    mode: str, scenario: Scenario, env: Env, rec: Recorder, capfd: pytest.CaptureFixture[str]
) -> Outcome:
    options: dict[str, Any] = {
        "codex_home": env.tmp / "home",
        "issuer": env.issuer.url,
        "port": 0,
        "open_browser": False,
        "timeouts": Timeouts.uniform(5.0),
    }
    options.update(scenario.prepare(env))
    opts = ServerOptions(**options)
    log = install_login_log(env.tmp / "log")
    assert log is not None
    texts: dict[str, str] = {}
    error: list[BaseException] = []
    try:
        if mode == "library":
            try:
                server = start_library_run(opts, None)
            except LoginError as exc:
                error.append(exc)
            else:
                live = Live(server.actual_port, rec.states[-1])
                env.run = rec.runs[-1]
                scenario.drive(env, live)
                try:
                    server.block_until_done(timeout=30)
                except LoginError as exc:
                    error.append(exc)
        else:
            codes: list[int] = []
            worker = threading.Thread(
                target=lambda: codes.append(browser_login(opts, json_mode=mode == "json"))
            )
            worker.start()
            live_or_none = wait_until_serving(rec, worker)
            env.run = rec.runs[-1] if rec.runs else None
            if live_or_none is not None:
                scenario.drive(env, live_or_none)
            worker.join(30)
            assert not worker.is_alive(), "the CLI did not finish"
    finally:
        log.close()
        for cleanup in env.cleanup:
            cleanup()
    out, err = capfd.readouterr()
    auth_url = rec.runs[-1].auth_url if rec.runs else ""
    if auth_url:  # the link is shown on purpose: the person has to open it
        out, err = out.replace(auth_url, "<link>"), err.replace(auth_url, "<link>")
    texts["stdout"] = out
    texts["stderr"] = err
    texts["log"] = (env.tmp / "log" / "codex-login.log").read_text()
    for i, event in enumerate(rec.events):
        texts[f"event {i} repr"] = repr(event)
        texts[f"event {i} text"] = event.render() + "\n" + event.render(GENERIC)
        texts[f"event {i} fields"] = json.dumps(event.fields(), ensure_ascii=False)
    for failure in error:
        assert isinstance(failure, LoginError)
        texts["exception"] = f"{failure}\n{failure!r}\n{failure.failure!r}\n{failure.__cause__!r}"
    return Outcome(texts, auth_url)


# -- finding secrets -------------------------------------------------------------------------------


def pieces(secret: str) -> set[str]:
    parts = secret.split(".")
    distinctive = parts[1:] if len(parts) == 3 else [secret]  # a JWT's header is not secret
    found = {secret}
    for part in distinctive:
        found |= {part[i : i + WINDOW] for i in range(max(1, len(part) - WINDOW + 1))}
    return {p for p in found if len(p) >= 8}


def hits(texts: dict[str, str], run_secrets: dict[str, str]) -> list[str]:
    lookup: dict[str, str] = {}
    for name, value in run_secrets.items():
        # The link's only secret is the state (checked on its own); its prefix is not secret.
        for piece in {value} if name == "auth_url" else pieces(value):
            lookup.setdefault(piece, name)
    found = []
    for where, text in texts.items():
        for i in range(max(1, len(text) - WINDOW + 1)):
            hit = lookup.get(text[i : i + WINDOW])
            if hit is not None:
                found.append(f"{where}: {hit} ({text[max(0, i - 30) : i + WINDOW + 30]!r})")
                break
        for piece, name in lookup.items():
            if len(piece) != WINDOW and piece in text:
                found.append(f"{where}: {name}")
    return found


def sweep(
    scenarios: list[Scenario],
    modes: tuple[str, ...],
    issuer: Issuer,
    tmp_path: Path,
    recorder: Recorder,
    capfd: pytest.CaptureFixture[str],
) -> tuple[list[str], int]:
    """Drive each scenario in each mode; return the hits as (scenario [mode] channel: what)."""
    report: list[str] = []
    checked = 0
    for scenario in scenarios:
        for mode in modes:
            issuer.proxy.clear()
            issuer.proxy.calls.clear()
            issuer.randomize()
            recorder.reset()
            env = Env(issuer, tmp_path / f"{scenario.name}-{mode}")
            env.tmp.mkdir()
            outcome = run_once(mode, scenario, env, recorder, capfd)
            emitted = {e.category for e in recorder.events if isinstance(e, LoginPhase.Failed)}
            if scenario.ends_with is not None:
                assert scenario.ends_with in emitted, (scenario.name, mode, emitted)
            if scenario.also is not None:
                assert scenario.also in emitted, (scenario.name, mode, emitted)
            run_secrets = {
                "state": recorder.states[-1],
                "code_verifier": recorder.verifiers[-1],
                "code": env.code,
                "id_token": issuer.fake.id_token,
                "access_token": issuer.fake.access_token,
                "refresh_token": issuer.fake.refresh_token,
                "api_key": issuer.fake.api_key,
            }
            if outcome.auth_url:
                run_secrets["auth_url"] = outcome.auth_url
            for i, value in enumerate(issuer.proxy.secrets() + env.extra_secrets):
                if value:
                    run_secrets[f"crossed the token endpoint #{i}"] = value
            report += [
                f"{scenario.name} [{mode}] {hit}" for hit in hits(outcome.texts, run_secrets)
            ]
            checked += len(outcome.texts)
    return report, checked


def test_no_secret_reaches_logs_output_exceptions_or_events(
    issuer: Issuer, tmp_path: Path, recorder: Recorder, capfd: pytest.CaptureFixture[str]
) -> None:
    report, checked = sweep(
        SCENARIOS, ("library", "human", "json"), issuer, tmp_path, recorder, capfd
    )
    assert checked > 500
    assert report == [], "secrets leaked:\n" + "\n".join(report)


def test_a_token_endpoint_echoing_the_request_in_json_is_not_logged(
    issuer: Issuer, tmp_path: Path, recorder: Recorder, capfd: pytest.CaptureFixture[str]
) -> None:
    echo = [s for s in SCENARIOS if s.name == "token-rejected-json-echo"]
    report, _ = sweep(echo, ("library",), issuer, tmp_path, recorder, capfd)
    assert report == [], "secrets leaked:\n" + "\n".join(report)
