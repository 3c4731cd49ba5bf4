"""Issue "Hostile input, round two", item 9: the browser is launched with a one-shot loopback
address, so neither the state nor the PKCE challenge is in a process list (``ps`` shows every
user's argv). The real ``loginkit login``; ``$BROWSER`` is a script that records its argv."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from support.cli_runner import cli
from support.loopback import http_get

from .harness import Issuer

RECORDER = """
import json, sys
with open(sys.argv[1], "w") as handle:
    json.dump(sys.argv[2:], handle)
"""


def test_the_launched_browser_argv_holds_no_state_and_its_address_works_once(
    home: Path, issuer: Issuer, tmp_path: Path
) -> None:
    script, record = tmp_path / "browser.py", tmp_path / "argv.json"
    script.write_text(RECORDER)
    env = {"BROWSER": f"{sys.executable} {script} {record} %s"}
    with cli(home, "--issuer", issuer.url, "--port", "0", env=env) as run:
        deadline = time.monotonic() + 30
        while not record.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        argv = json.loads(record.read_text())
        query = parse_qs(urlsplit(run.url).query)
        for secret in (run.state, query["code_challenge"][0]):
            assert all(secret not in arg for arg in argv), argv
        [address] = argv
        parts = urlsplit(address)
        assert parts.hostname in ("localhost", "127.0.0.1") and parts.port == run.port
        assert parts.path.startswith("/start/") and not parts.query
        host = f"localhost:{run.port}"
        first = http_get(run.port, parts.path, host=host)
        assert first.status == 302
        assert first.headers["location"] == run.url  # the printed link, once
        again = http_get(run.port, parts.path, host=host)
        assert again.status == 404
        assert http_get(run.port, parts.path[:-1], host=host).status == 404
        # Following the address signs in: the provider sends the browser back with the state.
        callback = http_get(run.port, f"/auth/callback?code=c0de&state={run.state}", host=host)
        assert callback.status == 302
        assert http_get(run.port, "/success", host=host).status == 200
        code, _, err = run.finish(timeout=30)
    assert code == 0, err
    assert (home / "auth.json").exists()
