"""The link-first start of ``loginkit login`` (design: "URL first, imports later")."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from support.cli_runner import loginkit_command, run_loginkit, spawn

from loginkit.cli._linkfirst import _checked, _config_allows, _home, _log_opens, _options
from loginkit.core._profiles import OPENAI
from loginkit.oauth._pkce import build_authorize_url
from loginkit.signin._browser import LoginRun
from loginkit.signin._options import ServerOptions
from loginkit.signin._prelinked import openai_link, prelink

QUICK = ["--port", "0", "--no-browser", "--timeout", "1"]
#: Imported only after the link is on screen.
HEAVY = ("dataclasses", "typing", "argparse", "logging", "pathlib", "asyncio", "h11", "httpx2")


def test_the_link_is_on_stderr_before_any_heavy_module_is_imported(tmp_path: Path) -> None:
    # -X importtime reports each import on stderr as it finishes; the link goes to the same
    # stream, flushed, so the order of the lines is the order of the events.
    login = ["login", "--port", "0", "--no-browser", "--codex-home", str(tmp_path)]
    command = loginkit_command(*login, python_flags=("-X", "importtime"))
    # Until the full CLI is loading (the run goes on); killed at the end of the block.
    with spawn(command, until="| loginkit.signin._browser", wait=60) as run:
        lines = run.head
    link = next(i for i, line in enumerate(lines) if line.startswith("https://auth.openai.com/"))
    before = {m.group(1) for m in map(IMPORTED.match, lines[:link]) if m}
    after = {m.group(1) for m in map(IMPORTED.match, lines[link:]) if m}
    assert before.isdisjoint(HEAVY), sorted(before & set(HEAVY))
    assert {"dataclasses", "argparse", "logging"} <= after, "the CLI itself loads after the link"


IMPORTED = re.compile(r"import time:\s+\d+ \|\s+\d+ \|\s*(\S+)")


def test_prelinked_url_is_the_one_the_full_flow_builds() -> None:
    issuer = "http://127.0.0.1:9"
    ready = prelink(0, openai_link(issuer))
    assert ready is not None
    try:
        assert ready.redirect_uri == f"http://localhost:{ready.port}/auth/callback"
        assert ready.auth_url == build_authorize_url(
            OPENAI.with_issuer(issuer),
            issuer=issuer,
            client_id=OPENAI.client_id,
            redirect_uri=ready.redirect_uri,
            pkce=ready.pkce,
            state=ready.state,
            workspace_id=None,
        )
        assert len(ready.state) == 43 and len(ready.pkce.code_verifier) == 86
        assert ready.state not in repr(ready) and ready.pkce.code_verifier not in repr(ready)
    finally:
        ready.close()


def test_a_taken_port_is_left_to_the_full_flow() -> None:
    ready = prelink(0, openai_link(OPENAI.issuer))
    assert ready is not None
    try:
        again = prelink(ready.port, openai_link(OPENAI.issuer))
        assert again is None, "it retries and takes over instead"
    finally:
        ready.close()


@pytest.mark.parametrize(
    "argv",
    [
        ["login"],
        ["login", "--port", "0", "--no-browser"],
        ["login", "--port=0", "--codex-home", "/x", "--issuer", "http://127.0.0.1:5"],
        ["login", "--timeout", "30", "--store", "keyring"],
    ],
)
def test_plain_sign_ins_take_the_fast_path(argv: list[str]) -> None:
    found = _options(argv)
    assert found is not None and _checked(found) is not None


@pytest.mark.parametrize(
    "argv",
    [
        ["token"],
        ["login", "status"],
        ["login", "--device-auth"],
        ["login", "--with-api-key"],
        ["login", "--json"],
        ["login", "--client-id", "generic-cli", "--scope", "openid"],
        ["login", "--profile", "work"],
        ["login", "--workspace-id", "org-1"],
        ["login", "--bind", "0.0.0.0"],
        ["login", "--help"],
        ["login", "--port"],
        ["login", "--port", "--no-browser"],
        ["login", "--port", "1", "--port", "2"],
        ["login", "--no-browser=yes"],
    ],
)
def test_anything_else_goes_to_the_full_cli(argv: list[str]) -> None:
    assert _options(argv) is None


@pytest.mark.parametrize(
    "argv",
    [
        ["login", "--port", "70000"],
        ["login", "--port", "abc"],
        ["login", "--timeout", "-1"],
        ["login", "--timeout", "nan"],
        ["login", "--store", "vault"],
        ["login", "--issuer", "auth.example.com"],
    ],
)
def test_values_argparse_or_the_cli_would_refuse_go_to_the_full_cli(argv: list[str]) -> None:
    found = _options(argv)
    assert found is None or _checked(found) is None


@pytest.mark.parametrize(
    ("config", "fast"),
    [
        (None, True),
        ('model = "gpt-5"\n[profiles.x]\napproval = "never"\n', True),
        ('cli_auth_credentials_store = "keyring"\n', True),
        ('forced_login_method = "api"\n', False),
        ('forced_chatgpt_workspace_id = "org-1"\n', False),
        ('cli_auth_credentials_store = "vault"\n', False),
        ("this is = not toml = at all\n", False),
    ],
)
def test_config_toml_that_shapes_the_sign_in_goes_to_the_full_cli(
    tmp_path: Path, config: str | None, fast: bool
) -> None:
    if config is not None:
        (tmp_path / "config.toml").write_text(config)
    assert _config_allows(str(tmp_path)) is fast


def test_the_full_cli_refuses_to_adopt_a_link_built_for_other_options(tmp_path: Path) -> None:
    ready = prelink(0, openai_link(OPENAI.issuer))
    assert ready is not None
    run = LoginRun(ServerOptions(codex_home=tmp_path, port=ready.port + 1 or 1))
    with pytest.raises(ValueError, match="does not match"):
        run.adopt(ready)
    assert all(sock.fileno() == -1 for sock in ready.sockets), "its sockets were closed"


def test_forced_api_login_is_refused_before_any_link(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('forced_login_method = "api"\n')
    done = run_loginkit("login", "--port", "0", "--codex-home", str(tmp_path), timeout=30)
    assert done.returncode == 1
    assert done.stderr == "ChatGPT login is disabled. Use API key login instead.\n"


def test_a_home_with_a_tilde_is_left_to_the_full_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CODEX_HOME", "~/somewhere")
    assert _home({}) is None
    monkeypatch.setenv("CODEX_HOME", str(tmp_path))
    assert _home({}) == str(tmp_path)


def test_an_unreadable_config_toml_is_left_to_the_full_cli(tmp_path: Path) -> None:
    (tmp_path / "config.toml").mkdir()  # reading it fails; the full CLI says how
    assert _config_allows(str(tmp_path)) is False


def test_a_login_log_that_would_warn_is_left_to_the_full_cli(tmp_path: Path) -> None:
    home = str(tmp_path)
    assert _log_opens(home), "no log yet: it will be created"
    (tmp_path / "log").mkdir()
    assert _log_opens(home)
    (tmp_path / "log" / "codex-login.log").symlink_to("/dev/full")
    assert not _log_opens(home), "a write would fail and warn"
    (tmp_path / "log" / "codex-login.log").unlink()
    (tmp_path / "log" / "codex-login.log").mkdir()
    assert not _log_opens(home)
    (tmp_path / "log" / "codex-login.log").rmdir()
    (tmp_path / "log").rmdir()
    (tmp_path / "log").write_text("a file where the log directory goes")
    assert not _log_opens(home)


def test_a_login_log_warning_still_comes_before_the_link(tmp_path: Path) -> None:
    (tmp_path / "log").write_text("a file where the log directory goes")
    done = run_loginkit("login", "--codex-home", str(tmp_path), *QUICK, timeout=30)
    assert done.stderr.startswith("Warning: failed to create login log directory"), done.stderr
    assert "If a browser window didn't open" in done.stderr
