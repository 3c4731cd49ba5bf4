"""The ``loginkit token`` fast path: same output as the full CLI, far fewer imports."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support.cli_runner import run_loginkit

from loginkit.cli._entry import _fast_token

from .fake_issuer import id_token_for, make_jwt

#: The full CLI, past the fast path of ``python -m loginkit``.
FULL_CLI = (
    sys.executable,
    "-c",
    "import sys; from loginkit.cli._main import main; sys.exit(main(sys.argv[1:]))",
)


def write_auth(home: Path, access: str) -> None:
    auth = {
        "auth_mode": "chatgpt",
        "OPENAI_API_KEY": None,
        "tokens": {
            "id_token": id_token_for(),
            "access_token": access,
            "refresh_token": "rt",
            "account_id": None,
        },
        "last_refresh": "2026-11-29T02:40:42.123456Z",
    }
    (home / "auth.json").write_text(json.dumps(auth))
    (home / "auth.json").chmod(0o600)  # as Codex and loginkit write it (0644 gets a warning)


def test_fast_path_answers_only_when_the_stored_token_is_usable(home: Path) -> None:
    valid = make_jwt({"exp": int(time.time()) + 3600})
    write_auth(home, valid)
    assert _fast_token(["token", "--codex-home", str(home)]) == valid
    assert (
        _fast_token(["token", "--codex-home", str(home), "--store", "file", "--min-validity", "30"])
        == valid
    )
    assert _fast_token(["token", "--codex-home", str(home), "--min-validity", "7200"]) is None, (
        "refresh: full CLI"
    )
    assert _fast_token(["token", "--codex-home", str(home), "--store", "keyring"]) is None
    assert _fast_token(["token", "--codex-home", str(home), "--what"]) is None
    assert _fast_token(["login", "status"]) is None
    write_auth(home, make_jwt({"exp": int(time.time()) - 1}))
    assert _fast_token(["token", "--codex-home", str(home)]) is None
    write_auth(home, "opaque-token")
    assert _fast_token(["token", "--codex-home", str(home)]) is None
    (home / "auth.json").write_text('{"auth_mode": "apikey", "OPENAI_API_KEY": "sk-key"}')
    assert _fast_token(["token", "--codex-home", str(home)]) == "sk-key"
    (home / "config.toml").write_text('cli_auth_credentials_store = "keyring"\n')
    assert _fast_token(["token", "--codex-home", str(home)]) is None, "config decides: full CLI"


@pytest.mark.parametrize("state", ["valid", "missing"])
def test_fast_and_full_paths_print_the_same(home: Path, state: str) -> None:
    if state == "valid":
        write_auth(home, make_jwt({"exp": int(time.time()) + 3600}))
    fast = run_loginkit("token", home=home)
    full = run_loginkit("token", home=home, program=FULL_CLI)
    assert (fast.returncode, fast.stdout, fast.stderr) == (
        full.returncode,
        full.stdout,
        full.stderr,
    )


def test_fast_path_loads_no_cli_http_or_logging(home: Path) -> None:
    write_auth(home, make_jwt({"exp": int(time.time()) + 3600}))
    code = (
        "import sys\n"
        "from loginkit.cli._entry import main\n"
        f"main(['token', '--codex-home', {str(home)!r}])\n"
        "heavy = ['argparse', 'logging', 'loginkit.cli._main', 'loginkit.store._credentials', 'httpx2', 'keyring', 'dataclasses']\n"
        "print(','.join(m for m in heavy if m in sys.modules), file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.count(".") == 2
    assert done.stderr.strip() == ""
