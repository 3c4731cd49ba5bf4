"""The interop tests install the real Codex CLI themselves and skip only without the registry.

Run against a copy of tests/codex with npm pointed at a port nobody listens on (unreachable:
skip) and at a registry that answers 404 to everything (reachable but broken: fail).
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from support.net import free_port

from .codex_cli import CODEX_DIR, ensure_codex


@pytest.fixture
def codex_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    target = tmp_path / "codex"
    target.mkdir()
    for name in ("package.json", "package-lock.json"):
        shutil.copy(CODEX_DIR / name, target / name)
    monkeypatch.setenv("npm_config_cache", str(tmp_path / "npm-cache"))  # nothing cached
    monkeypatch.setenv("npm_config_fetch_retries", "0")
    monkeypatch.delenv("npm_config_offline", raising=False)
    return target


class NotFound(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b'{"error":"Not found"}'
        self.send_response(404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def broken_registry() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), NotFound)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def test_an_unreachable_registry_skips_with_the_reason(
    codex_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("npm_config_registry", f"http://127.0.0.1:{free_port()}/")
    with pytest.raises(pytest.skip.Exception) as skipped:
        ensure_codex(codex_dir)
    reason = str(skipped.value)
    assert "the real Codex CLI (@openai/codex 0.169.0) is not installed" in reason
    assert "npm registry is unreachable" in reason
    assert "ECONNREFUSED" in reason
    assert "npm ci --prefix tests/codex" in reason


def test_a_registry_that_answers_but_fails_is_a_failure(
    codex_dir: Path, monkeypatch: pytest.MonkeyPatch, broken_registry: str
) -> None:
    monkeypatch.setenv("npm_config_registry", broken_registry)
    with pytest.raises(pytest.fail.Exception) as failed:
        ensure_codex(codex_dir)
    assert "npm ci --prefix tests/codex --no-audit --no-fund` failed" in str(failed.value)
    assert "404" in str(failed.value)
