"""Hostile clients for the loopback server: idle sockets and a stream of junk requests.

Used by the flood tests and by ``bench/hostile_load.py``. Everything is asyncio on one loop so a
test can run it on a helper thread (or the bench in its own process) while a real browser signs
in. Traffic goes to 127.0.0.1 only. ``/cancel`` and ``/success`` are never sent: a flood that hits
``/cancel`` ends the run by design (that is how a newer login takes the port over).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

CONNECT_TIMEOUT = 5.0
ANSWER_TIMEOUT = 15.0
_PATH_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789-._~%/"


@dataclass
class FloodStats:
    """What the flood did; ``junk_done`` counts junk requests whose connection is finished."""

    junk_done: int = 0
    idle_open: int = 0
    idle_reopened: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    first_junk_at: float | None = None
    last_junk_at: float | None = None

    def summary(self) -> str:
        top = ", ".join(f"{k}={v}" for k, v in sorted(self.outcomes.items()))
        return (
            f"junk={self.junk_done} idle_open={self.idle_open}"
            f" idle_reopened={self.idle_reopened} [{top}]"
        )


def _random_path(rng: random.Random) -> str:
    while True:
        path = "/" + "".join(rng.choice(_PATH_CHARS) for _ in range(rng.randint(0, 40)))
        if not path.startswith(("/cancel", "/success")):
            return path


def junk_payload(rng: random.Random, port: int) -> tuple[str, bytes, bool]:
    """One junk request: (kind, bytes to send, whether to hold the connection open afterwards)."""
    host = f"127.0.0.1:{port}"
    kind = rng.choice(
        [
            "random_path",
            "random_path",
            "garbage",
            "half_sent",
            "half_sent",
            "bad_host",
            "wrong_state",
            "huge_header",
            "huge_url",
            "post_body",
            "pipelined",
            "tls_hello",
            "http2_preface",
            "bad_method",
            "http10_no_host",
            "connect_close",
        ]
    )
    if kind == "random_path":
        data = f"GET {_random_path(rng)} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
    elif kind == "garbage":
        data = rng.randbytes(rng.randint(1, 3000))
    elif kind == "half_sent":
        full = (
            f"GET /auth/callback?code=x&state=y HTTP/1.1\r\nHost: {host}\r\nUser-Agent: z\r\n\r\n"
        )
        data = full[: rng.randint(1, len(full) - 3)].encode()
    elif kind == "bad_host":
        data = f"GET /auth/callback?code=c&state=s HTTP/1.1\r\nHost: rebind.example:{port}\r\n\r\n".encode()
    elif kind == "wrong_state":
        data = f"GET /auth/callback?code=c&state={rng.getrandbits(64):x} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
    elif kind == "huge_header":
        data = f"GET / HTTP/1.1\r\nHost: {host}\r\nCookie: {'a' * 40000}\r\n\r\n".encode()
    elif kind == "huge_url":
        data = f"GET /auth/callback?x={'b' * 30000} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
    elif kind == "post_body":
        body = b"x" * rng.choice([10, 70000])
        data = (
            f"POST /auth/callback HTTP/1.1\r\nHost: {host}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
    elif kind == "pipelined":
        one = f"GET {_random_path(rng)} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
        data = one * rng.randint(2, 20)
    elif kind == "tls_hello":
        data = bytes.fromhex("160301020001") + rng.randbytes(500)
    elif kind == "http2_preface":
        data = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + rng.randbytes(30)
    elif kind == "bad_method":
        data = f"FOO\x01 / HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
    elif kind == "http10_no_host":
        data = b"GET /auth/callback?code=c&state=s HTTP/1.0\r\n\r\n"
    else:  # connect_close
        data = b""
    return kind, data, kind == "half_sent"


class Flood:
    """``idle`` idle connections kept open (reopened when the server drops them) plus ``junk``
    junk requests from ``workers`` concurrent clients. Half-sent requests are left open."""

    def __init__(
        self,
        port: int,
        *,
        idle: int = 200,
        junk: int = 1000,
        workers: int = 24,
        seed: int = 4,
        host: str = "127.0.0.1",
        reconnect_delay: float = 0.05,
    ) -> None:
        self.reconnect_delay = reconnect_delay
        self.port = port
        self.idle = idle
        self.junk = junk
        self.workers = workers
        self.host = host
        self.rng = random.Random(seed)
        self.stats = FloodStats()
        self._stop = asyncio.Event()
        self._lingering: list[asyncio.StreamWriter] = []
        self.idle_ready = threading.Event()
        self.junk_finished = threading.Event()

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.wait_for(
            asyncio.open_connection(self.host, self.port), CONNECT_TIMEOUT
        )

    async def _idle_holder(self, ready: Callable[[], None]) -> None:
        first = True
        while not self._stop.is_set():
            try:
                reader, writer = await self._open()
            except OSError as exc:
                self.stats.outcomes[f"idle_connect_error:{exc.errno}"] += 1
                await asyncio.sleep(0.05)
                continue
            except TimeoutError:
                self.stats.outcomes["idle_connect_timeout"] += 1
                continue
            self.stats.idle_open += 1
            if first:
                first = False
                ready()
            else:
                self.stats.idle_reopened += 1
            try:
                stop = asyncio.ensure_future(self._stop.wait())
                eof = asyncio.ensure_future(reader.read(1))
                await asyncio.wait({stop, eof}, return_when=asyncio.FIRST_COMPLETED)
                stop.cancel()
                eof.cancel()
            finally:
                self.stats.idle_open -= 1
                writer.close()
            await asyncio.sleep(self.reconnect_delay)  # back soon, but not a connect storm

    async def _one_junk(self) -> None:
        kind, data, hold = junk_payload(self.rng, self.port)
        try:
            reader, writer = await self._open()
        except OSError as exc:
            self.stats.outcomes[f"junk_connect_error:{exc.errno}"] += 1
            return
        except TimeoutError:
            self.stats.outcomes["junk_connect_timeout"] += 1
            return
        try:
            if data:
                writer.write(data)
                await writer.drain()
            if hold:
                self._lingering.append(writer)
                self.stats.outcomes[f"{kind}:held"] += 1
                return
            if kind == "connect_close":
                self.stats.outcomes[f"{kind}:closed"] += 1
                return
            with contextlib.suppress(OSError):
                writer.write_eof()
            answer = await asyncio.wait_for(reader.read(64), ANSWER_TIMEOUT)
            status = answer[9:12].decode("latin-1") if answer.startswith(b"HTTP/1.1 ") else None
            self.stats.outcomes[f"{kind}:{status or 'no-answer'}"] += 1
        except TimeoutError:
            self.stats.outcomes[f"{kind}:timeout"] += 1
        except OSError:
            self.stats.outcomes[f"{kind}:reset"] += 1
        finally:
            if not hold:
                writer.close()

    async def _junk_worker(self, budget: list[int]) -> None:
        while budget[0] > 0 and not self._stop.is_set():
            budget[0] -= 1
            now = time.monotonic()
            if self.stats.first_junk_at is None:
                self.stats.first_junk_at = now
            await self._one_junk()
            self.stats.junk_done += 1
            self.stats.last_junk_at = time.monotonic()

    async def run(self) -> None:
        """Until :meth:`stop`: idle holders, and junk until ``junk`` are done (or forever)."""
        ready_count = [0]

        def ready() -> None:
            ready_count[0] += 1
            if ready_count[0] == self.idle:
                self.idle_ready.set()

        if self.idle == 0:
            self.idle_ready.set()
        holders = [asyncio.ensure_future(self._idle_holder(ready)) for _ in range(self.idle)]
        budget = [self.junk]
        workers = [asyncio.ensure_future(self._junk_worker(budget)) for _ in range(self.workers)]
        junk: asyncio.Future[Any] = asyncio.gather(*workers)
        stop: asyncio.Future[Any] = asyncio.ensure_future(self._stop.wait())
        await asyncio.wait([junk, stop], return_when=asyncio.FIRST_COMPLETED)
        if junk.done():
            self.junk_finished.set()
            await stop
        for task in [*holders, *workers, stop]:
            task.cancel()
        await asyncio.gather(*holders, *workers, return_exceptions=True)
        with contextlib.suppress(asyncio.CancelledError):
            await junk
        for writer in self._lingering:
            writer.close()

    def stop(self) -> None:
        self._stop.set()


@contextmanager
def flooding(port: int, **options: Any) -> Iterator[Flood]:
    """Run a :class:`Flood` on a helper thread for the duration of the block."""
    flood: Flood | None = None
    loop = asyncio.new_event_loop()
    created = threading.Event()
    finished: list[BaseException | None] = []

    def main() -> None:
        nonlocal flood
        asyncio.set_event_loop(loop)
        flood = Flood(port, **options)
        created.set()
        try:
            loop.run_until_complete(flood.run())
            finished.append(None)
        except BaseException as exc:  # reported to the test
            finished.append(exc)

    thread = threading.Thread(target=main, name="flood", daemon=True)
    thread.start()
    created.wait(5)
    assert flood is not None
    try:
        yield flood
    finally:
        loop.call_soon_threadsafe(flood.stop)
        thread.join(30)
        loop.close()
    if finished and finished[0] is not None:
        raise finished[0]
