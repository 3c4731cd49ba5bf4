"""An issuer that only serves a discovery document of the test's choosing (for the tests of
reading it before the link, and of what the CLI says while it waits)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@contextmanager
def discovery_server(status: int, body: bytes) -> Iterator[str]:
    """An issuer whose discovery document is ``status`` + ``body`` (``{issuer}`` filled in)."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            data = body.replace(b"{issuer}", issuer.encode())
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    issuer = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield issuer
    finally:
        server.shutdown()
        server.server_close()


DOC = json.dumps(
    {
        "issuer": "{issuer}",
        "authorization_endpoint": "{issuer}/authorize",
        "token_endpoint": "{issuer}/token",
        "jwks_uri": "{issuer}/jwks",
    }
).encode()
