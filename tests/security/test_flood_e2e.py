"""Issue 4.2 end to end: a real browser signs in while the loopback server is flooded.

``loginkit login`` runs as a child process with a file-descriptor limit of 256, lower than the 200
idle connections plus the junk the flood keeps open; the flood keeps 200 idle connections open
(reopening each one the server drops) and sends 1000 junk requests (random paths, garbage bytes,
half-sent headers, oversized heads, bodies, pipelining, TLS and HTTP/2 prefaces) from 24 clients,
while headless Chromium goes through the real provider's login and consent and back to the callback.
"""

from __future__ import annotations

import json
import os
import resource
import threading
import time
from pathlib import Path

from playwright.sync_api import Browser
from support.browser import complete_login
from support.provider import Provider

from .harness import cli_command, limit, spawn_cli
from .hostile import flooding

FD_LIMIT = 256


def open_fds(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return 0


def test_real_browser_signs_in_through_idle_connections_and_junk(
    provider: Provider, browser: Browser, home: Path
) -> None:
    command = cli_command(home, "--issuer", provider.issuer, "--port", "0", "--no-browser")
    with spawn_cli(command, preexec=limit(resource.RLIMIT_NOFILE, FD_LIMIT)) as run:
        fd_samples: list[int] = []
        sampling = threading.Event()

        def sample() -> None:
            while not sampling.is_set():
                fd_samples.append(open_fds(run.proc.pid))
                time.sleep(0.02)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        # Junk goes on until the login is over; the login starts 900 junk requests in, and more
        # than 100 more arrive while the browser signs in, so over 1000 junk requests have been
        # sent while 200 idle connections press (starting at 600 left the total short of 1000 on
        # a loaded machine, where the flood is slower).
        with flooding(run.port, idle=200, junk=100_000, workers=24) as flood:
            assert flood.idle_ready.wait(30), flood.stats.summary()
            deadline = time.monotonic() + 60
            while flood.stats.junk_done < 900 and time.monotonic() < deadline:
                time.sleep(0.02)
            login_started = time.monotonic()
            junk_before = flood.stats.junk_done
            result = complete_login(browser, run.url, timeout_s=60)
            login_took = time.monotonic() - login_started
            junk_total = flood.stats.junk_done
            summary = flood.stats.summary()
            outcomes = dict(flood.stats.outcomes)
            reopened = flood.stats.idle_reopened
        code, _, err = run.finish(timeout=30)
        sampling.set()
        sampler.join(5)

    assert code == 0, err + summary
    assert "Signed in to Codex" in result.text
    assert err.endswith("Signed in. You're good to go.\n")
    assert json.loads((home / "auth.json").read_text())["tokens"]["account_id"] == "org-alice"
    # The flood was on while the browser signed in, and the server kept answering it.
    assert junk_total >= 1000 and junk_total - junk_before > 100, summary
    assert reopened > 100, f"the cap dropped idle connections: {summary}"
    answered = sum(v for k, v in outcomes.items() if k.split(":")[-1].isdigit())
    assert answered > 300, summary
    assert outcomes.get("huge_header:431", 0) > 5, summary
    assert not [k for k in outcomes if k.endswith(":timeout")], summary
    # Within the file-descriptor limit, by a wide margin: the cap, not the limit, bounded it.
    assert max(fd_samples) < 160, (max(fd_samples), summary)
    assert "out of system resource" not in err and "Traceback" not in err
    log = (home / "log" / "codex-login.log").read_text()
    assert "loopback connection failed" not in log
    assert len(log.splitlines()) < 80, "junk does not grow the login log without bound"
    print(f"login under flood took {login_took:.2f} s; fds max {max(fd_samples)}; {summary}")
