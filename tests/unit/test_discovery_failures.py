"""Fail fast on a bad issuer (issue "any real OpenID provider", item 5): for a generic profile the
discovery document is read before the link is printed; a 404, a body that is not JSON, an issuer
nobody answers for and a document naming another issuer each end at once with the
``provider_discovery_failed`` block and exit 1, and no link that cannot work is ever shown."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest
from support.cli_runner import run_loginkit
from support.discovery import DOC, discovery_server
from syrupy.assertion import SnapshotAssertion

from .snapshot_ext import TextSnapshot

#: A document without the endpoint a browser sign-in sends the person to.
NO_AUTHORIZE = DOC.replace(b'"authorization_endpoint": "{issuer}/authorize", ', b"")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def sign_in(home: Path, issuer: str) -> tuple[int, str, float]:
    started = time.monotonic()
    done = run_loginkit(
        "login",
        "--issuer",
        issuer,
        "--client-id",
        "my-cli",
        "--port",
        "0",
        "--no-browser",
        home=home,
    )
    assert done.stdout == ""
    return done.returncode, done.stderr, time.monotonic() - started


@pytest.mark.parametrize(
    ("status", "body", "reason"),
    [
        (404, b"{}", "answered 404 Not Found"),
        (200, b"<html>a login page</html>", "is not a JSON discovery document"),
        (500, b"oops", "answered 500 Internal Server Error"),
        (200, DOC.replace(b'"{issuer}"', b'"https://elsewhere.example"'), "describes the issuer"),
        (200, NO_AUTHORIZE, "gives no usable authorization_endpoint"),
    ],
    ids=["404", "not-json", "500", "another-issuer", "no-authorization-endpoint"],
)
def test_a_bad_discovery_document_ends_before_any_link(
    home: Path, status: int, body: bytes, reason: str
) -> None:
    with discovery_server(status, body) as issuer:
        code, err, took = sign_in(home, issuer)
    assert code == 1
    assert took < 10
    assert "Couldn't find the sign-in service" in err
    assert "Details: provider_discovery_failed - " in err
    assert reason in err
    assert "use this link to sign in" not in err, "no link that cannot work"
    assert "/oauth/authorize" not in err, "no Codex path guessed"
    assert "Traceback" not in err


def test_an_issuer_nobody_answers_for_ends_at_once(home: Path) -> None:
    code, err, took = sign_in(home, f"http://127.0.0.1:{closed_port()}")
    assert code == 1
    assert took < 10
    assert "Details: provider_discovery_failed - could not read " in err
    assert "use this link to sign in" not in err


def test_the_discovery_failure_block(home: Path, snapshot: SnapshotAssertion) -> None:
    with discovery_server(404, b"{}") as issuer:
        code, err, _ = sign_in(home, issuer)
        text = err.replace(issuer, "http://127.0.0.1:<ISSUER_PORT>")
    assert code == 1
    assert text == snapshot(extension_class=TextSnapshot, name="discovery_404")


def test_the_missing_endpoint_block(home: Path, snapshot: SnapshotAssertion) -> None:
    assert b"authorization_endpoint" not in NO_AUTHORIZE
    with discovery_server(200, NO_AUTHORIZE) as issuer:
        code, err, _ = sign_in(home, issuer)
        text = err.replace(issuer, "http://127.0.0.1:<ISSUER_PORT>")
    assert code == 1
    assert text == snapshot(
        extension_class=TextSnapshot, name="discovery_no_authorization_endpoint"
    )


def test_a_good_document_still_shows_the_link(home: Path) -> None:
    with discovery_server(200, DOC) as issuer:
        done = run_loginkit(
            "login",
            "--issuer",
            issuer,
            "--client-id",
            "my-cli",
            "--port",
            "0",
            "--no-browser",
            "--timeout",
            "0.5",
            home=home,
        )
    assert done.returncode == 1  # nobody signs in: the timeout
    assert f"{issuer}/authorize?response_type=code&client_id=my-cli&" in done.stderr
    assert "redirect_uri=http%3A%2F%2F127.0.0.1%3A" in done.stderr
