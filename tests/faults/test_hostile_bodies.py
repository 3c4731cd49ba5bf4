"""Issue "Hostile input, round two", item 5: a token endpoint cannot make loginkit read without
bound. A hostile server on a real socket answers the exchange of a real library sign-in (the
loopback server, the browser's callback, the exchange) with a huge body or a dripping one."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from support.loopback import start_run

from loginkit import Timeouts
from loginkit.core._categories import LoginFailureCategory
from loginkit.core._limits import MAX_RESPONSE_BODY

Answer = Callable[[socket.socket], None]


@contextmanager
def hostile_endpoint(answer: Answer) -> Iterator[tuple[str, list[int]]]:
    """A server on 127.0.0.1 that reads one request and calls ``answer`` with the socket;
    yields its URL and the list of bytes each answer managed to send."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    sent: list[int] = []
    stop = threading.Event()

    def serve(conn: socket.socket) -> None:
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            while len(body) < length:  # read all of it: unread bytes at close would be a reset
                chunk = conn.recv(65536)
                if not chunk:
                    return
                body += chunk
            try:
                answer(conn)
            except OSError:
                pass

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}", sent
    finally:
        stop.set()
        thread.join()
        listener.close()


def huge(status: str, sent: list[int]) -> Answer:
    def answer(conn: socket.socket) -> None:
        total = 300 * 1024 * 1024
        conn.sendall(f"HTTP/1.1 {status}\r\nContent-Length: {total}\r\n\r\n".encode())
        block = b"x" * 65536
        count = 0
        try:
            while count < total:
                conn.sendall(block)
                count += len(block)
        finally:
            sent.append(count)

    return answer


def test_a_huge_token_response_is_malformed_and_reading_stops_at_the_cap(home: Path) -> None:
    for status in ("200 OK", "400 Bad Request"):
        sent: list[int] = []
        with hostile_endpoint(huge(status, sent)) as (url, _):
            run = start_run(home, url)
            started = time.monotonic()
            run.callback()
            error = run.finish_error()
            took = time.monotonic() - started
        failure = error.failure
        assert failure is not None
        assert failure.category is LoginFailureCategory.TOKEN_RESPONSE_MALFORMED, status
        assert "larger than 1024 KiB" in failure.message
        assert len(str(error)) < 1000
        assert took < 10
        # loginkit stopped reading at the cap: what the server got out is the cap plus the
        # sockets' buffers, nowhere near the 300 MB it tried to send.
        assert sent and sent[0] < MAX_RESPONSE_BODY + 16 * 1024 * 1024, sent
        assert not (home / "auth.json").exists()


def test_a_long_error_body_is_shown_cut_short(home: Path) -> None:
    body = ("denied " * 100_000).encode()  # 700 KB: under the cap, far too long to show

    def answer(conn: socket.socket) -> None:
        head = f"HTTP/1.1 403 Forbidden\r\nContent-Length: {len(body)}\r\n\r\n"
        conn.sendall(head.encode() + body)

    with hostile_endpoint(answer) as (url, _):
        run = start_run(home, url)
        run.callback()
        error = run.finish_error()
    failure = error.failure
    assert failure is not None
    assert failure.category is LoginFailureCategory.TOKEN_ENDPOINT_REJECTED
    assert failure.message.endswith(" more characters]")
    assert failure.message.split("... [")[0].endswith(" denied"), "no word cut in two"
    assert len(failure.message) < 1500


def test_a_dripping_body_is_cut_off_by_the_whole_request_deadline(home: Path) -> None:
    def answer(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
        for _ in range(1000):  # one byte every 100 ms: each read is quick, the whole is not
            conn.sendall(b" ")
            time.sleep(0.1)

    with hostile_endpoint(answer) as (url, _):
        timeouts = Timeouts(connect=1, read=1, write=1, pool=1, total=2)
        run = start_run(home, url, timeouts=timeouts)
        started = time.monotonic()
        run.callback()
        error = run.finish_error(timeout=30)
        took = time.monotonic() - started
    failure = error.failure
    assert failure is not None
    assert failure.category is LoginFailureCategory.TOKEN_EXCHANGE_TIMEOUT
    assert 1.5 < took < 6, took
