"""loginkit.auth without a resource server: the lazy imports, the missing-extra error, and what
is never sent. (The adapters against the real provider: tests/e2e/test_http_auth.py.)"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
from syrupy.assertion import SnapshotAssertion

import loginkit.auth
from loginkit import login_with_api_key
from loginkit.core._exceptions import CredentialStoreError

from .snapshot_ext import TextSnapshot

KEY = "sk-proj-1234567890ABCDE"


def python(code: str) -> subprocess.CompletedProcess[str]:
    """``python -c CODE`` in a fresh interpreter (what is imported there is what a program gets)."""
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )


LOADED = "print(sorted({m.split('.')[0] for m in sys.modules} & {'httpx', 'httpx2', 'requests'}))"


def test_importing_the_module_loads_no_http_client() -> None:
    done = python(f"import sys, loginkit.auth; {LOADED}")
    assert (done.returncode, done.stdout, done.stderr) == (0, "[]\n", "")


def test_each_class_loads_only_its_own_client() -> None:
    done = python(
        "import sys, loginkit.auth as a\n"
        "import requests.auth\n"
        "print(sorted(m for m in ('httpx', 'requests') if m in sys.modules))\n"
        "print(issubclass(a.RequestsAuth, requests.auth.AuthBase))\n"
        "print('httpx' in sys.modules)\n"
        "from loginkit.auth import HttpxAuth\n"
        "import httpx\n"
        "print(issubclass(HttpxAuth, httpx.Auth), HttpxAuth is a.HttpxAuth, HttpxAuth.__module__)\n"
    )
    assert done.returncode == 0, done.stderr
    # requests imported by the program itself above; httpx only once HttpxAuth is asked for.
    assert done.stdout.splitlines() == [
        "['requests']",
        "True",
        "False",
        "True True loginkit.auth",
    ]


def test_the_classes_are_what_each_client_expects() -> None:
    import httpx2

    assert issubclass(loginkit.auth.HttpxAuth, httpx.Auth)
    assert issubclass(loginkit.auth.Httpx2Auth, httpx2.Auth)
    assert issubclass(loginkit.auth.RequestsAuth, requests.auth.AuthBase)
    assert loginkit.auth.HttpxAuth.__name__ == "HttpxAuth"
    assert "min_validity" in (loginkit.auth.HttpxAuth.__doc__ or "")
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        _ = loginkit.auth.Nope


def test_a_missing_client_names_the_extra_to_install(snapshot: SnapshotAssertion) -> None:
    lines = []
    for name, package in (("HttpxAuth", "httpx"), ("RequestsAuth", "requests")):
        done = python(
            f"import sys; sys.modules[{package!r}] = None\n"
            "try:\n"
            f"    from loginkit.auth import {name}\n"
            "except ImportError as exc:\n"
            "    print(type(exc).__name__, exc.name, exc, sep=' | ')\n"
        )
        assert done.returncode == 0, done.stderr
        lines.append(f"$ from loginkit.auth import {name}  # without {package}\n{done.stdout}")
    assert "\n".join(lines) == snapshot(extension_class=TextSnapshot, name="missing_extra")


@pytest.fixture
def always_401() -> Iterator[tuple[str, list[str]]]:
    """A server that answers 401 to everything; its URL and the Authorization headers seen."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.headers.get("Authorization", ""))
            self.send_response(401)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_an_api_key_is_sent_and_a_401_is_not_retried_with_the_same_key(
    home: Path, always_401: tuple[str, list[str]]
) -> None:
    url, seen = always_401
    login_with_api_key(KEY, home, "file")
    with httpx.Client(auth=loginkit.auth.HttpxAuth(codex_home=home)) as client:
        response = client.get(url)
    with requests.Session() as session:
        session.auth = loginkit.auth.RequestsAuth(codex_home=home, store="file")
        answer = session.get(url, timeout=10)
    assert (response.status_code, response.history) == (401, [])
    assert (answer.status_code, answer.history) == (401, [])
    assert seen == [f"Bearer {KEY}"] * 2, "nothing new to try: no second request"


def test_a_malformed_stored_token_is_never_sent(
    home: Path, always_401: tuple[str, list[str]], snapshot: SnapshotAssertion
) -> None:
    url, seen = always_401
    secret = "sk-proj-abc\r\nX-Injected: 1"
    (home / "auth.json").write_text(json.dumps({"auth_mode": "apikey", "OPENAI_API_KEY": secret}))
    with (
        httpx.Client(auth=loginkit.auth.HttpxAuth(codex_home=home)) as client,
        pytest.raises(CredentialStoreError) as caught,
    ):
        client.get(url)
    with pytest.raises(CredentialStoreError) as again:
        requests.get(url, auth=loginkit.auth.RequestsAuth(codex_home=home), timeout=10)
    assert seen == []
    assert str(caught.value) == str(again.value)
    assert "sk-proj" not in str(caught.value) and "Injected" not in str(caught.value)
    assert str(caught.value) == snapshot(extension_class=TextSnapshot, name="malformed_token")
