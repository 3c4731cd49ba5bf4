"""``loginkit doctor`` through the real CLI: one line per check, the fix, the exit code.

Every run has a known environment: no proxy, no CA bundle, no keyring (unless a test gives it a
real Secret Service), ``$BROWSER`` set to ``true``, and an issuer on loopback (the fake issuer),
so the transcripts are the same on every machine. Machine-specific parts are normalised: the
temporary directories and the loopback ports.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from support.cli_runner import cli, loginkit_command, run_loginkit
from support.net import ipv6_loopback_available
from support.secret_service import SecretServiceMissing, check_secret_service_installed
from syrupy.assertion import SnapshotAssertion

from .fake_issuer import FakeIssuer
from .helpers import free_port
from .snapshot_ext import TextSnapshot

GENERIC = "doctor-client"
DISCOVERY = {
    "issuer": "{issuer}",
    "authorization_endpoint": "{issuer}/oauth/authorize",
    "token_endpoint": "{issuer}/oauth/token",
    "jwks_uri": "{issuer}/.well-known/jwks.json",
}
#: What the machine's environment must not bring in.
UNSET = (
    "CODEX_CA_CERTIFICATE",
    "SSL_CERT_FILE",
    "LOGINKIT_ALLOW_INSECURE_HTTP",
    "DBUS_SESSION_BUS_ADDRESS",
    *(
        v
        for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY")
        for v in (name, name.lower())
    ),
)
ENV = {"BROWSER": "true", "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}

pytestmark = pytest.mark.skipif(
    not ipv6_loopback_available(), reason="the transcripts are of a host with an IPv6 loopback"
)


def doctor(
    home: Path, *args: str, env: dict[str, str] | None = None, unset: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    return run_loginkit(
        "doctor",
        "--codex-home",
        str(home),
        *args,
        env={**ENV, **(env or {})},
        unset=(*UNSET, *unset),
        raw=True,
    )


def transcript(done: subprocess.CompletedProcess[str], home: Path, **ports: int) -> str:
    text = f"exit {done.returncode}\n--- stdout\n{done.stdout}--- stderr\n{done.stderr}"
    for path, name in ((home, "<HOME>"), (home.parent, "<TMP>")):
        text = text.replace(str(path), name)
    for name, port in ports.items():
        text = re.sub(rf"(?<![0-9]){port}(?![0-9])", f"<{name.upper()}>", text)
    return text


def line(done: subprocess.CompletedProcess[str], title: str) -> str:
    found = [x for x in done.stderr.splitlines() if x[8:].startswith(f"{title}: ")]
    assert len(found) == 1, done.stderr
    return found[0]


@pytest.fixture
def issuer(fake_issuer: FakeIssuer) -> FakeIssuer:
    fake_issuer.discovery = dict(DISCOVERY)
    return fake_issuer


def test_everything_fine_says_so_and_exits_0(
    home: Path, issuer: FakeIssuer, snapshot: SnapshotAssertion
) -> None:
    port = free_port()
    done = doctor(home, "--issuer", issuer.issuer, "--client-id", GENERIC, "--port", str(port))
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert issuer.get_paths == ["/.well-known/openid-configuration"]
    assert issuer.requests == [], "nothing is posted to the token endpoint"
    assert not list(home.iterdir()), "the doctor writes nothing into the home"
    assert transcript(done, home, port=port, issuer_port=issuer.port) == snapshot(
        extension_class=TextSnapshot, name="all_ok"
    )


def test_busy_port_held_by_another_program_is_a_problem(
    home: Path, issuer: FakeIssuer, snapshot: SnapshotAssertion
) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen(8)
        port = squatter.getsockname()[1]
        done = doctor(home, "--issuer", issuer.issuer, "--client-id", GENERIC, "--port", str(port))
    assert done.returncode == 1
    port_line = line(done, "Callback port")
    assert port_line.startswith("problem Callback port: 127.0.0.1:")
    assert "in use by another program" in port_line and "Fix: stop that program" in port_line
    assert transcript(done, home, port=port, issuer_port=issuer.port) == snapshot(
        extension_class=TextSnapshot, name="busy_port_other_program"
    )


def test_a_sign_in_holding_the_port_is_named_and_left_running(
    home: Path, issuer: FakeIssuer, snapshot: SnapshotAssertion
) -> None:
    signing_in = home.parent / "signing-in"
    args = ("--issuer", issuer.issuer, "--client-id", GENERIC, "--port", "0", "--no-browser")
    with cli(signing_in, *args) as ours:
        done = doctor(
            home, "--issuer", issuer.issuer, "--client-id", GENERIC, "--port", str(ours.port)
        )
        time.sleep(0.3)
        assert ours.proc.poll() is None, "the doctor must not end a sign-in in progress"
        ours.proc.terminate()
        _, _, err = ours.finish()
    assert "cancelled" not in err.lower()
    assert done.returncode == 0, "a sign-in can take the port over: a warning, not a problem"
    assert line(done, "Callback port").startswith(
        f"warning Callback port: 127.0.0.1:{ours.port} is held by a loginkit sign-in in progress"
    )
    assert transcript(done, home, port=ours.port, issuer_port=issuer.port) == snapshot(
        extension_class=TextSnapshot, name="busy_port_loginkit"
    )


def test_bad_ca_file_is_one_line_and_a_problem(
    home: Path, issuer: FakeIssuer, snapshot: SnapshotAssertion
) -> None:
    bundle = home.parent / "corporate-ca.pem"
    bundle.write_text("this is not a certificate\n")
    port = free_port()
    done = doctor(
        home,
        "--issuer",
        issuer.issuer,
        "--client-id",
        GENERIC,
        "--port",
        str(port),
        env={"CODEX_CA_CERTIFICATE": str(bundle)},
    )
    assert done.returncode == 1
    assert line(done, "CA bundle") == (
        f"problem CA bundle: Failed to load CA certificates from {bundle} selected by"
        " CODEX_CA_CERTIFICATE: no certificates found in PEM file. Fix: point it at a PEM file"
        " with one or more CERTIFICATE blocks, or unset it"
    )
    assert issuer.get_paths == [], "no request without the CA bundle the sign-in would use"
    assert transcript(done, home, port=port, issuer_port=issuer.port) == snapshot(
        extension_class=TextSnapshot, name="bad_ca_file"
    )


def _in_secret_service(home: Path, *args: str, unlocked: bool) -> subprocess.CompletedProcess[str]:
    """``loginkit doctor ARGS`` on a private D-Bus with a real Secret Service; the daemons write
    to the inherited streams, loginkit's own go to files."""
    try:
        check_secret_service_installed()
    except SecretServiceMissing as exc:
        pytest.skip(str(exc))
    out_file, err_file = home.parent / "doctor.stdout", home.parent / "doctor.stderr"
    start = (
        "printf pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1; "
        if unlocked
        else ""
    )
    script = start + 'exec "$@" >"$LOGINKIT_STDOUT" 2>"$LOGINKIT_STDERR"'
    done = run_loginkit(
        "doctor",
        "--codex-home",
        str(home),
        *args,
        program=["dbus-run-session", "--", "sh", "-c", script, "sh", *loginkit_command()],
        env={
            "BROWSER": "true",
            "HOME": str(home.parent),
            "LOGINKIT_STDOUT": str(out_file),
            "LOGINKIT_STDERR": str(err_file),
        },
        unset=(*UNSET, "PYTHON_KEYRING_BACKEND"),
        timeout=120,
    )
    return subprocess.CompletedProcess(
        done.args, done.returncode, out_file.read_text(), err_file.read_text()
    )


def test_locked_keyring_is_one_line_and_a_problem_for_the_keyring_store(
    home: Path, issuer: FakeIssuer, snapshot: SnapshotAssertion
) -> None:
    port = free_port()
    args = ("--issuer", issuer.issuer, "--client-id", GENERIC, "--port", str(port))
    done = _in_secret_service(home, *args, "--store", "keyring", unlocked=False)
    assert done.returncode == 1, done.stderr
    assert line(done, "Keyring") == (
        "problem Keyring: the keyring is locked; credentials cannot be saved there. Fix: unlock"
        " it (log in to the desktop session, or unlock the login keyring in its keyring"
        " manager), or use --store file"
    )
    auto = _in_secret_service(home, *args, "--store", "auto", unlocked=False)
    assert auto.returncode == 0, auto.stderr
    assert line(auto, "Keyring").startswith(
        "warning Keyring: the keyring is locked; the sign-in saves auth.json instead. Fix: "
    )
    unlocked = _in_secret_service(home, *args, "--store", "keyring", unlocked=True)
    assert unlocked.returncode == 0, unlocked.stderr
    assert line(unlocked, "Keyring") == (
        "ok      Keyring: usable (keyring.backends.SecretService.Keyring; store: keyring)"
    )
    text = "\n".join(
        transcript(d, home, port=port, issuer_port=issuer.port) for d in (done, auto, unlocked)
    )
    assert text == snapshot(extension_class=TextSnapshot, name="keyring_locked_and_unlocked")


def test_proxy_credentials_are_redacted_and_json_has_every_check(
    home: Path, issuer: FakeIssuer, snapshot: SnapshotAssertion
) -> None:
    port = free_port()
    proxy = {
        "HTTPS_PROXY": "http://alice:proxy-password-123@proxy.invalid:3128",
        "NO_PROXY": "127.0.0.1,localhost",
        "LOGINKIT_ALLOW_INSECURE_HTTP": "1",
    }
    done = doctor(
        home,
        "--issuer",
        issuer.issuer,
        "--client-id",
        GENERIC,
        "--port",
        str(port),
        "--json",
        env=proxy,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert "proxy-password-123" not in done.stdout and "alice" not in done.stdout
    (text,) = done.stdout.splitlines()
    report = json.loads(text)
    assert report["type"] == "doctor" and report["ok"] is True
    ids = [c["id"] for c in report["checks"]]
    assert ids == [
        "port",
        "ipv6",
        "browser",
        "home",
        "keyring",
        "ca_bundle",
        "proxy",
        "insecure_http",
        "issuer",
        "clock",
    ]
    by_id = {c["id"]: c for c in report["checks"]}
    assert by_id["proxy"]["message"] == (
        "HTTPS_PROXY=http://<redacted>@proxy.invalid:3128, NO_PROXY=127.0.0.1,localhost"
    )
    assert by_id["insecure_http"]["status"] == "warning"
    assert transcript(done, home, port=port, issuer_port=issuer.port) == snapshot(
        extension_class=TextSnapshot, name="json_proxy_redacted"
    )


class _SkewedClock(BaseHTTPRequestHandler):
    """A provider whose clock is an hour ahead; answers ``HEAD /oauth/token`` with 405."""

    protocol_version = "HTTP/1.1"
    heads: ClassVar[list[str]] = []

    def log_message(self, format: str, *args: object) -> None:
        pass

    def date_time_string(self, timestamp: float | None = None) -> str:
        return formatdate(time.time() + 3600, usegmt=True)

    def do_HEAD(self) -> None:
        self.heads.append(self.path)
        assert "Authorization" not in self.headers
        self.send_response(405)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def skewed() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SkewedClock)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_openai_profile_heads_the_token_endpoint_and_checks_the_clock(
    home: Path, skewed: str, snapshot: SnapshotAssertion
) -> None:
    port = free_port()
    _SkewedClock.heads.clear()
    done = doctor(home, "--issuer", skewed, "--port", str(port))
    assert _SkewedClock.heads == ["/oauth/token"]
    assert done.returncode == 1
    clock = line(done, "Clock")
    assert re.fullmatch(
        r"problem Clock: this computer's clock is 3[56]\d\d s behind 127\.0\.0\.1's; id_tokens"
        r" will not verify \(the tolerance is 300 s\)\. Fix: .*",
        clock,
    ), clock
    issuer_port = int(skewed.rsplit(":", 1)[1])
    text = re.sub(r"3[56]\d\d s behind", "<SKEW> s behind", transcript(done, home, port=port))
    text = text.replace(str(issuer_port), "<ISSUER_PORT>")
    assert text == snapshot(extension_class=TextSnapshot, name="openai_clock_skew")


def test_doctor_help(home: Path, snapshot: SnapshotAssertion) -> None:
    done = run_loginkit("doctor", "--help", env={"COLUMNS": "100"}, raw=True)
    assert done.returncode == 0
    assert transcript(done, home) == snapshot(extension_class=TextSnapshot, name="doctor_help")
