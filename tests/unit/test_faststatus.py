"""The fast paths of ``loginkit login status`` and ``loginkit token``: the same output as the full
CLI in every state, the full CLI for anything unusual, and exactly the modules they may import.

Nothing here times anything (the figures are ``bench/startup.py``'s): what a slow import that
creeps back in changes is the set of modules in ``sys.modules`` after the command.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from support.cli_runner import run_loginkit

from loginkit.cli._entry import _fast_token
from loginkit.cli._faststatus import fast_status

from .fake_issuer import id_token_for, make_jwt

#: The full CLI, past the fast paths of ``python -m loginkit``.
FULL_CLI = (
    sys.executable,
    "-c",
    "import sys; from loginkit.cli._main import main; sys.exit(main(sys.argv[1:]))",
)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def raw_jwt(payload: bytes) -> str:
    """A JWT-shaped string with exactly ``payload`` in the middle (unsigned)."""
    return f"{b64(b'{}')}.{b64(payload)}.{b64(b'sig')}"


def chatgpt(id_token: str | None = None, access: str | None = None, **extra: Any) -> dict[str, Any]:
    auth: dict[str, Any] = {
        "auth_mode": "chatgpt",
        "OPENAI_API_KEY": None,
        "tokens": {
            "id_token": id_token if id_token is not None else id_token_for(email="a@b.c"),
            "access_token": access
            if access is not None
            else make_jwt({"exp": int(time.time()) + 3 * 3600 + 600}),
            "refresh_token": "rt",
            "account_id": None,
        },
        "last_refresh": "2026-11-29T02:40:42.123456Z",
    }
    auth.update(extra)
    return auth


#: auth.json contents (None: no file) the fast path answers, each printed as the full CLI does.
ANSWERED: dict[str, Any] = {
    "no_file": None,
    "api_key": {"auth_mode": "apikey", "OPENAI_API_KEY": "sk-proj-1234567890ABCDE"},
    "api_key_short": {"OPENAI_API_KEY": "sk-123"},
    "chatgpt": chatgpt(),
    "chatgpt_stored_account": chatgpt(x_future_field=1),
    "profile_email": chatgpt(
        id_token=make_jwt({"https://api.openai.com/profile": {"email": "p@q.r"}})
    ),
    "expired": chatgpt(access=make_jwt({"exp": int(time.time()) - 5})),
    "opaque_access_token": chatgpt(access="opaque-token"),
    "opaque_id_token": chatgpt(id_token="not-a-jwt"),
    "bad_base64_id_token": chatgpt(id_token="a.b!@#\u00e9.c"),
    "hostile_claims": chatgpt(
        id_token=make_jwt(
            {
                "email": "evil\x1b]8;;http://x\x07@b.c\u202e" + "x" * 300,
                "https://api.openai.com/auth": {
                    "chatgpt_account_id": "org-\r\nFAKE",
                    "chatgpt_plan_type": "\u2066pro",
                },
            }
        )
    ),
    "bool_exp": chatgpt(access=raw_jwt(b'{"exp": true}')),
    "nan_exp": chatgpt(access=raw_jwt(b'{"exp": NaN}')),
}
ANSWERED["chatgpt_stored_account"]["tokens"]["account_id"] = "org-stored"

#: auth.json contents the fast path leaves to the full CLI (an error, or a doubt).
DEFERRED: dict[str, Any] = {
    "empty_object": {},
    "not_an_object": [1, 2],
    "api_key_missing": {"auth_mode": "apikey"},
    "tokens_missing": {"auth_mode": "chatgpt"},
    "tokens_incomplete": chatgpt() | {"tokens": {"id_token": "a", "access_token": "b"}},
    "utf16_payload": chatgpt(id_token=raw_jwt('{"email": "a@b.c"}'.encode("utf-16-le"))),
    "list_payload": chatgpt(access=raw_jwt(b"[1]")),
    "invalid_json_payload": chatgpt(id_token=raw_jwt(b"{nope")),
}


def write(home: Path, auth: Any, *, text: str | None = None) -> None:
    if auth is None and text is None:
        return
    path = home / "auth.json"
    path.write_text(text if text is not None else json.dumps(auth))
    path.chmod(0o600)


def both(home: Path, *args: str) -> tuple[Any, Any]:
    fast = run_loginkit("login", "status", *args, home=home)
    full = run_loginkit("login", "status", *args, home=home, program=FULL_CLI)
    return (
        (fast.returncode, fast.stdout, fast.stderr),
        (full.returncode, full.stdout, full.stderr),
    )


@pytest.mark.parametrize("state", sorted({**ANSWERED, **DEFERRED}))
def test_status_prints_what_the_full_cli_prints(home: Path, state: str) -> None:
    write(home, {**ANSWERED, **DEFERRED}[state])
    fast, full = both(home)
    assert fast == full
    _, _, stderr = fast
    assert "\x1b" not in stderr and "\u202e" not in stderr and "\r" not in stderr


@pytest.mark.parametrize("state", sorted(ANSWERED))
def test_plain_states_take_the_fast_path(
    home: Path, state: str, capsys: pytest.CaptureFixture[str]
) -> None:
    write(home, ANSWERED[state])
    assert fast_status(["login", "status", "--codex-home", str(home)]) is not None
    assert (
        fast_status(["login", "status", "--store", "file", "--codex-home", str(home)]) is not None
    )
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("state", sorted(DEFERRED))
def test_unusual_records_go_to_the_full_cli(
    home: Path, state: str, capsys: pytest.CaptureFixture[str]
) -> None:
    write(home, DEFERRED[state])
    assert fast_status(["login", "status", "--codex-home", str(home)]) is None
    assert capsys.readouterr() == ("", "")


def test_invalid_json_and_a_bom_go_to_the_full_cli(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for text in ("{not json", "\ufeff{}", '{"a": 1} trailing', ""):
        write(home, None, text=text)
        assert fast_status(["login", "status", "--codex-home", str(home)]) is None
        fast, full = both(home)
        assert fast == full and fast[0] == 2
    assert capsys.readouterr() == ("", "")


def _unusual_homes(home: Path) -> list[tuple[str, list[str]]]:
    """(what was done to the home, extra argv) for every case the full CLI must answer."""
    return [
        ("config.toml", []),
        ("dangling config.toml link", []),
        ("auth.json readable by others (the full CLI tightens and warns)", []),
        ("auth.json a symbolic link", []),
        ("auth.json a directory", []),
        ("home writable by group", []),
        ("a keyring store", ["--store", "keyring"]),
        ("JSON output", ["--json"]),
        ("an unknown flag", ["--what"]),
        ("a repeated --codex-home", ["--codex-home", str(home)]),
    ]


@pytest.mark.parametrize("case", range(10))
def test_anything_unusual_goes_to_the_full_cli(
    home: Path, case: int, capsys: pytest.CaptureFixture[str]
) -> None:
    write(home, ANSWERED["api_key"])
    what, extra = _unusual_homes(home)[case]
    if what == "config.toml":
        (home / "config.toml").write_text('cli_auth_credentials_store = "file"\n')
    elif what.startswith("dangling"):
        (home / "config.toml").symlink_to(home / "nowhere.toml")
    elif what.startswith("auth.json readable"):
        (home / "auth.json").chmod(0o644)
    elif what.startswith("auth.json a symbolic"):
        (home / "real.json").write_text((home / "auth.json").read_text())
        (home / "real.json").chmod(0o600)
        (home / "auth.json").unlink()
        (home / "auth.json").symlink_to(home / "real.json")
    elif what.startswith("auth.json a directory"):
        (home / "auth.json").unlink()
        (home / "auth.json").mkdir()
    elif what.startswith("home writable"):
        home.chmod(0o770)
    assert fast_status(["login", "status", "--codex-home", str(home), *extra]) is None, what
    if not extra:  # the token fast path shares the home and auth.json checks
        assert _fast_token(["token", "--codex-home", str(home)]) is None, what
    assert capsys.readouterr() == ("", "")
    if what.startswith("auth.json readable"):
        done = run_loginkit("login", "status", home=home)
        assert done.stderr.startswith("Warning: ") and done.returncode == 0


def test_the_home_from_codex_home_and_home_is_printed_as_the_full_cli_prints_it(
    tmp_path: Path,
) -> None:
    real = tmp_path / "real"
    (real / ".codex").mkdir(parents=True)
    write(real / ".codex", ANSWERED["api_key"])
    (tmp_path / "link").symlink_to(real)
    for env in (
        {"CODEX_HOME": str(tmp_path / "link" / ".codex")},  # resolved: .../real/.codex
        {"CODEX_HOME": str(tmp_path / "link" / ".codex") + "/"},
        {"HOME": str(tmp_path / "link")},  # not resolved: .../link/.codex
        {"HOME": str(tmp_path / "link") + "/"},
    ):
        fast = run_loginkit("login", "status", env=env, unset=["CODEX_HOME"])
        full = run_loginkit("login", "status", env=env, unset=["CODEX_HOME"], program=FULL_CLI)
        assert (fast.returncode, fast.stderr) == (full.returncode, full.stderr), env
        assert fast.returncode == 0


def _modules_after(argv: list[str], env: dict[str, str] | None = None) -> tuple[str, set[str]]:
    """What ``loginkit ARGV`` printed and the modules it added to a bare interpreter's, as the
    console script runs it (``from loginkit.cli import main``)."""
    code = (
        "import sys\n"
        "before = set(sys.modules)\n"
        "from loginkit.cli import main\n"
        f"code = main({argv!r})\n"
        "sys.stdout.flush(); sys.stderr.flush()\n"
        "print('\\n' + ','.join(sorted(set(sys.modules) - before)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **(env or {})},
    )
    output, _, modules = done.stdout.rpartition("\n\n")
    return output + done.stderr, set(modules.strip().split(","))


#: What the fast paths may import beyond a bare interpreter: loginkit's own light modules and
#: builtin or C modules. No json/re, base64/struct, typing, dataclasses, pathlib, logging,
#: argparse, asyncio, httpx2, joserfc or keyring.
FAST_TOKEN_MODULES = {
    "loginkit",
    "loginkit.cli",
    "loginkit.cli._entry",
    "loginkit.cli._fastauth",
    "loginkit.core",
    "loginkit.core._lightjson",
    "_json",
    "binascii",
}
FAST_STATUS_MODULES = FAST_TOKEN_MODULES | {
    "loginkit.cli._faststatus",
    "loginkit.core._sanitize",
    "unicodedata",
    "__future__",  # core/_sanitize.py's ``from __future__ import annotations``
}


def test_fast_token_imports_only_builtins(home: Path) -> None:
    write(home, chatgpt())
    output, modules = _modules_after(["token", "--codex-home", str(home)])
    assert output.count(".") == 2
    assert modules - {"time"} == FAST_TOKEN_MODULES


@pytest.mark.parametrize("state", ["api_key", "chatgpt", "no_file"])
def test_fast_status_imports_only_builtins_and_the_sanitizer(home: Path, state: str) -> None:
    write(home, ANSWERED[state])
    output, modules = _modules_after(["login", "status", "--codex-home", str(home)])
    assert "Store: file " in output
    # Loaded where needed: _json for a file to parse, binascii for the JWTs of a ChatGPT sign-in.
    lazy = {"chatgpt": set(), "api_key": {"binascii"}, "no_file": {"binascii", "_json"}}
    expected = FAST_STATUS_MODULES - lazy[state]
    assert modules - {"time"} == expected


def test_the_full_cli_loads_what_the_fast_paths_leave_out(home: Path) -> None:
    write(home, ANSWERED["api_key"])
    (home / "config.toml").write_text("")
    output, modules = _modules_after(["login", "status", "--codex-home", str(home)])
    assert "Logged in using an API key" in output
    assert {"argparse", "json", "loginkit.cli._main"} <= modules
