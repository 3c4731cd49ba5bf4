"""Issue 4.6: generated callback requests against ``callback.decide`` and against the live server.

10,000 hypothesis cases hit the sans-IO decision function with a property for every branch;
3,000 raw byte streams (request lines, headers, bodies, truncations, pipelining, garbage) go over
real sockets to one running ``loginkit login``, which must answer each one (or close cleanly)
within its deadline, never log an internal error, and still complete the real callback at the end.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar
from urllib.parse import parse_qsl, quote, urlsplit

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.loopback import exchange

from loginkit.core._categories import LoginFailureCategory
from loginkit.core._phases import LoginPhase
from loginkit.loopback._callback import (
    CallbackContext,
    Exchange,
    Finish,
    Outcome,
    Reply,
    Request,
    decide,
)

from .harness import Issuer, cli_command, spawn_cli

C = LoginFailureCategory
PORT = 1455
STATE = "Zx7Qp2Lm9Vb4Nc8Rt1Yw6Ks3Hd5Gf0Aa_Bb-Cc9Dd8"
SUCCESS_LOCATION = f"http://localhost:{PORT}/success?id_token=&needs_setup=false&org_id="

# -- generating requests from bytes ----------------------------------------------------------------
#
# Hypothesis generates (and shrinks) a byte string; :class:`Genome` reads choices from it the way
# atheris' FuzzedDataProvider does. Drawing one byte string per case instead of a dozen nested
# strategies is what makes 10,000 cases take seconds, and the same builders would serve atheris.


class Genome:
    """Choices read from bytes; past the end every choice is 0 (the simplest option)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def choose(self, n: int) -> int:
        """A choice in ``range(n)``, n <= 65536."""
        raw = self.data[self.pos : self.pos + 2].ljust(2, b"\0")
        self.pos += 1 if n <= 256 else 2
        value = raw[0] if n <= 256 else int.from_bytes(raw, "big")
        return value % n

    def pick(self, options: Sequence[T]) -> T:
        return options[self.choose(len(options))]

    def raw(self, max_len: int) -> bytes:
        n = self.choose(max_len + 1)
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def text(self, max_len: int) -> str:
        return "".join(self.pick(ALPHABET) for _ in range(self.choose(max_len + 1)))


T = TypeVar("T")
ALPHABET = [
    *(string.ascii_letters + string.digits + "%&=+#?/;:@[]._~-!$'()*, \x00\r\n\t"),
    "é",
    "\u2028",
    "\u202e",
    "\ufeff",
    "\U0001f600",
    "%00",
    "%ZZ",
    "%c3%28",
    "%2F",
    "&&",
    "==",
]
PATHS = [
    "/auth/callback",
    "/success",
    "/cancel",
    "/",
    "/favicon.ico",
    "//auth/callback",
    "/auth/callback/",
    "/AUTH/CALLBACK",
    "/auth%2Fcallback",
    "/auth/callback;x",
    "/../auth/callback",
    "/auth/callback%00",
]
KEYS = ["code", "state", "error", "error_description", "iss", "scope", "code[]", "STATE", ""]
STATES = [STATE, quote(STATE), STATE[:-1], STATE + "x", STATE.lower(), "", STATE + "%00"]


def state_value(g: Genome) -> str:
    kind = g.choose(6)
    if kind < 3:
        return STATE
    if kind < 5:
        return g.pick(STATES)
    return quote(g.text(45), safe="") if g.choose(2) else g.text(45)


def param_value(g: Genome) -> str:
    kind = g.choose(5)
    if kind == 0:
        return "c" + "".join(g.pick(string.ascii_letters) for _ in range(g.choose(40)))
    if kind == 1:
        return quote(g.raw(30), safe="")
    if kind == 2:
        return g.text(30)
    if kind == 3:
        return STATE  # the state in the wrong parameter
    return ""


def query(g: Genome) -> str:
    pairs = []
    for _ in range(g.choose(7)):
        key = g.pick(KEYS) if g.choose(4) != 3 else quote(g.text(10), safe="")
        value = state_value(g) if key == "state" else param_value(g)
        pairs.append(key if not value and g.choose(2) else f"{key}={value}")
    if g.choose(2) == 0:
        pairs.append("state=" + state_value(g))
    return g.pick(["&", ";", "&&"]).join(pairs)


def target(g: Genome) -> str:
    kind = g.choose(12)
    if kind == 9:
        return g.text(80)
    if kind == 10:
        return g.raw(80).decode("latin-1")
    if kind == 11:
        return g.pick(["*", "http://localhost/auth/callback", "", "?", "#", "/?"])
    path = g.pick(PATHS) if kind > 5 else "/auth/callback"
    if g.choose(5) != 4:
        path += "?" + query(g)
    if g.choose(6) == 5:
        path += "#" + g.text(20)
    return path


HOSTS = [
    f"127.0.0.1:{PORT}",
    f"localhost:{PORT}",
    f"[::1]:{PORT}",
    f"LOCALHOST:{PORT}",
    f"127.0.0.1:{PORT + 1}",
    "127.0.0.1",
    "evil.example",
    f"evil.example:{PORT}",
    "",
    f" 127.0.0.1:{PORT}",
]
METHODS = ["GET", "GET", "GET", "POST", "HEAD", "PUT", "OPTIONS", "DELETE", "get", "CONNECT"]


def host(g: Genome) -> str | None:
    kind = g.choose(10)
    if kind < 7:
        return HOSTS[kind % 3]
    if kind == 7:
        return None
    if kind == 8:
        return g.text(30)
    return g.pick(HOSTS)


FETCH_SITES = [None, None, None, "none", "cross-site", "same-site", "same-origin", "CROSS-SITE"]


def fetch_site(g: Genome) -> str | None:
    return g.pick(FETCH_SITES) if g.choose(8) else g.text(12)


def method(g: Genome) -> str:
    kind = g.choose(8)
    return "GET" if kind < 5 else g.pick(METHODS) if kind < 7 else g.text(8)


# -- the pure decision function --------------------------------------------------------------------


ALLOWED = {f"127.0.0.1:{PORT}", f"localhost:{PORT}", f"[::1]:{PORT}"}
CALLBACK_CATEGORIES = {
    C.CALLBACK_STATE_MISMATCH,
    C.PROVIDER_CALLBACK_ERROR,
    C.MISSING_AUTHORIZATION_CODE,
}


def last_state(target: str) -> str | None:
    state = None
    for key, value in parse_qsl(urlsplit(target).query, keep_blank_values=True, errors="replace"):
        if key == "state":
            state = value
    return state


@settings(
    max_examples=10_000,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(st.binary(max_size=400))
def test_decide_never_crashes_and_every_branch_keeps_its_promise(genome: bytes) -> None:
    g = Genome(genome)
    request = Request(method=method(g), target=target(g), host=host(g), fetch_site=fetch_site(g))
    succeeded = g.choose(2) == 1
    ctx = CallbackContext(
        expected_state=STATE, port=PORT, success_location=SUCCESS_LOCATION if succeeded else None
    )
    decision = decide(request, ctx)
    check_decision(request, succeeded, decision)


def check_decision(request: Request, succeeded: bool, decision: object) -> None:
    assert isinstance(decision, Reply | Finish | Exchange)
    method, target, host = request.method, request.target, request.host
    host_ok = host is not None and host.lower() in ALLOWED
    failures = [e for e in decision.events if isinstance(e, LoginPhase.Failed)]
    assert {f.category for f in failures} <= CALLBACK_CATEGORIES
    if isinstance(decision, Exchange):
        assert host_ok and method == "GET" and not succeeded
        assert urlsplit(target).path == "/auth/callback"
        assert last_state(target) == STATE and decision.code
        return
    response = decision.response
    assert response.status in {200, 302, 400, 403, 404, 405}
    if not host_ok:
        assert isinstance(decision, Reply) and response.status == 400
    if response.location is not None:
        assert response.status == 302 and response.location == SUCCESS_LOCATION
        assert succeeded and last_state(target) == STATE, "the success URL needs the state"
        response.location.encode("ascii")
    assert STATE.encode() not in response.body, "the state is never echoed back"
    if isinstance(decision, Finish):
        result = decision.result
        if result.outcome is Outcome.SUCCESS:
            assert succeeded and urlsplit(target).path == "/success" and method == "GET"
        elif result.failure is None:
            assert result.message == "Login cancelled", "only /cancel ends without a category"
            assert request.fetch_site in (None, "none"), "a web page cannot cancel the sign-in"
        else:
            assert result.failure.category in CALLBACK_CATEGORIES
            assert last_state(target) == STATE, "no failure ends the run without the state"
    if method != "GET" and host_ok and urlsplit(target).path in {"/auth/callback", "/success"}:
        assert response.status in {400, 405}


def test_the_genome_reaches_every_branch() -> None:
    """The generator is not vacuous: a sample of genomes covers every kind of decision."""
    import random

    rng = random.Random(7)
    kinds: set[str] = set()
    for _ in range(3000):
        g = Genome(rng.randbytes(rng.randint(0, 300)))
        request = Request(
            method=method(g), target=target(g), host=host(g), fetch_site=fetch_site(g)
        )
        succeeded = g.choose(2) == 1
        ctx = CallbackContext(
            expected_state=STATE,
            port=PORT,
            success_location=SUCCESS_LOCATION if succeeded else None,
        )
        decision = decide(request, ctx)
        if isinstance(decision, Exchange):
            kinds.add("exchange")
        elif isinstance(decision, Finish):
            failure = decision.result.failure
            kinds.add(
                f"finish:{failure.category.value if failure else decision.result.outcome.value}"
            )
        else:
            kinds.add(f"reply:{decision.response.status}")
    assert kinds >= {
        "exchange",
        "finish:success",
        "finish:failure",
        "finish:provider_callback_error",
        "finish:missing_authorization_code",
        "reply:302",
        "reply:400",
        "reply:403",
        "reply:404",
        "reply:405",
    }, kinds


# -- the live server -------------------------------------------------------------------------------

LIVE_CASES = 3000
HEADER_NAMES = [
    b"Sec-Fetch-Site",
    b"X-A",
    b"Cookie",
    b"Transfer-Encoding",
    b"Content-Length",
    b"Host",
    b"Expect",
    b"Bad Name",
    b"",
    b"Connection",
]
HEADER_VALUES = [
    b"chunked",
    b"5",
    b"-1",
    b"100-continue",
    b"99999999999",
    b"close",
    b"keep-alive",
    b"gzip, chunked",
]


def raw_request(g: Genome, port: int) -> bytes:
    """One to three HTTP/1.x messages, valid or not, maybe truncated; or plain garbage."""
    if g.choose(12) == 11:
        return g.raw(400)
    messages = []
    for _ in range(1 + g.choose(3)):
        path = target(g)
        if urlsplit(path).path.startswith("/cancel") or path.startswith("/cancel"):
            path = "/not-cancel"  # /cancel ends the run by design (a newer login's takeover)
        version = g.pick([b"HTTP/1.1", b"HTTP/1.1", b"HTTP/1.1", b"HTTP/1.0", b"HTTP/2", b""])
        line = method(g).encode("utf-8", "replace") + b" " + path.encode("utf-8", "replace")
        headers = [line + b" " + version]
        name = host(g)
        if name is not None:
            headers.append(
                b"Host: " + name.replace(str(PORT), str(port)).encode("utf-8", "replace")
            )
        for _ in range(g.choose(4)):
            value = g.pick(HEADER_VALUES) if g.choose(2) else g.raw(40)
            headers.append(g.pick(HEADER_NAMES) + b": " + value)
        if g.choose(15) == 14:
            headers.append(b"X-Big: " + b"x" * (1000 + g.choose(40_000)))
        body = g.raw(200) if g.choose(3) == 2 else b""
        messages.append(b"\r\n".join(headers) + b"\r\n\r\n" + body)
    data = b"".join(messages)
    if g.choose(5) == 4:
        data = data[: g.choose(len(data) + 1)]
    return data


def test_the_live_server_answers_every_generated_request(home: Path, issuer: Issuer) -> None:
    """Against ``loginkit login`` itself (its own process: the fuzzer does not share its GIL)."""
    command = cli_command(home, "--issuer", issuer.url, "--port", "0", "--no-browser")
    seen: dict[int | None, int] = {}
    with spawn_cli(command) as run:
        port = run.port

        @settings(
            max_examples=LIVE_CASES,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )
        @given(st.binary(max_size=600))
        def one(genome: bytes) -> None:
            data = raw_request(Genome(genome), port)
            answer = exchange(port, data, timeout=8, shut_write=True, until_close=True)
            assert answer.closed and answer.elapsed < 7, "no case may hang the connection"
            if answer.status is None:
                # Nothing came back: only for a request that never started.
                assert data.strip(b"\r\n") == b"", data[:200]
            else:
                assert answer.status in {400, 404, 405, 413, 431}, (answer.status, data[:200])
            seen[answer.status] = seen.get(answer.status, 0) + 1

        one()
        assert run.proc.poll() is None, "the sign-in is still waiting"
        state = run.state
        ok = f"GET /auth/callback?code=c&state={state} HTTP/1.1\r\nHost: localhost:{port}\r\n\r\n"
        assert exchange(port, ok.encode()).status == 302
        done = f"GET /success HTTP/1.1\r\nHost: localhost:{port}\r\n\r\n"
        assert exchange(port, done.encode()).status == 200
        code, _, err = run.finish()
    assert code == 0, err
    assert sum(seen.values()) == LIVE_CASES
    assert {400, 404, 405, 431}.issubset(seen), seen
    log = (home / "log" / "codex-login.log").read_text()
    assert "loopback connection failed" not in log
    assert "Traceback" not in err
    assert err.count("Couldn't verify this sign-in attempt") <= 5, "forged callbacks are capped"
