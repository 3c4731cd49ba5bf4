"""``loginkit doctor`` names a real ``codex login`` holding port 1455, and leaves it running.

The doctor tells a Codex CLI sign-in by its answer to a path no login server serves (Codex's
tiny-http 404); it never sends ``/cancel`` or ``/success``, either of which ends Codex's sign-in.
"""

from __future__ import annotations

import time
from pathlib import Path

from support.cli_runner import run_loginkit
from syrupy.assertion import SnapshotAssertion
from unit.snapshot_ext import TextSnapshot

from .codex_cli import CODEX_PORT, codex_login, require_codex_port


def test_doctor_names_a_codex_sign_in_and_does_not_end_it(
    codex: Path, home: Path, snapshot: SnapshotAssertion
) -> None:
    require_codex_port()
    with codex_login(codex, home) as theirs:
        done = run_loginkit(
            "doctor",
            "--codex-home",
            str(home),
            "--port",
            str(CODEX_PORT),
            "--issuer",
            "http://127.0.0.1:9",
            env={"BROWSER": "true"},
        )
        time.sleep(0.5)
        assert theirs.proc.poll() is None, "the doctor must not end Codex's sign-in"
    port_line = next(x for x in done.stderr.splitlines() if "Callback port:" in x)
    assert port_line.startswith(
        f"warning Callback port: 127.0.0.1:{CODEX_PORT} is held by a Codex CLI sign-in"
    )
    assert port_line == snapshot(extension_class=TextSnapshot, name="codex_holds_the_port")
