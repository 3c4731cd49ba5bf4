"""A browser on another machine: the person pastes the address it ended on into the terminal.

The CLI runs with its stdin on a real pseudo-terminal (as in a person's shell); what is pasted is
written to the terminal's master side.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support.cli_runner import run_loginkit
from support.discovery import DOC, discovery_server
from support.loopback import http_get
from support.tty_cli import tty_login
from syrupy.assertion import SnapshotAssertion

from loginkit.loopback._paste import pasted_callback_target

from .fake_issuer import FakeIssuer
from .helpers import normalise
from .snapshot_ext import TextSnapshot

QUICK = ["--port", "0", "--no-browser", "--timeout", "1"]


def test_pasting_the_address_the_browser_ended_on_signs_in(
    home: Path, fake_issuer: FakeIssuer, snapshot: SnapshotAssertion
) -> None:
    with tty_login(home, fake_issuer.issuer) as cli:
        cli.paste("I approved it, what now?")
        cli.head += cli.read_until("press Ctrl-C to stop.")
        # The browser ran where nothing listens on the port: the address is all there is.
        cli.paste(f"  http://localhost:{cli.port}/auth/callback?code=c0de&state={cli.state}  ")
        cli.proc.wait(timeout=30)
        err = cli.head + cli.rest()
    assert cli.proc.returncode == 0, err
    assert normalise(err, cli.port) == snapshot(extension_class=TextSnapshot, name="cli_pasted")
    assert fake_issuer.requests[0]["code"] == "c0de"
    assert (home / "auth.json").exists()


def test_a_pasted_address_from_another_attempt_is_refused_and_the_run_goes_on(
    home: Path, fake_issuer: FakeIssuer
) -> None:
    with tty_login(home, fake_issuer.issuer) as cli:
        cli.paste(f"http://localhost:{cli.port}/auth/callback?code=old&state=stale-state")
        shown = cli.read_until("Details: callback_state_mismatch")
        assert "Couldn't verify this sign-in attempt" in shown
        assert cli.proc.poll() is None, "still waiting for the right callback"
        cli.paste(f"http://localhost:{cli.port}/auth/callback?code=new&state={cli.state}")
        cli.proc.wait(timeout=30)
    assert cli.proc.returncode == 0
    assert [r["code"] for r in fake_issuer.requests if "code" in r] == ["new"]


def test_a_pasted_address_with_spaces_or_non_ascii_is_sent_encoded(
    home: Path, fake_issuer: FakeIssuer
) -> None:
    with tty_login(home, fake_issuer.issuer) as cli:
        cli.paste(f"http://localhost:{cli.port}/auth/callback?code=a b-café&state={cli.state}")
        cli.proc.wait(timeout=30)
        err = cli.head + cli.rest()
    assert cli.proc.returncode == 0, err
    assert "Traceback" not in err
    assert fake_issuer.requests[0]["code"] == "a b-café"


def test_a_pasted_address_reaches_a_server_bound_to_another_address(
    home: Path, fake_issuer: FakeIssuer
) -> None:
    with tty_login(home, fake_issuer.issuer, "--bind", "127.0.0.2") as cli:
        cli.paste(f"http://localhost:{cli.port}/auth/callback?code=c&state={cli.state}")
        cli.proc.wait(timeout=30)
        err = cli.head + cli.rest()
    assert cli.proc.returncode == 0, err


def test_a_background_job_neither_reads_the_terminal_nor_stops(
    home: Path, fake_issuer: FakeIssuer
) -> None:
    """`loginkit login &`: reading the terminal from the background would stop the process
    (SIGTTIN) and with it the callback server; a job that is not the terminal's foreground one
    never reads it and says nothing about pasting."""
    with tty_login(
        home, fake_issuer.issuer, foreground=False, until="On a remote or headless machine?"
    ) as cli:
        assert http_get(cli.port, f"/auth/callback?code=c&state={cli.state}").status == 302
        http_get(cli.port, "/success")
        cli.proc.wait(timeout=30)
        err = cli.head + cli.rest()
    assert cli.proc.returncode == 0, err
    assert "paste" not in err


def test_no_hint_and_no_reading_when_stdin_is_not_a_terminal(
    home: Path, fake_issuer: FakeIssuer
) -> None:
    done = run_loginkit(
        "login",
        "--codex-home",
        str(home),
        "--issuer",
        fake_issuer.issuer,
        *QUICK,
        stdin="http://localhost:1/auth/callback?code=x&state=y\n",
        timeout=30,
    )
    assert "paste" not in done.stderr
    assert not fake_issuer.requests
    assert done.returncode == 1


@pytest.mark.parametrize(
    ("text", "target"),
    [
        ("http://localhost:1455/auth/callback?code=a&state=b", "/auth/callback?code=a&state=b"),
        (
            "http://127.0.0.1:9/auth/callback?error=access_denied",
            "/auth/callback?error=access_denied",
        ),
        ("  https://x.example/auth/callback?code=a  \n", "/auth/callback?code=a"),
        ("http://localhost:1455/auth/callback", None),
        ("http://localhost:1455/success?x=1", None),
        ("code=a&state=b", None),
        ("", None),
    ],
)
def test_what_counts_as_a_pasted_callback(text: str, target: str | None) -> None:
    assert pasted_callback_target(text) == target


def test_a_generic_sign_in_says_what_usually_went_wrong_when_nothing_comes_back(
    home: Path, snapshot: SnapshotAssertion
) -> None:
    """Waiting is not cancelling: on a terminal, a generic sign-in whose browser never comes
    back (the provider refused the client id or the redirect URI on its own page) gets one line
    naming both, exactly, after two minutes or half the --timeout; then the timeout block."""
    with (
        discovery_server(200, DOC) as issuer,
        tty_login(home, issuer, "--client-id", "my-cli", "--timeout", "2") as cli,
    ):
        text = cli.read_until("Sign-in timed out", timeout=10)
        rest = text + cli.read_until("Details:", timeout=5)
        cli.proc.wait(10)
    redirect = f"http://127.0.0.1:{cli.port}/auth/callback"
    line = (
        "Still waiting for the browser. If the sign-in page showed an error, check that"
        f" --client-id my-cli is right and that the provider has this redirect URI registered"
        f" exactly: {redirect}"
    )
    assert rest.count(line) == 1
    assert rest.index(line) < rest.index("Sign-in timed out")
    assert line.replace(redirect, "<REDIRECT>") == snapshot(
        extension_class=TextSnapshot, name="no_callback_hint"
    )
