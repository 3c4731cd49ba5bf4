"""Issue 4.2 at the library level: read deadlines and the connection cap, on a real server.

Small limits (a 0.5 s deadline, a cap of 8) keep these fast; the flood with the default limits,
a lowered file-descriptor limit and a real browser is in ``test_flood_e2e.py``.
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

from support.loopback import Raw, exchange, start_run

from loginkit.core._limits import ServerLimits

from .harness import Issuer

DEADLINE = 0.5
CAP = 8


def connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    return sock


def closed_by_server(sock: socket.socket, within: float) -> float | None:
    """Seconds until the server closed ``sock`` (EOF or reset), or None if it stayed open."""
    started = time.monotonic()
    sock.settimeout(within)
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                return time.monotonic() - started
    except TimeoutError:
        return None
    except ConnectionResetError:
        return time.monotonic() - started


def test_idle_and_half_sent_connections_are_closed_at_the_read_deadline(
    home: Path, issuer: Issuer
) -> None:
    run = start_run(home, issuer.url, limits=ServerLimits(read_deadline=DEADLINE))
    idle = connect(run.port)
    half = connect(run.port)
    half.sendall(
        f"GET /auth/callback?code=c HTTP/1.1\r\nHost: 127.0.0.1:{run.port}\r\nUser-".encode()
    )
    keepalive = connect(run.port)  # a finished request, then silence on a keep-alive connection
    keepalive.sendall(f"GET /favicon.ico HTTP/1.1\r\nHost: 127.0.0.1:{run.port}\r\n\r\n".encode())
    for sock in (idle, half, keepalive):
        elapsed = closed_by_server(sock, within=DEADLINE + 3)
        assert elapsed is not None and elapsed < DEADLINE + 2
        sock.close()
    run.callback()
    assert run.get("/success").status == 200
    run.finish_ok()


def test_a_trickling_client_is_cut_off_by_the_whole_request_deadline(
    home: Path, issuer: Issuer
) -> None:
    """Slowloris: one byte every 50 ms resets no per-read timer; the deadline covers the request."""
    run = start_run(home, issuer.url, limits=ServerLimits(read_deadline=DEADLINE))
    sock = connect(run.port)
    head = f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{run.port}\r\n" + "X-Slow: yes\r\n" * 50
    started = time.monotonic()
    cut_off = None
    for byte in head.encode():
        try:
            sock.sendall(bytes([byte]))
        except OSError:
            cut_off = time.monotonic() - started
            break
        time.sleep(0.05)
        if time.monotonic() - started > DEADLINE + 3:
            break
    if cut_off is None:
        left = closed_by_server(sock, within=0.5)
        assert left is not None, "still open long after the deadline"
        cut_off = time.monotonic() - started
    sock.close()
    assert cut_off < DEADLINE + 2
    run.callback()
    assert run.get("/success").status == 200
    run.finish_ok()


def test_past_the_cap_the_oldest_idle_connections_are_dropped(home: Path, issuer: Issuer) -> None:
    run = start_run(home, issuer.url, limits=ServerLimits(max_connections=CAP))
    # Some idle, some with half-sent headers: neither kind is "being answered", both can go.
    held = []
    for i in range(40):
        sock = connect(run.port)
        if i % 2:
            sock.sendall(f"GET /x HTTP/1.1\r\nHost: 127.0.0.1:{run.port}\r\n".encode())
        held.append(sock)
        time.sleep(0.005)
    time.sleep(0.2)
    open_ones = [s for s in held if closed_by_server(s, within=0.05) is None]
    assert len(open_ones) <= CAP
    assert set(open_ones) <= set(held[-CAP:]), "the newest connections are the ones kept"
    answer = run.callback()
    assert answer.status == 302
    assert run.get("/success").status == 200
    run.finish_ok()
    for sock in held:
        sock.close()


def test_a_callback_being_answered_is_never_dropped_for_the_cap(home: Path, issuer: Issuer) -> None:
    run = start_run(home, issuer.url, limits=ServerLimits(max_connections=CAP))
    issuer.proxy.arm("delay", seconds=1.0, grant_type="authorization_code")
    answers: list[Raw] = []
    thread = threading.Thread(target=lambda: answers.append(run.callback()))
    thread.start()
    time.sleep(0.2)  # the exchange is under way
    flood = [connect(run.port) for _ in range(10 * CAP)]
    thread.join(10)
    assert answers and answers[0].status == 302, "answered although 80 newer connections came"
    for sock in flood:
        sock.close()
    assert run.get("/success").status == 200
    run.finish_ok()


def test_when_every_connection_is_being_answered_a_new_one_is_refused(
    home: Path, issuer: Issuer
) -> None:
    """Only a request carrying this run's state can keep a handler busy, so this is the browser
    with prefetches; the cap still holds (no file-descriptor exhaustion) and they are all served."""
    run = start_run(home, issuer.url, limits=ServerLimits(max_connections=2))
    issuer.proxy.arm("delay", seconds=1.0, grant_type="authorization_code")
    answers: list[Raw] = []
    threads = [threading.Thread(target=lambda: answers.append(run.callback())) for _ in range(2)]
    for thread in threads:
        thread.start()
    time.sleep(0.3)
    extra = exchange(run.port, b"GET /favicon.ico HTTP/1.1\r\n", timeout=2, until_close=True)
    assert extra.status is None and extra.closed, "refused at once, not queued"
    for thread in threads:
        thread.join(10)
    assert [a.status for a in answers] == [302, 302]
    assert run.get("/success").status == 200
    run.finish_ok()
