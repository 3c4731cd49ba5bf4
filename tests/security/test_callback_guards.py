"""Issue 4.1: the callback cannot be hijacked or faked. Real server, real sockets, real HTTP.

Every test ends by completing (or cancelling) the run, to show that what was refused did not end
or damage it.
"""

from __future__ import annotations

import hmac
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from urllib.parse import quote

import pytest
from playwright.sync_api import Browser
from support.browser import open_url
from support.loopback import Raw, Run, exchange, start_run

from loginkit.core._categories import LoginFailureCategory
from loginkit.core._phases import LoginPhase

from .harness import Issuer


def succeed(run: Run, home: Path, code: str = "the-code") -> None:
    redirect = run.callback(code=code)
    assert redirect.status == 302, redirect
    assert run.get("/success").status == 200
    run.finish_ok()
    assert (home / "auth.json").exists()


def raw_get(run: Run, target: str, headers: str) -> Raw:
    return exchange(run.port, f"GET {target} HTTP/1.1\r\n{headers}\r\n".encode())


@contextmanager
def serve_once(body: bytes) -> Iterator[str]:
    """A page on another origin (127.0.0.1, another port): what a hostile site would serve."""

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


# -- Host header (DNS rebinding) -------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        "Host: evil.example\r\n",
        "Host: evil.example:{port}\r\n",
        "Host: rebind.127.0.0.1.nip.io:{port}\r\n",
        "Host: 127.0.0.1\r\n",
        "Host: localhost\r\n",
        "Host: 127.0.0.1:{other}\r\n",
        "Host: 127.0.0.2:{port}\r\n",
        "Host: 0.0.0.0:{port}\r\n",
        "Host: localhost.:{port}\r\n",
        "Host: [::1]\r\n",
        "Host: user@localhost:{port}\r\n",
        "Host: localhost:{port}/x\r\n",
        "Host: \r\n",
        "Host: 127.0.0.1:{port}\r\nHost: 127.0.0.1:{port}\r\n",
        "Host: evil.example\r\nHost: 127.0.0.1:{port}\r\n",
        "X-Forwarded-Host: 127.0.0.1:{port}\r\n",
    ],
)
def test_callback_with_a_foreign_host_header_is_refused(
    home: Path, issuer: Issuer, headers: str
) -> None:
    run = start_run(home, issuer.url)
    target = f"/auth/callback?code=c&state={run.state}"  # even with the right state
    answer = raw_get(run, target, headers.format(port=run.port, other=run.port + 1))
    assert answer.status == 400
    assert issuer.exchanges() == 0, "a refused request never reaches the token endpoint"
    assert run.failures() == [], "nothing happened as far as the person is concerned"
    succeed(run, home)


def test_http10_request_without_host_is_refused(home: Path, issuer: Issuer) -> None:
    run = start_run(home, issuer.url)
    answer = exchange(
        run.port, f"GET /auth/callback?code=c&state={run.state} HTTP/1.0\r\n\r\n".encode()
    )
    assert answer.status == 400
    assert issuer.exchanges() == 0
    succeed(run, home)


@pytest.mark.parametrize(
    "host", ["127.0.0.1:{port}", "localhost:{port}", "LocalHost:{port}", "[::1]:{port}"]
)
def test_each_loopback_host_form_is_served(home: Path, issuer: Issuer, host: str) -> None:
    run = start_run(home, issuer.url)
    assert run.get("/favicon.ico", host=host.format(port=run.port)).status == 404
    redirect = run.get(f"/auth/callback?code=c&state={run.state}", host=host.format(port=run.port))
    assert redirect.status == 302
    assert run.get("/success", host=host.format(port=run.port)).status == 200
    run.finish_ok()


# -- /success only after this run persisted -------------------------------------------------------


def test_success_page_is_refused_until_credentials_are_saved(home: Path, issuer: Issuer) -> None:
    run = start_run(home, issuer.url)
    assert run.get("/success").status == 404, "before the callback"
    assert run.get("/success?id_token=forged&needs_setup=false").status == 404

    issuer.proxy.arm("delay", seconds=1.0, grant_type="authorization_code")
    answers: list[Raw] = []
    thread = threading.Thread(target=lambda: answers.append(run.callback()))
    thread.start()
    try:
        deadline = 50
        while not any(isinstance(e, LoginPhase.ExchangingToken) for e in run.events) and deadline:
            threading.Event().wait(0.02)
            deadline -= 1
        assert any(isinstance(e, LoginPhase.ExchangingToken) for e in run.events)
        assert run.get("/success").status == 404, "during the token exchange"
        assert not (home / "auth.json").exists()
    finally:
        thread.join(10)
    assert answers[0].status == 302
    assert (home / "auth.json").exists(), "saved before /success is served"
    page = run.get("/success")
    assert page.status == 200 and "Signed in to Codex" in page.text
    run.finish_ok()
    kinds = [type(e).__name__ for e in run.events]
    assert kinds.index("PersistingCredentials") < kinds.index("Succeeded")


def test_success_page_cannot_end_a_run_whose_persist_failed(tmp_path: Path, issuer: Issuer) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    run = start_run(blocker / "home", issuer.url)
    page = run.callback()
    assert "persist_failed" in page.text
    error = run.finish_error()
    assert error.failure is not None
    assert error.failure.category is LoginFailureCategory.PERSIST_FAILED
    assert not any(isinstance(e, LoginPhase.Succeeded) for e in run.events)


# -- one-shot callback ----------------------------------------------------------------------------


def test_reload_and_prefetch_after_success_show_success_again(home: Path, issuer: Issuer) -> None:
    run = start_run(home, issuer.url)
    issuer.proxy.arm("delay", seconds=0.5, grant_type="authorization_code")
    # A prefetch racing the navigation: five identical callbacks at once.
    answers: list[Raw] = []
    threads = [threading.Thread(target=lambda: answers.append(run.callback())) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert [a.status for a in answers] == [302] * 5
    location = answers[0].headers["location"]
    assert all(a.headers["location"] == location for a in answers)
    # A reload, and a stale tab with another code: the same redirect, no new exchange.
    assert run.callback().headers["location"] == location
    assert run.callback(code="another-code").headers["location"] == location
    assert issuer.exchanges() == 1, "the code was exchanged exactly once"
    # Without this run's state there is no success URL (it can carry the id_token).
    late = run.callback(state="not-the-state")
    assert late.status == 400 and "location" not in late.headers
    assert run.get("/success").status == 200
    run.finish_ok()
    assert run.failures() == [], "nothing after success is reported as a failure"
    assert sum(isinstance(e, LoginPhase.Succeeded) for e in run.events) == 1


# -- state comparison -----------------------------------------------------------------------------


def test_state_is_compared_in_constant_time(
    home: Path, issuer: Issuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    # loginkit.loopback._callback calls hmac.compare_digest through the module: patch it there.
    monkeypatch.setattr(hmac, "compare_digest", spy)
    run = start_run(home, issuer.url)
    state = run.state
    near_misses = [
        state[:-1],
        state + "x",
        state[:-1] + ("A" if state[-1] != "A" else "B"),
        state.upper() if state.upper() != state else state.lower(),
        "",
        "é" * 43,
        state[:20],
    ]
    for guess in near_misses:
        answer = run.callback(state=quote(guess))
        assert (answer.status, answer.text) == (400, "State mismatch"), guess
    assert len(calls) == len(near_misses), "every guess went through compare_digest"
    assert all(b == state.encode() for _, b in calls)
    assert issuer.exchanges() == 0
    assert [f.category for f in run.failures()] == [
        LoginFailureCategory.CALLBACK_STATE_MISMATCH
    ] * 5, "the first five mismatches are shown (then only counted); none ends the run"
    succeed(run, home)


def test_forged_callbacks_are_reported_a_few_times_then_only_counted(
    home: Path, issuer: Issuer, caplog: pytest.LogCaptureFixture
) -> None:
    """A page that fires forged callbacks in a loop must not flood the terminal or the log."""
    run = start_run(home, issuer.url)
    for i in range(200):
        assert run.callback(code=f"forged-{i}", state=f"guess-{i}").status == 400
    assert len(run.failures()) == 5
    mismatch_lines = [r for r in caplog.records if "state mismatch" in r.getMessage()]
    assert len(mismatch_lines) == 5
    assert any("not reported" in r.getMessage() for r in caplog.records)
    succeed(run, home)


# -- GET only -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "HEAD", "BREW"]
)
def test_only_get_is_served_on_the_routes(home: Path, issuer: Issuer, method: str) -> None:
    run = start_run(home, issuer.url)
    for path in (f"/auth/callback?code=c&state={run.state}", "/success", "/cancel"):
        body = "code=c&state=" + run.state
        request = (
            f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{run.port}\r\n"
            f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n\r\n{body}"
        )
        answer = exchange(run.port, request.encode(), timeout=3)
        assert answer.status == 405, (method, path)
        assert answer.body == (b"" if method == "HEAD" else b"Method Not Allowed")
        assert answer.headers.get("allow") == "GET"
    assert issuer.exchanges() == 0
    assert run.failures() == []
    succeed(run, home)


# -- size limits ----------------------------------------------------------------------------------


def test_oversized_requests_get_431_or_413_and_the_run_goes_on(home: Path, issuer: Issuer) -> None:
    run = start_run(home, issuer.url)
    host = f"Host: 127.0.0.1:{run.port}\r\n"
    cases = {
        # a head that arrives whole (h11 alone would accept it) and one that never ends
        "url 20 KB": f"GET /auth/callback?code=c&state={run.state}&pad={'a' * 20_000} HTTP/1.1\r\n{host}\r\n",
        "url 1 MB": f"GET /auth/callback?pad={'a' * 1_000_000} HTTP/1.1\r\n{host}\r\n",
        "one huge header": f"GET / HTTP/1.1\r\n{host}Cookie: {'c' * 20_000}\r\n\r\n",
        "many headers": f"GET / HTTP/1.1\r\n{host}" + "X-A: b\r\n" * 3000 + "\r\n",
        "header without end": f"GET / HTTP/1.1\r\n{host}X-Long: {'d' * 200_000}",
    }
    for name, request in cases.items():
        answer = exchange(run.port, request.encode(), timeout=5, until_close=True)
        assert answer.status == 431, name
        assert answer.closed, name
    body = b"x" * 200_000
    post = f"POST /upload HTTP/1.1\r\n{host}Content-Length: {len(body)}\r\n\r\n".encode() + body
    assert exchange(run.port, post, timeout=5).status == 413
    chunked = (
        f"POST /upload HTTP/1.1\r\n{host}Transfer-Encoding: chunked\r\n\r\n".encode()
        + b"10000\r\n"
        + b"y" * 0x10000
        + b"\r\n"
    ) * 1
    assert (
        exchange(run.port, chunked + b"10000\r\n" + b"y" * 0x10000 + b"\r\n", timeout=5).status
        == 413
    )
    assert issuer.exchanges() == 0
    assert run.failures() == []
    # A long but legal callback: an 8 KB parameter the provider may add (not ``iss``, which RFC
    # 9207 checks against the issuer).
    padded = run.get(f"/auth/callback?code=c&state={run.state}&session_state={'i' * 8000}")
    assert padded.status == 302
    assert run.get("/success").status == 200
    run.finish_ok()


# -- /cancel is for a newer login process, not for web pages --------------------------------------


def test_a_web_page_cannot_cancel_the_sign_in(
    home: Path, issuer: Issuer, browser: Browser, caplog: pytest.LogCaptureFixture
) -> None:
    run = start_run(home, issuer.url)
    for site in ("cross-site", "same-site", "same-origin", "Cross-Site"):
        answer = raw_get(
            run, "/cancel", f"Host: localhost:{run.port}\r\nSec-Fetch-Site: {site}\r\n"
        )
        assert answer.status == 403, site
    # A real page elsewhere that embeds the cancel URL, as any site on the web could.
    page = f'<html><body><img src="http://localhost:{run.port}/cancel"></body></html>'.encode()
    with serve_once(page) as origin:
        open_url(browser, origin)
    assert sum("cancel request sent by a web page" in r.getMessage() for r in caplog.records) >= 5
    with pytest.raises(TimeoutError):
        run.server.block_until_done(timeout=0.2)  # the sign-in is still waiting
    # The takeover request of a newer login (no Sec-Fetch-Site) still works.
    assert raw_get(run, "/cancel", f"Host: 127.0.0.1:{run.port}\r\n").status == 200
    error = run.finish_error()
    assert str(error) == "Login cancelled"
