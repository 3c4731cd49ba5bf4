"""Issue "Hostile input, round two", item 8: ``/cancel`` is refused to pages of browsers without
Fetch Metadata, judged by ``Origin`` and ``Referer``. Real server, real sockets."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.loopback import Raw, Run, exchange, start_run

from .harness import Issuer


def raw_get(run: Run, target: str, headers: str) -> Raw:
    return exchange(run.port, f"GET {target} HTTP/1.1\r\n{headers}\r\n".encode())


FOREIGN = (
    "Origin: https://evil.example",
    "Origin: null",
    "Origin: http://127.0.0.1:1",
    "Origin: https://127.0.0.1:{port}",
    "Referer: https://evil.example/page.html",
    "Referer: http://localhost:{port}.evil.example/",
    "Referer: not a url",
    "Origin: http://localhost:{port}\r\nReferer: https://evil.example/",
)


def test_cancel_with_a_foreign_origin_or_referer_is_refused(home: Path, issuer: Issuer) -> None:
    run = start_run(home, issuer.url)
    host = f"Host: 127.0.0.1:{run.port}\r\n"
    for header in FOREIGN:
        answer = raw_get(run, "/cancel", host + header.format(port=run.port) + "\r\n")
        assert answer.status == 403, header
    with pytest.raises(TimeoutError):
        run.server.block_until_done(timeout=0.2)  # the sign-in is still waiting
    # This server's own pages may name it; the Codex CLI's takeover sends neither header.
    own = f"Origin: http://localhost:{run.port}\r\nReferer: http://127.0.0.1:{run.port}/x\r\n"
    assert raw_get(run, "/cancel", host + own).status == 200
    assert str(run.finish_error()) == "Login cancelled"
