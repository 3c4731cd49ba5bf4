"""Cancelling cancels (issue "hostile input, round two", item 3).

Once a run is cancelled (Ctrl-C, ``--timeout``, ``cancel()``) no credential is written, the
exchange in flight is abandoned, and the process exits at once with one block. Conversely a
``/cancel`` that arrives after the credentials were saved does not turn the finished sign-in into
"Login cancelled". The token endpoint here stalls for a few seconds after the request arrived, as
a slow or hostile provider does.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.cli_runner import cli
from support.loopback import exchange, http_get
from unit.fake_issuer import Behaviour, FakeIssuer, running_fake_issuer
from unit.helpers import start_run

from loginkit.core._exceptions import ErrorKind

STALL = 4.0
OLD_RECORD = {"auth_mode": "apikey", "OPENAI_API_KEY": "sk-old-key-that-must-survive"}


@pytest.fixture
def fake_issuer() -> Iterator[FakeIssuer]:
    with running_fake_issuer() as fake:
        yield fake


@pytest.fixture
def old_credentials(home: Path) -> Path:
    path = home / "auth.json"
    path.write_text(json.dumps(OLD_RECORD))
    path.chmod(0o600)
    return path


def _callback_in_background(port: int, state: str) -> threading.Thread:
    """The browser's return, sent from a thread: the answer only comes when the exchange ends."""

    def send() -> None:
        try:
            http_get(port, f"/auth/callback?code=the-code&state={state}", timeout=STALL + 5)
        except (OSError, AssertionError):
            pass  # the server went away: what this test is about

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    return thread


def _wait_for_exchange(issuer: FakeIssuer, deadline: float = 10.0) -> None:
    end = time.monotonic() + deadline
    while not any(r.get("grant_type") == "authorization_code" for r in issuer.requests):
        assert time.monotonic() < end, "the exchange never started"
        time.sleep(0.02)


def test_ctrl_c_during_the_exchange_exits_at_once_and_writes_nothing(
    home: Path, fake_issuer: FakeIssuer, old_credentials: Path
) -> None:
    fake_issuer.script = [Behaviour("stall", seconds=STALL)]
    with cli(home, "--issuer", fake_issuer.issuer, "--port", "0", "--no-browser") as run:
        _callback_in_background(run.port, run.state)
        _wait_for_exchange(fake_issuer)
        interrupted = time.monotonic()
        run.proc.send_signal(signal.SIGINT)
        code, _, err = run.finish(timeout=STALL + 10)
        took = time.monotonic() - interrupted
    assert code == 130
    assert took < 1.5, f"the process lingered {took:.1f} s after Ctrl-C"
    assert err.count("Details:") == 1, err  # one block, not a second contradictory one
    assert "Signed in" not in err and "Saving your" not in err
    time.sleep(STALL + 0.5)  # the stalled exchange would have completed by now
    assert json.loads(old_credentials.read_text()) == OLD_RECORD


def test_timeout_during_the_exchange_exits_at_once_and_writes_nothing(
    home: Path, fake_issuer: FakeIssuer, old_credentials: Path
) -> None:
    fake_issuer.script = [Behaviour("stall", seconds=STALL)]
    args = ("--issuer", fake_issuer.issuer, "--port", "0", "--no-browser", "--timeout", "1.5")
    started = time.monotonic()
    with cli(home, *args) as run:
        _callback_in_background(run.port, run.state)
        _wait_for_exchange(fake_issuer)
        code, _, err = run.finish(timeout=STALL + 10)
        took = time.monotonic() - started
    assert code == 1
    assert took < 3.0, f"a 1.5 s timeout ended the process after {took:.1f} s"
    assert err.count("Details:") == 1, err
    assert "Sign-in timed out after 1.5 seconds" in err
    assert "Details: login_timed_out - " in err
    time.sleep(STALL)
    assert json.loads(old_credentials.read_text()) == OLD_RECORD


def test_library_cancel_during_the_exchange_saves_nothing(
    home: Path, fake_issuer: FakeIssuer, old_credentials: Path
) -> None:
    fake_issuer.script = [Behaviour("stall", seconds=STALL)]
    run = start_run(home, fake_issuer.issuer)
    _callback_in_background(run.port, run.state)
    _wait_for_exchange(fake_issuer)
    run.server.cancel()
    error = run.finish_error(timeout=2)
    assert error.kind is ErrorKind.OTHER
    time.sleep(STALL + 0.5)
    assert json.loads(old_credentials.read_text()) == OLD_RECORD
    # Nothing after the end reached the sink: the last event is the cancellation.
    assert run.events[-1] is error.failure


def test_a_cancel_after_the_credentials_were_saved_leaves_a_success(
    home: Path, fake_issuer: FakeIssuer
) -> None:
    run = start_run(home, fake_issuer.issuer)
    answer = run.callback()
    assert answer.status == 302  # saved: the browser is on its way to /success
    # A newer login takes the port over before the browser loaded /success.
    exchange(
        run.port,
        f"GET /cancel HTTP/1.1\r\nHost: 127.0.0.1:{run.port}\r\nConnection: close\r\n\r\n".encode(),
    )
    run.finish_ok(timeout=5)
    assert (home / "auth.json").exists()
