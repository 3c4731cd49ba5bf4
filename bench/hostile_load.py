"""Callback latency of ``loginkit login``, quiet and under the flood of issue 4 point 2, same run.

Three processes on loopback: the real CLI waiting for its callback (against a scripted token
endpoint), a flood (200 idle connections kept open, reopened when dropped, plus junk requests from
24 clients without pause: random paths, garbage bytes, half-sent headers, oversized heads, bodies,
pipelining, TLS and HTTP/2 prefaces), and this process, which measures.

A sample is what a browser's callback navigation costs: a fresh connection, ``GET /auth/callback``
with a state that does not match (the route's full decision, without ending the run), until the
whole answer is read. Two sign-ins in one run: the first quiet, the second under the flood; each
takes ``samples`` samples, then gets its real callback (valid state: token exchange, ``auth.json``
written, 302) and ``/success``, and its CLI must exit 0.

Usage: ``uv run --frozen python bench/hostile_load.py [samples]`` (default 2000).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from security.harness import exchange  # noqa: E402
from security.hostile import Flood  # noqa: E402
from unit.fake_issuer import running_fake_issuer  # noqa: E402


def run_flood(port: int) -> int:
    """Child mode: flood ``port`` until stdin closes; print the flood's stats as JSON."""

    async def main() -> Flood:
        flood = Flood(port, idle=200, junk=10**9, workers=24)
        runner = asyncio.ensure_future(flood.run())
        while not flood.idle_ready.is_set() or flood.stats.junk_done < 200:
            await asyncio.sleep(0.05)
        print(json.dumps({"ready": True}), flush=True)
        started = time.monotonic()
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
        flood.stats.outcomes["_seconds"] = int((time.monotonic() - started) * 1000)
        flood.stop()
        await runner
        return flood

    flood = asyncio.run(main())
    stats = flood.stats
    print(
        json.dumps(
            {
                "junk": stats.junk_done,
                "idle_reopened": stats.idle_reopened,
                "ms": stats.outcomes.pop("_seconds"),
                "outcomes": dict(stats.outcomes),
            }
        ),
        flush=True,
    )
    return 0


def sample(port: int, host: str, state: str) -> float:
    request = f"GET /auth/callback?code=bench&state={state} HTTP/1.1\r\nHost: {host}\r\n\r\n"
    started = time.perf_counter()
    answer = exchange(port, request.encode(), timeout=30)
    elapsed = time.perf_counter() - started
    if answer.status != 400:
        raise RuntimeError(f"unexpected answer {answer.status}")
    return elapsed


def measure(port: int, samples: int) -> list[float]:
    return [sample(port, f"localhost:{port}", f"not-the-state-{i}") for i in range(samples)]


def percentiles(values: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[49] * 1000, cuts[98] * 1000


def start_cli(home: Path, issuer: str) -> tuple[subprocess.Popen[str], int, str]:
    cli = subprocess.Popen(
        [sys.executable, "-m", "loginkit", "login", "--codex-home", str(home), "--issuer",
         issuer, "--port", "0", "--no-browser", "--timeout", "0"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    assert cli.stderr is not None
    url = next(line.strip() for line in cli.stderr if line.startswith("http"))
    threading.Thread(target=cli.stderr.read, daemon=True).start()  # keep the pipe drained
    query = parse_qs(urlsplit(url).query)
    return cli, int(urlsplit(query["redirect_uri"][0]).port or 0), query["state"][0]


def sign_in(port: int, state: str) -> tuple[float, int | None, int | None]:
    """The real callback (exchange, auth.json, 302), then /success: (ms, statuses)."""
    started = time.perf_counter()
    request = (
        f"GET /auth/callback?code=real&state={state} HTTP/1.1\r\nHost: localhost:{port}\r\n\r\n"
    )
    real = exchange(port, request.encode())
    elapsed = (time.perf_counter() - started) * 1000
    done = exchange(port, f"GET /success HTTP/1.1\r\nHost: localhost:{port}\r\n\r\n".encode())
    return elapsed, real.status, done.status


def phase(issuer: str, home: Path, samples: int, *, flooded: bool) -> dict[str, object]:
    """One ``loginkit login`` run: samples, then the real sign-in, with or without the flood."""
    cli, port, state = start_cli(home, issuer)
    measure(port, 20)  # warm-up: the first five mismatches are reported, then only counted
    flood = None
    if flooded:
        flood = subprocess.Popen(
            [sys.executable, __file__, "--flood", str(port)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert flood.stdin is not None and flood.stdout is not None
        json.loads(flood.stdout.readline())  # ready: 200 idle connections, junk flowing
    times = measure(port, samples)
    real_ms, real, success = sign_in(port, state)
    stats: dict[str, object] = {}
    if flood is not None:
        assert flood.stdin is not None and flood.stdout is not None
        flood.stdin.close()
        stats = json.loads(flood.stdout.readline())
        flood.wait(30)
    code = cli.wait(30)
    ok = real == 302 and success == 200 and code == 0
    return {"times": times, "real_ms": real_ms, "ok": ok, "flood": stats}


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "--flood":
        return run_flood(int(sys.argv[2]))
    samples = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    with running_fake_issuer() as issuer, tempfile.TemporaryDirectory() as tmp:
        quiet = phase(issuer.issuer, Path(tmp, "quiet"), samples, flooded=False)
        loaded = phase(issuer.issuer, Path(tmp, "flood"), samples, flooded=True)

    q50, q99 = percentiles(quiet["times"])  # type: ignore[arg-type]
    f50, f99 = percentiles(loaded["times"])  # type: ignore[arg-type]
    stats: dict[str, Any] = loaded["flood"]  # type: ignore[assignment]
    seconds = stats["ms"] / 1000
    print(f"callback round trip, {samples} samples each, a fresh connection per sample (ms):")
    print(f"  quiet   p50 {q50:6.2f}   p99 {q99:6.2f}")
    print(f"  flood   p50 {f50:6.2f}   p99 {f99:6.2f}")
    print(f"  ratio   p50 {f50 / q50:6.2f}x  p99 {f99 / q99:6.2f}x")
    print(
        f"real sign-in callback (token exchange, auth.json, 302): quiet {quiet['real_ms']:.1f} ms,"
        f" flood {loaded['real_ms']:.1f} ms"
    )
    print(
        f"flood: {stats['junk']} junk requests in {seconds:.1f} s ({stats['junk'] / seconds:.0f}/s)"
        f" from 24 clients; 200 idle connections, dropped and reopened {stats['idle_reopened']} times"
    )
    print(
        f"machine: {os.cpu_count()} CPUs; the CLI, the flood and this client are separate processes"
    )
    ok = bool(quiet["ok"]) and bool(loaded["ok"])
    print("both sign-ins completed (302, /success 200, exit 0)" if ok else "A SIGN-IN FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.exit(main())
