"""``loginkit login --device-auth`` of a generic profile as a person sees it: the provider's own
expiry, the link with the code in it, and the QR code, which is drawn only when stderr is a
terminal (a real pseudo-terminal here), never in a pipe, in ``--json`` or with ``--no-qr``; and
``segno`` is imported by no other command (``python -X importtime``)."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import termios
import time
from pathlib import Path

from support.cli_runner import child_env, loginkit_command, run_loginkit
from syrupy.assertion import SnapshotAssertion

from .device_server import GENERIC_CLIENT, DeviceServer
from .snapshot_ext import TextSnapshot

#: Fixed URLs in the QR code: the scripted server's port would change the code on every run.
SHOWN = {
    "device_code": "dc-secret-device-code",
    "user_code": "WDJB-MJHT",
    "verification_uri": "https://id.example.test/device",
    "verification_uri_complete": "https://id.example.test/device?user_code=WDJB-MJHT",
    "expires_in": 1800,
    "interval": 1,
}
UNSET = ("FORCE_COLOR", "NO_COLOR", "COLUMNS", "TERM", "CODEX_REFRESH_TOKEN_URL_OVERRIDE")


def device_args(home: Path, server: DeviceServer, *extra: str) -> list[str]:
    return [
        "login",
        "--device-auth",
        "--issuer",
        server.issuer,
        "--client-id",
        GENERIC_CLIENT,
        "--codex-home",
        str(home),
        *extra,
    ]


def run_on_a_terminal(
    args: list[str], *, columns: int = 100, python_flags: tuple[str, ...] = ()
) -> tuple[int, str, str]:
    """``loginkit ARGS`` with stderr on a pseudo-terminal ``columns`` wide (stdout a pipe, stdin
    /dev/null): (exit code, stdout, what the terminal showed, CR LF turned into LF)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    proc = subprocess.Popen(
        loginkit_command(*args, python_flags=python_flags),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=slave,
        env=child_env({"TERM": "xterm", "LANG": "C.UTF-8"}, unset=UNSET),
    )
    os.close(slave)
    shown = b""
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            if select.select([master], [], [], 0.2)[0]:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: the child closed its end of the terminal
                    break
                if not chunk:
                    break
                shown += chunk
            elif proc.poll() is not None:
                break
        assert proc.stdout is not None
        out = proc.stdout.read().decode()
        code = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
        if proc.stdout is not None:
            proc.stdout.close()
    return code, out, shown.decode().replace("\r\n", "\n")


def scrub(text: str, home: Path) -> str:
    text = re.sub(r"http://127\.0\.0\.1:\d+", "http://127.0.0.1:<ISSUER_PORT>", text)
    return text.replace(str(home), "<HOME>")


def test_the_prompt_on_a_terminal_has_the_qr_code(
    home: Path, device_server: DeviceServer, snapshot: SnapshotAssertion
) -> None:
    device_server.device_authorization = (200, SHOWN)
    code, out, shown = run_on_a_terminal(device_args(home, device_server))
    assert code == 0, shown
    assert out == ""
    assert "Or scan this QR code with your phone:" in shown
    assert "▀" in shown and "█" in shown
    assert "dc-secret-device-code" not in shown
    assert scrub(shown, home) == snapshot(extension_class=TextSnapshot, name="device_prompt_qr")


def test_no_qr_turns_it_off_on_a_terminal(
    home: Path, device_server: DeviceServer, snapshot: SnapshotAssertion
) -> None:
    device_server.device_authorization = (200, SHOWN)
    code, _, shown = run_on_a_terminal(device_args(home, device_server, "--no-qr"))
    assert code == 0, shown
    assert "QR code" not in shown and "▀" not in shown
    assert scrub(shown, home) == snapshot(extension_class=TextSnapshot, name="device_prompt_no_qr")


def test_a_terminal_too_narrow_for_the_code_gets_none(
    home: Path, device_server: DeviceServer
) -> None:
    device_server.device_authorization = (200, SHOWN)
    code, _, shown = run_on_a_terminal(device_args(home, device_server), columns=30)
    assert code == 0, shown
    assert "QR code" not in shown and "▀" not in shown
    assert "https://id.example.test/device?user_code=WDJB-MJHT" in shown


def test_piped_the_prompt_has_no_qr_code(
    home: Path, device_server: DeviceServer, snapshot: SnapshotAssertion
) -> None:
    device_server.device_authorization = (200, SHOWN)
    done = run_loginkit(*device_args(home, device_server), unset=UNSET, raw=True)
    assert done.returncode == 0, done.stderr
    assert "QR code" not in done.stderr and "▀" not in done.stderr
    assert "(expires in 30 minutes)" in done.stderr
    text = f"exit {done.returncode}\n--- stdout\n{done.stdout}--- stderr\n{done.stderr}"
    assert scrub(text, home) == snapshot(extension_class=TextSnapshot, name="device_prompt_piped")


def test_json_on_a_terminal_has_no_qr_code(home: Path, device_server: DeviceServer) -> None:
    device_server.device_authorization = (200, SHOWN)
    code, out, shown = run_on_a_terminal(device_args(home, device_server, "--json"))
    assert code == 0, shown
    assert "▀" not in out + shown and "█" not in out + shown
    assert (
        '"verification_url_complete": "https://id.example.test/device?user_code=WDJB-MJHT"' in (out)
        or '"verification_url_complete":"https://id.example.test/device?user_code=WDJB-MJHT"' in out
    )


def imports(stderr: str) -> set[str]:
    """The module names of a ``python -X importtime`` report."""
    return {
        line.rsplit("|", 1)[-1].strip()
        for line in stderr.splitlines()
        if line.startswith("import time:")
    }


def test_segno_is_imported_only_when_the_qr_code_is_drawn(
    home: Path, device_server: DeviceServer, fake_issuer: object
) -> None:
    device_server.device_authorization = (200, SHOWN)
    flags = ("-X", "importtime")
    # Drawn: segno is loaded (so the checks below can see it when it is).
    code, _, shown = run_on_a_terminal(device_args(home, device_server), python_flags=flags)
    assert code == 0
    assert "segno" in imports(shown)
    # Every other path: never.
    token = run_loginkit("token", "--codex-home", str(home), python_flags=flags)
    assert token.returncode == 0, token.stderr
    status = run_loginkit("login", "status", "--codex-home", str(home), python_flags=flags)
    piped = run_loginkit(*device_args(home, device_server), python_flags=flags, unset=UNSET)
    assert piped.returncode == 0, piped.stderr
    browser = run_loginkit(
        "login",
        "--issuer",
        device_server.issuer,
        "--client-id",
        GENERIC_CLIENT,
        "--port",
        "0",
        "--no-browser",
        "--timeout",
        "0.5",
        "--codex-home",
        str(home),
        python_flags=flags,
    )
    assert "/authorize?" in browser.stderr
    on_tty_no_qr = run_on_a_terminal(
        device_args(home, device_server, "--no-qr"), python_flags=flags
    )
    for name, report in [
        ("token", token.stderr),
        ("login status", status.stderr),
        ("device, piped", piped.stderr),
        ("browser login", browser.stderr),
        ("device --no-qr on a terminal", on_tty_no_qr[2]),
    ]:
        assert not {m for m in imports(report) if m.split(".")[0] == "segno"}, name
